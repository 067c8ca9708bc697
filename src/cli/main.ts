/**
 * The `gantry` command line: builds the commander program, registers every command, and maps errors to
 * exit codes and messages once (0 ok, 1 failure, 2 usage). Bad input never prints a stack trace.
 */
import { Command, CommanderError, Option } from "commander";
import { exitCodeFor, GantryError, UsageError } from "../errors.js";
import { formatDiagnostic } from "../util/source-display.js";
import { commandsFor, type RegisterCommand } from "./commands/index.js";

export const VERSION = "0.1.0";

export function buildProgram(commands: RegisterCommand[]): Command {
  const program = new Command("gantry")
    .description("Build OCI images from Dockerfiles with a content-addressed cache, and serve them.")
    .version(VERSION, "-V, --version")
    .addOption(
      new Option(
        "--root <dir>",
        "data root (default: $GANTRY_ROOT, /var/lib/gantry as root, else $XDG_DATA_HOME/gantry)",
      ),
    )
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  for (const register of commands) register(program);
  for (const sub of program.commands) sub.exitOverride();
  return program;
}

/** Prints an error the way users should see it. Returns the exit code. */
export function reportError(err: unknown, stderr: NodeJS.WritableStream = process.stderr): number {
  if (err instanceof CommanderError) {
    // commander has printed its own message already.
    if (err.code === "commander.helpDisplayed" || err.code === "commander.version") return 0;
    if (err.code === "commander.help") return 0;
    return 2;
  }
  if (err instanceof GantryError) {
    stderr.write(`${formatDiagnostic("error", err.message, err.location, err.hint)}\n`);
    return exitCodeFor(err);
  }
  const e = err as Error;
  stderr.write(`error: internal: ${e?.stack ?? String(err)}\n`);
  return 1;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram(await commandsFor(argv));
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    return reportError(err);
  }
}

export { UsageError };

/** Options every command shares (`--root`, `--format`), read from the command tree. */
import type { Command } from "commander";
import { UsageError } from "../errors.js";
import { resolveDataRoot } from "../util/data-root.js";

export type OutputFormat = "text" | "json";

/** The data root selected by the global `--root` flag, `GANTRY_ROOT`, or the default. */
export function dataRootOf(cmd: Command): string {
  let root: Command = cmd;
  while (root.parent) root = root.parent;
  return resolveDataRoot(root.opts().root as string | undefined);
}

export function parseFormat(
  value: string | undefined,
  allowed: readonly string[] = ["text", "json"],
): string {
  const v = value ?? "text";
  if (!allowed.includes(v)) {
    throw new UsageError(`unknown --format "${v}"`, { hint: `use one of: ${allowed.join(", ")}` });
  }
  return v;
}

/** Writes a JSON document with stable field order, one trailing newline. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

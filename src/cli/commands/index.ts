/**
 * The commands the CLI offers, each with the module that registers it. Modules are loaded on demand: a run of
 * `gantry build` loads the build pipeline only, not the registry server or the client (start-up time is part
 * of every cached rebuild). `--help` and unknown commands load them all.
 */
import type { Command } from "commander";

export type RegisterCommand = (program: Command) => void;

export interface CommandModule {
  /** The top-level command names the module registers. */
  names: string[];
  load: () => Promise<RegisterCommand>;
}

export const commandModules: CommandModule[] = [
  { names: ["build"], load: async () => (await import("./build.js")).registerBuild },
  { names: ["parse"], load: async () => (await import("./parse.js")).registerParse },
  { names: ["check"], load: async () => (await import("./check.js")).registerCheck },
  { names: ["graph"], load: async () => (await import("./graph.js")).registerGraph },
  { names: ["import"], load: async () => (await import("./import.js")).registerImport },
  { names: ["run"], load: async () => (await import("./run.js")).registerRun },
  { names: ["push", "pull", "copy"], load: async () => (await import("./transport.js")).registerTransport },
  {
    names: ["images", "tag", "rm", "inspect"],
    load: async () => (await import("./images.js")).registerImages,
  },
  { names: ["login", "logout"], load: async () => (await import("./login.js")).registerLogin },
  { names: ["registry"], load: async () => (await import("./registry.js")).registerRegistry },
  { names: ["prune"], load: async () => (await import("./prune.js")).registerPrune },
];

/** The command word of an argv (`node gantry [--root DIR] build …` → `build`), if any. */
export function commandWord(argv: string[]): string | undefined {
  for (let i = 2; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--root") {
      i++;
      continue;
    }
    if (arg.startsWith("-")) continue;
    return arg;
  }
  return undefined;
}

/** The register functions an argv needs: its command's module, or every module. */
export async function commandsFor(argv: string[]): Promise<RegisterCommand[]> {
  const word = commandWord(argv);
  const wanted = commandModules.filter((module) => word !== undefined && module.names.includes(word));
  return Promise.all((wanted.length > 0 ? wanted : commandModules).map((module) => module.load()));
}

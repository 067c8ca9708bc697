/** The list of commands the CLI registers; each module owns one command (or one command group). */
import type { Command } from "commander";
import { registerBuild } from "./build.js";
import { registerCheck } from "./check.js";
import { registerGraph } from "./graph.js";
import { registerImages } from "./images.js";
import { registerImport } from "./import.js";
import { registerLogin } from "./login.js";
import { registerParse } from "./parse.js";
import { registerPrune } from "./prune.js";
import { registerRegistry } from "./registry.js";
import { registerRun } from "./run.js";
import { registerTransport } from "./transport.js";

export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [
  registerParse,
  registerCheck,
  registerRegistry,
  registerImport,
  registerGraph,
  registerTransport,
  registerImages,
  registerLogin,
  registerRun,
  registerBuild,
  registerPrune,
];

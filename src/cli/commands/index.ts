/** The list of commands the CLI registers; each module owns one command (or one command group). */
import type { Command } from "commander";

export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [];

/** Reads a Dockerfile named on the command line (`-` = standard input); a missing file is a usage error. */
import { readFileSync } from "node:fs";
import { UsageError } from "../errors.js";

export function readDockerfileArgument(file: string): Uint8Array {
  try {
    return file === "-" ? readFileSync(0) : readFileSync(file);
  } catch (error) {
    const err = error as NodeJS.ErrnoException;
    throw new UsageError(`cannot read ${file}: ${err.code ?? err.message}`, {
      hint: "pass the path of a Dockerfile (-f for build), or - to read standard input",
    });
  }
}

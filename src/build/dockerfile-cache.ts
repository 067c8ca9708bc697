/**
 * Parsed Dockerfiles kept in the data root (`<root>/cache/dockerfiles/<sha256>.json`, written atomically):
 * the typed AST and the file's lines, keyed by the file name and its exact bytes. A rebuild of an unchanged
 * Dockerfile never loads the parser (chevrotain costs about a third of a cached build's start-up).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { DockerfileAst } from "../frontend/ast.js";
import { writeFileAtomic } from "../image/atomic-file.js";
import { digestHex, sha256Of } from "../image/digest.js";

/** Bump when the AST's shape changes: older entries are then simply not found. */
const AST_FORMAT = "gantry-ast-1";

export interface ParsedDockerfile {
  ast: DockerfileAst;
  /** Physical lines, for error locations. */
  lines: string[];
}

export async function loadDockerfile(
  root: string,
  text: Uint8Array,
  file: string,
): Promise<ParsedDockerfile> {
  const key = sha256Of(Buffer.concat([Buffer.from(`${AST_FORMAT}\0${file}\0`), text]));
  const path = join(root, "cache", "dockerfiles", `${digestHex(key)}.json`);
  try {
    return JSON.parse(await readFile(path, "utf8")) as ParsedDockerfile;
  } catch {
    // not parsed before (or unreadable): parse below
  }
  const [{ parseDockerfile }, { buildAst }] = await Promise.all([
    import("../frontend/parse.js"),
    import("../frontend/ast-build.js"),
  ]);
  const raw = parseDockerfile(text, file);
  const parsed: ParsedDockerfile = { ast: buildAst(raw), lines: raw.lines };
  await writeFileAtomic(path, JSON.stringify(parsed)).catch(() => {
    // A read-only data root only costs the next build a parse.
  });
  return parsed;
}

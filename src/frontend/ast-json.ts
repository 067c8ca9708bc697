/**
 * `astToJson(ast)`: the typed AST as a plain JSON value (what `gantry parse --json` prints). The AST holds
 * only plain data, so this is a deep copy with `undefined` fields dropped and a format version added.
 */
import type { DockerfileAst } from "./ast.js";

/** Bumped when the JSON shape changes incompatibly. */
export const AST_JSON_VERSION = 1;

export function astToJson(ast: DockerfileAst): unknown {
  return { version: AST_JSON_VERSION, ...(JSON.parse(JSON.stringify(ast)) as object) };
}

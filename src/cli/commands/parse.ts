import type { Command } from "commander";
import { UsageError } from "../../errors.js";
import { buildAst } from "../../frontend/ast-build.js";
import { astToJson } from "../../frontend/ast-json.js";
import { dumpDockerfile } from "../../frontend/dump.js";
import { parseDockerfile } from "../../frontend/parse.js";
import type { RawDockerfile } from "../../frontend/raw.js";
import { encodeBytes } from "../../frontend/text.js";
import { readDockerfileArgument } from "../read-dockerfile.js";

interface ParseOptions {
  dump?: boolean;
  json?: boolean;
}

/** The `--json` document. One call, so the typed AST can replace the raw tree in one line. */
function jsonDocument(raw: RawDockerfile): unknown {
  return astToJson(buildAst(raw));
}

export function registerParse(program: Command): void {
  program
    .command("parse")
    .description("parse a Dockerfile and print BuildKit's dump format (or --json)")
    .argument("<file>", "the Dockerfile, or - for standard input")
    .option("--dump", "print one (keyword [flags] args…) line per instruction (default)")
    .option("--json", "print the parsed tree as JSON")
    .action((file: string, opts: ParseOptions) => {
      if (opts.dump && opts.json) throw new UsageError("--dump and --json cannot be combined");
      const raw = parseDockerfile(readDockerfileArgument(file), file);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(jsonDocument(raw), null, 2)}\n`);
        return;
      }
      process.stdout.write(Buffer.from(encodeBytes(dumpDockerfile(raw))));
    });
}

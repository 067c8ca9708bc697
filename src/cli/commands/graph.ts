import type { Command } from "commander";
import { UsageError } from "../../errors.js";
import { buildAst } from "../../frontend/ast-build.js";
import { parseDockerfile } from "../../frontend/parse.js";
import { compileGraph } from "../../graph/compile.js";
import { createLocalImageResolver } from "../../graph/local-resolver.js";
import { hostPlatform, parsePlatform } from "../../graph/platform.js";
import { graphToDot, graphToText } from "../../graph/render.js";
import { dataRootOf, parseFormat, printJson } from "../global-options.js";
import { readDockerfileArgument } from "../read-dockerfile.js";

interface GraphOptions {
  buildArg: string[];
  target?: string;
  platform?: string;
  format?: string;
}

/** `K=V`, or `K` alone for the value of K in the environment (skipped when unset), as docker build. */
export function parseBuildArgs(
  values: string[],
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf("=");
    const key = eq < 0 ? v : v.slice(0, eq);
    if (key === "")
      throw new UsageError(`invalid --build-arg ${JSON.stringify(v)}`, {
        hint: "write --build-arg NAME=value",
      });
    if (eq >= 0) out[key] = v.slice(eq + 1);
    else if (env[key] !== undefined) out[key] = env[key]!;
  }
  return out;
}

export function registerGraph(program: Command): void {
  program
    .command("graph")
    .description(
      "compile a Dockerfile into its build graph and print it (base images from the data root only)",
    )
    .argument("<file>", "the Dockerfile, or - for standard input")
    .option(
      "--build-arg <K=V>",
      "set a build arg (repeatable)",
      (v: string, acc: string[]) => [...acc, v],
      [],
    )
    .option("--target <stage>", "build this stage (name or index) instead of the last one")
    .option("--platform <os/arch>", "target platform (default: this machine's)")
    .option("--format <format>", "text, dot or json", "text")
    .action(async (file: string, opts: GraphOptions, cmd: Command) => {
      const format = parseFormat(opts.format, ["text", "dot", "json"]);
      const host = hostPlatform();
      const platform = opts.platform === undefined ? host : parsePlatform(opts.platform, host);
      const raw = parseDockerfile(readDockerfileArgument(file), file);
      const graph = await compileGraph(buildAst(raw), {
        buildArgs: parseBuildArgs(opts.buildArg),
        target: opts.target,
        platform,
        buildPlatform: host,
        resolveImage: createLocalImageResolver(dataRootOf(cmd)),
        sourceLines: raw.lines,
      });
      if (format === "json") printJson(graph);
      else process.stdout.write(format === "dot" ? graphToDot(graph) : graphToText(graph));
    });
}

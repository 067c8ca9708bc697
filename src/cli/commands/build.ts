/**
 * `gantry build`: flags as `docker buildx build`, progress rendering, and the result on stdout. A rebuild
 * whose inputs are all unchanged is replayed (build/replay.ts) before any of the build pipeline is loaded.
 */
import { writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { type Command, Option } from "commander";
import type { BuildResult } from "../../build/index.js";
import type { OutputSpec } from "../../build/outputs.js";
import { contextFingerprint, freshnessBound, tryReplay } from "../../build/replay.js";
import { formatMissReason } from "../../cache/explain.js";
import { UsageError } from "../../errors.js";
import type { ProgressEvent, VertexEvent } from "../../executor/progress.js";
import type { Descriptor } from "../../image/store-types.js";
import { formatBytes } from "../../util/bytes.js";
import { dataRootOf, parseFormat, printJson } from "../global-options.js";
import { createRenderer, parseProgressMode } from "../progress/index.js";
import { readDockerfileArgument } from "../read-dockerfile.js";
import { type ReplayableOptions, replayable, replayRequestFor, replaySources } from "./build-replay.js";

/** Every flag of `gantry build`: those that decide whether a build may be replayed, and the rest. */
interface BuildOptions extends ReplayableOptions {
  file?: string;
  buildArg: string[];
  iidfile?: string;
  metadataFile?: string;
  progress?: string;
  quiet?: boolean;
  format?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerBuild(program: Command): void {
  program
    .command("build")
    .description("build an image from a Dockerfile (flags as docker buildx build)")
    .argument("[context]", "build context directory", ".")
    .option("-f, --file <file>", "Dockerfile (default: CONTEXT/Dockerfile; - for standard input)")
    .option(
      "-t, --tag <ref>",
      "name the image (repeatable): app:1 lands in the data root / embedded registry",
      collect,
      [],
    )
    .option(
      "--build-arg <key=value>",
      "set a build argument (KEY alone takes it from the environment); repeatable",
      collect,
      [],
    )
    .option("--target <stage>", "build this stage (name or index) instead of the last")
    .option("--platform <os/arch[/variant]>", "target platform (default: this host's)")
    .option("--no-cache", "do not use the cache (every step runs)")
    .option("--pull", "look base images up in their registry even when present locally")
    .option("--push", "push every -t that names a registry host (shorthand for --output type=registry)")
    .option(
      "-o, --output <spec>",
      "type=image|registry|oci|docker|local[,dest=PATH][,name=REF]; repeatable",
      collect,
      [],
    )
    .option(
      "--secret <spec>",
      "id=ID[,src=FILE|,env=VAR]: a secret for RUN --mount=type=secret; repeatable",
      collect,
      [],
    )
    .option(
      "--ssh <spec>",
      "default|ID[=SOCKET]: an ssh agent socket for RUN --mount=type=ssh; repeatable",
      collect,
      [],
    )
    .option("--label <key=value>", "add a label to the image; repeatable", collect, [])
    .option("--iidfile <file>", "write the image (manifest) digest to a file")
    .option("--metadata-file <file>", "write build result metadata (containerimage.digest, …) as JSON")
    .addOption(
      new Option("--progress <mode>", "progress output")
        .choices(["auto", "tty", "plain", "json", "quiet"])
        .default("auto"),
    )
    .addOption(
      new Option("--compression <kind>", "layer compression").choices(["gzip", "zstd"]).default("gzip"),
    )
    .option("--compression-level <n>", "compression level (gzip 1-9, zstd 1-19)")
    .option(
      "--cache-from <spec>",
      "import cache: type=registry,ref=REF | type=local,src=DIR | REF; repeatable",
      collect,
      [],
    )
    .option(
      "--cache-to <spec>",
      "export cache: type=registry,ref=REF[,mode=max|min] | type=local,dest=DIR; repeatable",
      collect,
      [],
    )
    .option("--explain-cache", "say for every step that was not cached what changed since the last build")
    .addOption(
      new Option("--snapshotter <kind>", "how RUN root filesystems are made")
        .choices(["auto", "overlayfs", "copy"])
        .default("auto"),
    )
    .addOption(
      new Option("--isolation <kind>", "how RUN steps are isolated")
        .choices(["auto", "runc", "crun", "chroot"])
        .default("auto"),
    )
    .option("--insecure", "allow plain HTTP to registries other than localhost")
    .option(
      "--normalize-permissions",
      "hash and copy context files with git's modes (644, or 755 when executable)",
    )
    .option("-q, --quiet", "print only the image digest on stdout")
    .option("--format <format>", "result on stdout: text or json", "text")
    .action(async (context: string, opts: BuildOptions, cmd: Command) => {
      await buildCommand(context, opts, cmd);
    });
}

/** What the result lines need: a build's result or a replayed one. */
type BuildOutcome = Pick<
  BuildResult,
  "digest" | "size" | "layers" | "stored" | "steps" | "cached" | "duration"
> & { manifest: Descriptor; config: Descriptor };

async function buildCommand(context: string, opts: BuildOptions, cmd: Command): Promise<void> {
  const started = Date.now();
  const format = parseFormat(opts.format);
  const root = dataRootOf(cmd);
  const dockerfilePath = opts.file ?? join(context, "Dockerfile");
  const dockerfile = readDockerfileArgument(dockerfilePath);
  const dockerfileInContext =
    opts.file === undefined || opts.file === "-" ? "Dockerfile" : relative(context, opts.file);
  const buildArgs = parseBuildArgs(opts.buildArg);
  const mode = opts.quiet ? "quiet" : parseProgressMode(opts.progress);
  const renderer = createRenderer(mode);
  const misses: VertexEvent[] = [];
  const seen: ProgressEvent[] = [];
  const sink = (event: ProgressEvent) => {
    if (event.type === "vertex" && event.status === "running" && event.miss !== undefined) misses.push(event);
    if (event.type !== "log" && event.type !== "summary") seen.push(event);
    renderer.sink(event);
  };
  const replay = await replayRequestFor(root, context, dockerfile, dockerfileInContext, buildArgs, opts);
  const replayed = replay === undefined ? undefined : tryReplay(root, replay);
  if (replayed !== undefined) {
    for (const event of replayed.events) sink(event);
    const outcome = { ...replayed, duration: Date.now() - started };
    sink({ type: "summary", status: "done", ...summaryOf(outcome), replayed: true });
    renderer.close();
    await report(outcome, [], opts, format, mode, misses);
    return;
  }
  const before = replay === undefined ? undefined : contextFingerprint(replay, freshnessBound());
  // The build pipeline is loaded only now: a replayed build never needs it.
  const [{ runBuild }, outputsModule, remote, { readSourceDateEpoch }, { parseCompression }, platforms] =
    await Promise.all([
      import("../../build/index.js"),
      import("../../build/outputs.js"),
      import("../../cache/remote.js"),
      import("../../image/image-builder.js"),
      import("../../image/layer/compress.js"),
      import("../../image/platform.js"),
    ]);
  const outputs: OutputSpec[] = opts.output.map(outputsModule.parseOutputSpec);
  if (opts.push) outputs.push({ type: "registry" });
  const controller = new AbortController();
  const onSignal = () => controller.abort(new Error("interrupted"));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let result: BuildResult;
  try {
    result = await runBuild({
      root,
      contextDir: context,
      dockerfile: { text: dockerfile, file: dockerfilePath },
      dockerfileInContext,
      buildArgs,
      target: opts.target,
      platform:
        opts.platform === undefined ? platforms.hostPlatform() : platforms.parsePlatform(opts.platform),
      buildPlatform: platforms.hostPlatform(),
      tags: opts.tag,
      noCache: !opts.cache,
      pull: opts.pull ?? false,
      labels: parseKeyValues(opts.label, "--label"),
      compression: parseCompression(opts.compression),
      compressionLevel: opts.compressionLevel === undefined ? undefined : parseLevel(opts.compressionLevel),
      sourceDateEpoch: readSourceDateEpoch(),
      progress: sink,
      insecureRegistries: opts.insecure,
      signal: controller.signal,
      secrets: parseSecrets(opts.secret),
      ssh: parseSsh(opts.ssh),
      snapshotter: opts.snapshotter as "auto" | "overlayfs" | "copy",
      isolation: opts.isolation as "auto" | "runc" | "crun" | "chroot",
      normalizePermissions: opts.normalizePermissions ?? false,
      cacheFrom: opts.cacheFrom.map(remote.parseCacheFrom),
      cacheTo: opts.cacheTo.map((spec) => remote.parseCacheSpec(spec, "to")),
    });
    const delivered = await outputsModule.deliverOutputs(root, result, outputs, {
      tags: opts.tag,
      insecure: opts.insecure,
      progress: sink,
    });
    sink({ type: "summary", status: "done", ...summaryOf(result) });
    renderer.close();
    if (replay !== undefined && replayable(result, seen)) {
      const [{ parseImageReference }, { recordReplay }] = await Promise.all([
        import("../../image/reference.js"),
        import("../../build/replay-record.js"),
      ]);
      const tags = opts.tag.map((tag) => parseImageReference(tag));
      const sources = replaySources(result.graph, seen, tags, parseImageReference);
      await recordReplay(root, replay, before, { ...result, events: seen }, sources);
    }
    await report(result, delivered, opts, format, mode, misses);
  } catch (error) {
    sink({
      type: "summary",
      status: "error",
      duration: 0,
      steps: 0,
      cached: 0,
      error: (error as Error).message,
    });
    renderer.close();
    if (opts.explainCache && mode !== "json") printMisses(misses);
    throw error;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

function summaryOf(outcome: BuildOutcome) {
  return {
    duration: outcome.duration,
    steps: outcome.steps,
    cached: outcome.cached,
    digest: outcome.digest,
    size: outcome.size,
  };
}

/** The result: --iidfile, --metadata-file, then stdout (digest, JSON or the summary lines). */
async function report(
  result: BuildOutcome,
  delivered: string[],
  opts: BuildOptions,
  format: ReturnType<typeof parseFormat>,
  mode: string,
  misses: VertexEvent[],
): Promise<void> {
  if (opts.iidfile !== undefined) await writeFile(opts.iidfile, result.digest);
  if (opts.metadataFile !== undefined) {
    const metadata = {
      "containerimage.digest": result.digest,
      "containerimage.descriptor": result.manifest,
      "containerimage.config.digest": result.config.digest,
      "image.name": opts.tag.join(","),
    };
    await writeFile(opts.metadataFile, `${JSON.stringify(metadata, null, 2)}\n`);
  }
  if (opts.explainCache && mode !== "json") printMisses(misses);
  if (opts.quiet) {
    process.stdout.write(`${result.digest}\n`);
  } else if (format === "json") {
    printJson({
      digest: result.digest,
      config: result.config.digest,
      size: result.size,
      layers: result.layers,
      tags: result.stored,
      steps: result.steps,
      cached: result.cached,
      duration: result.duration,
      outputs: delivered,
    });
  } else if (mode !== "json") {
    printSummary(result, delivered);
  }
}

function printMisses(misses: VertexEvent[]): void {
  if (misses.length === 0) {
    process.stderr.write("explain-cache: every step was cached\n");
    return;
  }
  for (const miss of misses) {
    process.stderr.write(`explain-cache: ${miss.name}\n`);
    for (const reason of miss.miss ?? []) process.stderr.write(`  - ${formatMissReason(reason)}\n`);
  }
}

function printSummary(result: BuildOutcome, delivered: string[]): void {
  const out = process.stdout;
  out.write(`image   ${result.digest}\n`);
  out.write(`size    ${formatBytes(result.size)} in ${result.layers.length} layers\n`);
  out.write(`steps   ${result.steps} (${result.cached} cached) in ${(result.duration / 1000).toFixed(2)}s\n`);
  for (const tag of result.stored) out.write(`tagged  ${tag}\n`);
  for (const line of delivered) out.write(`output  ${line}\n`);
}

export function parseBuildArgs(
  values: string[],
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const args: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf("=");
    if (eq === 0)
      throw new UsageError(`invalid --build-arg ${JSON.stringify(value)}`, { hint: "use KEY=VALUE or KEY" });
    if (eq < 0) {
      // Docker: `--build-arg KEY` takes the value from the environment, and is ignored when unset.
      if (env[value] !== undefined) args[value] = env[value]!;
      continue;
    }
    args[value.slice(0, eq)] = value.slice(eq + 1);
  }
  return args;
}

function parseKeyValues(values: string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf("=");
    if (eq <= 0) throw new UsageError(`invalid ${flag} ${JSON.stringify(value)}`, { hint: "use KEY=VALUE" });
    out[value.slice(0, eq)] = value.slice(eq + 1);
  }
  return out;
}

function parseLevel(value: string): number {
  const level = Number(value);
  if (!Number.isInteger(level) || level < 1 || level > 19) {
    throw new UsageError(`invalid --compression-level ${JSON.stringify(value)}`, {
      hint: "gzip takes 1-9, zstd 1-19",
    });
  }
  return level;
}

/** `id=ID[,src=FILE|,source=FILE|,env=VAR][,type=file|env]`, as buildx. */
export function parseSecrets(values: string[]): Map<string, { src?: string; env?: string }> {
  const secrets = new Map<string, { src?: string; env?: string }>();
  for (const value of values) {
    const fields = new Map<string, string>();
    for (const part of value.split(",")) {
      const eq = part.indexOf("=");
      if (eq <= 0)
        throw new UsageError(`invalid --secret ${JSON.stringify(value)}`, {
          hint: "use id=ID,src=FILE or id=ID,env=VAR",
        });
      fields.set(part.slice(0, eq).trim(), part.slice(eq + 1));
    }
    const id = fields.get("id");
    const src = fields.get("src") ?? fields.get("source");
    let env = fields.get("env");
    if (id === undefined || id === "")
      throw new UsageError(`--secret ${JSON.stringify(value)} has no id=`, { hint: "use id=ID,src=FILE" });
    if (src === undefined && env === undefined) env = id;
    secrets.set(id, src === undefined ? { env: env! } : { src });
  }
  return secrets;
}

/** `default`, `ID=SOCKET`; `default` alone uses $SSH_AUTH_SOCK. */
export function parseSsh(values: string[]): Map<string, string> {
  const sockets = new Map<string, string>();
  for (const value of values) {
    const eq = value.indexOf("=");
    const id = eq < 0 ? value : value.slice(0, eq);
    const socket = eq < 0 ? process.env.SSH_AUTH_SOCK : value.slice(eq + 1);
    if (socket === undefined || socket === "") {
      throw new UsageError(`--ssh ${value}: no socket given and SSH_AUTH_SOCK is not set`, {
        hint: "use --ssh default=/path/to/agent.sock",
      });
    }
    sockets.set(id, socket);
  }
  return sockets;
}

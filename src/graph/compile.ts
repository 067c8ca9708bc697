/**
 * `compileGraph`: Dockerfile AST + build args + target + platform → BuildGraph, as BuildKit's
 * dockerfile2llb.toDispatchState. Order of work: the global ARG scope; every FROM expanded; stage edges
 * (base stage, COPY --from, RUN --mount from=, ONBUILD of a base stage) and a circular-dependency check;
 * the target; then, only for stages reachable from it, base images resolved (in parallel, once per
 * reference and platform) and their ONBUILD triggers parsed — which may reach further stages, so this
 * repeats until nothing new is reached; finally the reachable stages are dispatched in file order.
 * Stages nothing needs are never resolved.
 */
import { GantryError } from "../errors.js";
import type { DockerfileAst, Instruction, SourceRange } from "../frontend/ast.js";
import { suggest } from "../frontend/suggest.js";
import type { Platform } from "../image/oci-types.js";
import { type CompileContext, cloneConfig, locate, type StageState } from "./context.js";
import { DEFAULT_PATH, dispatchStage, stageFromConfig, stageFromStage } from "./dispatch.js";
import { LocatedError } from "./errors.js";
import { parseImageTriggers, stageTriggers } from "./onbuild.js";
import { formatPlatform } from "./platform.js";
import { buildGlobalArgs, unusedBuildArgs } from "./scope.js";
import {
  checkCircular,
  instructionSources,
  reachableFrom,
  resolveTarget,
  type StageEdge,
  type StageHead,
  stageHeads,
  staticEdges,
} from "./stages.js";
import type { BuildGraph, CompileOptions, ResolvedImage, SourceRef, StageNode } from "./types.js";

function createContext(ast: DockerfileAst, options: CompileOptions): CompileContext {
  const stageByName = new Map<string, number>();
  for (const stage of ast.stages) if (stage.name !== undefined) stageByName.set(stage.name, stage.index);
  const stageLabels = ast.stages.map((s) => s.name ?? `stage-${s.index}`);
  const cache = new Map<string, Promise<ResolvedImage>>();
  const ctx: CompileContext = {
    src: { file: ast.file, lines: options.sourceLines ?? [] },
    escape: ast.escapeChar,
    options,
    globalArgs: new Map(),
    stageByName,
    stageLabels,
    declaredArgs: new Set(),
    resolve(ref: string, platform: Platform, range: SourceRange): Promise<ResolvedImage> {
      const key = `${ref}\u0000${formatPlatform(platform)}`;
      let p = cache.get(key);
      if (!p) {
        p = options.resolveImage(ref, platform).catch((err: unknown) => {
          throw resolveError(ctx, err, ref, range);
        });
        p.catch(() => {}); // awaited (and reported) by whoever needs it, in file order
        cache.set(key, p);
      }
      return p;
    },
  };
  return ctx;
}

/** A resolver failure at the Dockerfile location that asked for the image, keeping its code. */
function resolveError(ctx: CompileContext, err: unknown, ref: string, range: SourceRange): unknown {
  if (!(err instanceof GantryError) || err.location) return err;
  const close = suggest(ref, ctx.stageByName.keys());
  const hint = close
    ? `did you mean the stage ${close}? (no stage is named ${ref}, so it was taken as an image)`
    : err.hint;
  return new LocatedError(err.code, err.message, { location: locate(ctx, range), hint, cause: err });
}

/** Starts resolving every image a reachable stage needs (bases, COPY --from, mount from=) without waiting. */
function prefetch(
  ctx: CompileContext,
  ast: DockerfileAst,
  heads: StageHead[],
  reach: number[],
  platformOf: (i: number) => Platform,
): void {
  for (const i of reach) {
    const head = heads[i]!;
    if (head.base.kind === "image")
      void ctx.resolve(head.base.ref, platformOf(i), ast.stages[i]!.from.image.range);
    for (const inst of ast.stages[i]!.instructions) {
      for (const s of instructionSources(ctx, inst, ast.stages.length)) {
        if (s.source.kind === "image") void ctx.resolve(s.source.ref, ctx.options.platform, s.range);
      }
    }
  }
}

export async function compileGraph(ast: DockerfileAst, options: CompileOptions): Promise<BuildGraph> {
  const ctx = createContext(ast, options);
  const target = resolveTarget(ctx, ast, options.target);
  ctx.globalArgs = buildGlobalArgs(ctx, ast, options, ast.stages[target]!.name ?? "");
  const heads = stageHeads(ctx, ast);
  const edges: StageEdge[][] = staticEdges(ctx, ast, heads);
  checkCircular(ctx, edges);

  // The platform a stage's base is resolved for: FROM --platform, the base stage's, else the target's.
  const platformOf = (i: number): Platform => {
    const head = heads[i]!;
    if (head.base.kind === "stage") return platformOf(head.base.index);
    return head.platform ?? options.platform;
  };

  const baseImages = new Map<number, ResolvedImage>();
  const triggers = new Map<number, Instruction[]>();
  let reach: number[];
  for (;;) {
    reach = reachableFrom(target, edges);
    prefetch(ctx, ast, heads, reach, platformOf);
    let newEdges = false;
    for (const i of reach) {
      const head = heads[i]!;
      if (triggers.has(i)) continue;
      if (head.base.kind !== "image") {
        triggers.set(i, stageTriggers(ast, head));
        continue;
      }
      const image = await ctx.resolve(head.base.ref, platformOf(i), ast.stages[i]!.from.image.range);
      baseImages.set(i, image);
      const parsed = await parseImageTriggers(ctx, image.config.OnBuild ?? [], head.baseName, head.fromRange);
      triggers.set(i, parsed);
      for (const inst of parsed) {
        for (const s of instructionSources(ctx, inst, ast.stages.length)) {
          if (s.source.kind !== "stage") continue;
          edges[i]!.push({ to: s.source.index, range: head.fromRange, what: s.what });
          newEdges = true;
        }
      }
    }
    if (!newEdges) break;
    checkCircular(ctx, edges);
  }

  const states: StageState[] = [];
  const nodes: StageNode[] = [];
  for (const i of reach) {
    const head = heads[i]!;
    const label = ctx.stageLabels[i]!;
    let state: StageState;
    let base: SourceRef;
    if (head.base.kind === "stage") {
      state = stageFromStage(i, label, states[head.base.index]!);
      base = { kind: "stage", index: head.base.index };
    } else if (head.base.kind === "image") {
      const image = baseImages.get(i)!;
      state = stageFromConfig(i, label, platformOf(i), image.config);
      base = { kind: "image", image };
    } else {
      state = stageFromConfig(i, label, platformOf(i), { Env: [`PATH=${DEFAULT_PATH}`], WorkingDir: "/" });
      base = { kind: "scratch" };
    }
    const baseConfig = cloneConfig(state.config);
    await dispatchStage(ctx, state, triggers.get(i) ?? [], ast.stages[i]!.instructions, ast.stages.length);
    states[i] = state;
    const node: StageNode = {
      index: i,
      platform: state.platform,
      base,
      baseConfig,
      steps: state.steps,
      dependsOn: [...state.deps].sort((a, b) => a - b),
    };
    if (ast.stages[i]!.name !== undefined) node.name = ast.stages[i]!.name;
    nodes[i] = node;
  }
  const stages = ast.stages.map((stage, i): StageNode => {
    if (nodes[i]) return nodes[i]!;
    const skipped: StageNode = {
      index: i,
      platform: heads[i]!.platform ?? options.platform,
      base: { kind: "scratch" },
      baseConfig: {},
      steps: [],
      dependsOn: [],
      skipped: true,
    };
    if (stage.name !== undefined) skipped.name = stage.name;
    return skipped;
  });
  return { stages, target, order: reach, unusedBuildArgs: unusedBuildArgs(ctx) };
}

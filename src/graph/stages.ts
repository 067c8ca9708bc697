/**
 * The stage table: each FROM expanded in the global scope (image name and --platform), what each stage
 * starts from (scratch, an earlier stage, an image), the stage references of COPY --from and RUN --mount
 * from= (never expanded, as BuildKit), the dependency edges between stages, circular-dependency detection,
 * the --target look-up (name or index, with "did you mean"), and the stages reachable from the target.
 */
import { UsageError } from "../errors.js";
import type { DockerfileAst, Instruction, Located, SourceRange, Stage } from "../frontend/ast.js";
import { expandWord } from "../frontend/shell/index.js";
import { suggest } from "../frontend/suggest.js";
import type { Platform } from "../image/oci-types.js";
import { type CompileContext, expandAt, instructionErrorAt, stageLabel } from "./context.js";
import { parsePlatform } from "./platform.js";

export type StageBase =
  | { kind: "scratch" }
  | { kind: "stage"; index: number }
  | { kind: "image"; ref: string };

export interface StageHead {
  index: number;
  /** The FROM image name after expansion. */
  baseName: string;
  base: StageBase;
  /** FROM --platform, parsed; undefined = the target platform (or the base stage's). */
  platform?: Platform;
  fromRange: SourceRange;
}

/** A reference of COPY --from / RUN --mount from= to a stage or an image. */
export type SourceName = { kind: "stage"; index: number } | { kind: "image"; ref: string };

/** One edge of the stage graph: `from` needs `to` because of the instruction at `range`. */
export interface StageEdge {
  to: number;
  range: SourceRange;
  what: "base" | "copy" | "mount";
}

/** Expands every stage's FROM in the global scope (BuildKit does this for all stages, needed or not). */
export function stageHeads(ctx: CompileContext, ast: DockerfileAst): StageHead[] {
  return ast.stages.map((stage) => {
    const from = stage.from;
    const baseName = expandAt(ctx, from.image.value, from.image.range, ctx.globalArgs);
    if (baseName === "") {
      throw instructionErrorAt(
        ctx,
        from.image.range,
        `base name (${from.image.value}) should not be blank`,
        "give the ARG a value (ARG NAME=default or --build-arg NAME=value)",
      );
    }
    let platform: Platform | undefined;
    if (from.platform) {
      const text = expandAt(ctx, from.platform.value, from.platform.range, ctx.globalArgs);
      if (text === "") {
        throw instructionErrorAt(
          ctx,
          from.platform.range,
          `empty platform value from expression ${from.platform.value}`,
        );
      }
      try {
        platform = parsePlatform(text, ctx.options.buildPlatform);
      } catch (err) {
        if (!(err instanceof UsageError)) throw err;
        throw instructionErrorAt(
          ctx,
          from.platform.range,
          `failed to parse platform ${from.platform.value}: ${err.message}`,
          err.hint,
        );
      }
    }
    return {
      index: stage.index,
      baseName,
      base: classifyBase(ctx, stage, baseName),
      platform,
      fromRange: from.range,
    };
  });
}

function classifyBase(ctx: CompileContext, stage: Stage, name: string): StageBase {
  if (name.toLowerCase() === "scratch") return { kind: "scratch" };
  const index = ctx.stageByName.get(name.toLowerCase());
  if (index === undefined || index === stage.index) return { kind: "image", ref: name };
  if (index > stage.index) {
    throw instructionErrorAt(
      ctx,
      stage.from.image.range,
      `stage ${JSON.stringify(stageLabel(ctx, index))} is used before it is defined`,
      "a stage can only start FROM a stage defined above it; move that stage up",
    );
  }
  return { kind: "stage", index };
}

/** A `--from` / `from=` value: a stage index, a stage name (any case), or else an image reference. */
export function classifySource(ctx: CompileContext, ref: Located, stageCount: number): SourceName {
  const value = ref.value;
  const expanded = expandWord(value, () => undefined, { escape: ctx.escape }).value;
  if (expanded !== value) {
    throw instructionErrorAt(
      ctx,
      ref.range,
      "variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround",
      `ARG IMAGE=…  then  FROM \${IMAGE} AS source  and  COPY --from=source …`,
    );
  }
  if (/^[0-9]+$/.test(value)) {
    const index = Number(value);
    if (index >= stageCount) {
      throw instructionErrorAt(
        ctx,
        ref.range,
        `invalid stage index ${index}`,
        `stages are numbered 0 to ${stageCount - 1}`,
      );
    }
    return { kind: "stage", index };
  }
  const index = ctx.stageByName.get(value.toLowerCase());
  return index === undefined ? { kind: "image", ref: value } : { kind: "stage", index };
}

/** The stage references made by one instruction (COPY --from, RUN --mount from=). */
export function instructionSources(
  ctx: CompileContext,
  inst: Instruction,
  stageCount: number,
): Array<{ source: SourceName; range: SourceRange; what: "copy" | "mount" }> {
  if (inst.kind === "Copy" && inst.from) {
    return [{ source: classifySource(ctx, inst.from, stageCount), range: inst.from.range, what: "copy" }];
  }
  if (inst.kind === "Run") {
    return inst.mounts
      .filter((m) => m.from !== undefined && m.type !== "tmpfs" && m.type !== "secret" && m.type !== "ssh")
      .map((m) => ({
        source: classifySource(ctx, { value: m.from!, range: m.range }, stageCount),
        range: m.range,
        what: "mount" as const,
      }));
  }
  return [];
}

/** Edges of the stage graph known before any image is resolved (base stage, stage sources, base ONBUILDs). */
export function staticEdges(ctx: CompileContext, ast: DockerfileAst, heads: StageHead[]): StageEdge[][] {
  const n = ast.stages.length;
  const ownEdges = ast.stages.map((stage) =>
    stage.instructions.flatMap((inst) =>
      instructionSources(ctx, inst, n).flatMap((s) =>
        s.source.kind === "stage" ? [{ to: s.source.index, range: s.range, what: s.what }] : [],
      ),
    ),
  );
  return ast.stages.map((stage, i) => {
    const edges: StageEdge[] = [...ownEdges[i]!];
    const head = heads[i]!;
    if (head.base.kind === "stage") {
      edges.push({ to: head.base.index, range: stage.from.image.range, what: "base" });
      for (const inst of ast.stages[head.base.index]!.instructions) {
        if (inst.kind !== "Onbuild") continue;
        for (const s of instructionSources(ctx, inst.trigger, n)) {
          if (s.source.kind === "stage")
            edges.push({ to: s.source.index, range: stage.from.range, what: s.what });
        }
      }
    }
    return edges;
  });
}

/** Throws at the first edge that closes a cycle (BuildKit: "circular dependency detected on stage: x"). */
export function checkCircular(ctx: CompileContext, edges: StageEdge[][]): void {
  const state = new Array<0 | 1 | 2>(edges.length).fill(0);
  const visit = (i: number): void => {
    state[i] = 1;
    for (const e of edges[i]!) {
      if (state[e.to] === 1) {
        throw instructionErrorAt(
          ctx,
          e.range,
          `circular dependency detected on stage: ${stageLabel(ctx, e.to)}`,
          "a stage cannot (directly or through others) copy from, mount or start from itself",
        );
      }
      if (state[e.to] === 0) visit(e.to);
    }
    state[i] = 2;
  };
  for (let i = 0; i < edges.length; i++) if (state[i] === 0) visit(i);
}

/** The target stage: a name (any case) or an index; default the last stage. */
export function resolveTarget(ctx: CompileContext, ast: DockerfileAst, target: string | undefined): number {
  if (target === undefined || target === "") return ast.stages.length - 1;
  const byName = ctx.stageByName.get(target.toLowerCase());
  if (byName !== undefined) return byName;
  if (/^[0-9]+$/.test(target) && Number(target) < ast.stages.length) return Number(target);
  const names = [...ctx.stageByName.keys()];
  const close = suggest(target, names);
  throw new UsageError(`target stage ${JSON.stringify(target)} could not be found`, {
    hint: close
      ? `did you mean ${close}?`
      : names.length > 0
        ? `stages: ${names.join(", ")} (or an index 0-${ast.stages.length - 1})`
        : `this Dockerfile has no named stages; use an index 0-${ast.stages.length - 1}`,
  });
}

/** Stages reachable from `target` over `edges`, ascending. */
export function reachableFrom(target: number, edges: StageEdge[][]): number[] {
  const seen = new Set<number>();
  const stack = [target];
  while (stack.length > 0) {
    const i = stack.pop()!;
    if (seen.has(i)) continue;
    seen.add(i);
    for (const e of edges[i]!) stack.push(e.to);
  }
  return [...seen].sort((a, b) => a - b);
}

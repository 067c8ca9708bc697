/**
 * The solver: runs a BuildGraph. Stages run as soon as the stages they need are done (independent stages in
 * parallel, RUN steps capped by a Limiter); every layer-producing step is looked up in the cache on its own
 * by its CacheKey before anything is mounted, so a fully cached build touches no filesystem but the cache
 * records (record-lookup.ts). A miss runs the op on a snapshot and records the result: a layer kept as a
 * snapshot whose blob the image's chain of stages gets in the background (snapshot-blobs.ts), or, on the
 * copying snapshotter, a blob written at once. The first failure cancels everything still running.
 */
import { explainMiss } from "../cache/explain.js";
import type { CacheKey, CacheKeyInputs } from "../cache/key.js";
import { cacheKeyOf } from "../cache/key.js";
import type { CacheRecord } from "../cache/records.js";
import { type SourceMemo, sourceMemoKey } from "../cache/source-memo.js";
import type { BuildGraph, CopyOp, SourceRef, StageNode, Step } from "../graph/types.js";
import type { HistoryEntry } from "../image/oci-types.js";
import type { Digest } from "../image/store-types.js";
import { BuildCanceledError } from "./errors.js";
import { layerOnlySteps } from "./layer-only.js";
import { Limiter } from "./limiter.js";
import type { ProgressSink, VertexEvent } from "./progress.js";
import { RecordLookup } from "./record-lookup.js";
import { RecordWrites } from "./record-writes.js";
import { SnapshotBlobs } from "./snapshot-blobs.js";
import type { CopySourceRoot, SolveOptions, SolveResult, SolverDeps, StageResult } from "./solver-types.js";
import { copyInputs, execInputs, platformKey } from "./step-inputs.js";
import { StepRunner } from "./step-runner.js";
import { imageLayers, type LayerRef } from "./types.js";

export type {
  CopySourceRoot,
  FileOps,
  MountPreparer,
  SolveOptions,
  SolveResult,
  SolverDeps,
  StageResult,
} from "./solver-types.js";

/** What one step leaves behind for the next. */
interface StepOutcome {
  key: CacheKey;
  layer: LayerRef | null;
  created: string;
  record: CacheRecord;
}

export async function solve(
  graph: BuildGraph,
  deps: SolverDeps,
  options: SolveOptions,
): Promise<SolveResult> {
  const solver = new Solver(graph, deps, options);
  return solver.run();
}

class Solver {
  private readonly results = new Map<number, Promise<StageResult>>();
  private readonly abort = new AbortController();
  private readonly runner: StepRunner;
  private readonly lookup: RecordLookup;
  private readonly snapshotBlobs: SnapshotBlobs;
  private readonly writes: RecordWrites;
  /** Stages whose layers get blobs as soon as their steps are done: the image's own chain, or all. */
  private readonly blobStages: ReadonlySet<number>;
  private steps = 0;
  private cached = 0;
  private readonly used: Array<{ stage: number; record: CacheRecord }> = [];
  private firstError: unknown;

  constructor(
    private readonly graph: BuildGraph,
    private readonly deps: SolverDeps,
    private readonly options: SolveOptions,
  ) {
    this.writes = new RecordWrites(deps.records);
    this.lookup = new RecordLookup(deps, this.writes);
    this.runner = new StepRunner(deps, options, new Limiter(options.runLimit ?? 2), {
      signal: this.abort.signal,
      emit: (event) => this.emit(event),
      throwIfCanceled: () => this.throwIfCanceled(),
      layersFetched: () => this.lookup.layersFetched(),
      view: (from) => this.view(from),
      layerOnly: layerOnlySteps(graph),
      // While a RUN runs the main thread waits: queued blobs are written then.
      runStarted: () => this.snapshotBlobs.startQueued(),
    });
    this.snapshotBlobs = new SnapshotBlobs({
      snapshotter: deps.snapshotter,
      writeLayer: (entries) => this.runner.writeLayer(entries),
      updateRecord: async (record) => {
        this.writes.put(record);
        for (const used of this.used) if (used.record.key === record.key) used.record = record;
      },
    });
    this.blobStages = options.blobsForAllStages
      ? new Set(graph.stages.map((stage) => stage.index))
      : imageChain(graph);
    options.signal?.addEventListener("abort", () => this.abort.abort(options.signal?.reason), { once: true });
  }

  async run(): Promise<SolveResult> {
    try {
      for (const index of this.graph.order) this.stage(index);
      const settled = await Promise.allSettled(this.graph.order.map((index) => this.stage(index)));
      const failure = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
      if (failure !== undefined) throw this.firstError ?? failure.reason;
      await this.lookup.layersFetched();
      const stages = new Map<number, StageResult>();
      for (const [i, s] of settled.entries()) {
        if (s.status === "fulfilled") stages.set(this.graph.order[i]!, s.value);
      }
      const built = stages.get(this.graph.target);
      if (built === undefined) throw new Error(`target stage ${this.graph.target} was not built`);
      // The image's layers as blobs (mostly written in the background by now), then every other one started.
      const layers = await Promise.all(
        built.layers.map((_, i) => this.snapshotBlobs.blobOf(built.layers, i)),
      );
      await this.snapshotBlobs.written();
      const target = { ...built, layers };
      stages.set(this.graph.target, target);
      await this.writes.flushed();
      return { target, stages, steps: this.steps, cached: this.cached, records: this.used };
    } finally {
      // Nothing goes on writing once the build has returned or failed.
      await this.snapshotBlobs.settled();
      await this.writes.flushed().catch(() => {});
    }
  }

  private stage(index: number): Promise<StageResult> {
    let result = this.results.get(index);
    if (result === undefined) {
      result = this.runStage(this.graph.stages[index]!).catch((error: unknown) => {
        if (this.firstError === undefined && !(error instanceof BuildCanceledError)) {
          this.firstError = error;
          this.abort.abort(error);
        }
        throw error;
      });
      result.catch(() => {}); // observed by run()
      this.results.set(index, result);
    }
    return result;
  }

  private async runStage(stage: StageNode): Promise<StageResult> {
    // Stages this one reads from must exist first (they may run in parallel with each other).
    await Promise.all(stage.dependsOn.map((dep) => this.stage(dep)));
    const state = await this.baseState(stage);
    for (const [position, step] of stage.steps.entries()) {
      this.throwIfCanceled();
      if (step.author !== undefined) state.author = step.author;
      if (step.op.kind === "config" && step.mkdir === undefined) {
        if (!step.noHistory) {
          state.history.push({
            created: state.history.at(-1)?.created,
            created_by: step.createdBy,
            comment: "buildkit.dockerfile.v0",
            empty_layer: true,
          });
        }
        state.config = step.config;
        continue;
      }
      const outcome = await this.runStep(stage, position, step, state);
      if (outcome.layer !== null) {
        state.layers.push(outcome.layer);
        // A layer of the image: its blob is written in the background, from the next RUN on (or at the end).
        if (this.blobStages.has(stage.index)) {
          this.snapshotBlobs.queue(state.layers, state.layers.length - 1, outcome.record);
        }
      }
      state.key = outcome.key;
      state.config = step.config;
      const entry: HistoryEntry = {
        created: outcome.created,
        created_by: step.createdBy,
        comment: "buildkit.dockerfile.v0",
      };
      if (outcome.layer === null) entry.empty_layer = true;
      state.history.push(entry);
    }
    return state;
  }

  private async baseState(stage: StageNode): Promise<StageResult> {
    const base = stage.base;
    if (base.kind === "stage") {
      const parent = await this.stage(base.index);
      return {
        ...parent,
        index: stage.index,
        layers: [...parent.layers],
        history: [...parent.history],
        config: stage.baseConfig,
        platform: stage.platform,
      };
    }
    if (base.kind === "image") {
      const image = base.image;
      const layers: LayerRef[] = imageLayers(image);
      const key = cacheKeyOf({
        kind: "from",
        manifest: image.manifestDigest,
        ref: image.ref,
        platform: platformKey(stage.platform),
      });
      this.emit({
        type: "vertex",
        id: `${stage.index}.from`,
        name: `[${stageLabel(stage)}] FROM ${image.ref}@${image.manifestDigest.slice(0, 19)}`,
        status: "done",
        duration: 0,
      });
      return {
        index: stage.index,
        layers,
        key,
        config: stage.baseConfig,
        history: image.history.map((h) => ({ ...h })),
        platform: stage.platform,
      };
    }
    const key = cacheKeyOf({ kind: "scratch", platform: platformKey(stage.platform) });
    return {
      index: stage.index,
      layers: [],
      key,
      config: stage.baseConfig,
      history: [],
      platform: stage.platform,
    };
  }

  private async runStep(
    stage: StageNode,
    position: number,
    step: Step,
    state: StageResult,
  ): Promise<StepOutcome> {
    const started = Date.now();
    const vertex: VertexEvent = { type: "vertex", id: step.id, name: step.name, status: "running", started };
    this.steps++;
    let inputs: CacheKeyInputs;
    let files: Record<string, string> | undefined;
    let source: { root: CopySourceRoot; release(): Promise<void> } | undefined;
    let sourceMemo: SourceMemo | undefined;
    try {
      if (step.op.kind === "copy") {
        // COPY --from a stage/image: a remembered digest spares unpacking the source (source-memo.ts).
        const memo = await this.sourceMemoKey(step.op);
        const known = memo === undefined || this.options.noCache ? undefined : await this.knownSource(memo);
        let digest = known;
        if (digest === undefined) {
          source = await this.copySource(step.op.from);
          const selected = await this.deps.files.digest(step.op, source.root);
          files = selected.files;
          digest = selected.digest;
        }
        if (memo !== undefined) sourceMemo = { memo, digest };
        if (memo !== undefined && known === undefined) await this.deps.sourceMemos?.put(sourceMemo!);
        inputs = copyInputs(step.op, state.key, digest);
      } else if (step.op.kind === "exec") {
        inputs = await execInputs(step.op, state.key, (from) => this.sourceKey(from));
      } else {
        inputs = { kind: "mkdir", parent: state.key, path: step.mkdir!, user: step.config.User ?? "" };
      }
      let key = cacheKeyOf(inputs);
      vertex.cacheKey = key;
      const identity = `${this.options.identity}/${stage.name ?? stage.index}/${position}`;
      if (!this.options.noCache) {
        const hit = await this.lookup.find(key);
        if (hit !== undefined) {
          this.cached++;
          this.used.push({ stage: stage.index, record: hit });
          this.emit({ ...vertex, status: "cached", completed: Date.now(), duration: Date.now() - started });
          this.writes.setLastKey(identity, key);
          return { key, layer: hit.layer, created: hit.createdAt, record: hit };
        }
      }
      if (step.op.kind === "copy" && source === undefined) {
        source = await this.copySource(step.op.from);
        const selected = await this.deps.files.digest(step.op, source.root);
        files = selected.files;
        if (sourceMemo !== undefined && selected.digest !== sourceMemo.digest) {
          // A stale memo (the source stage was rebuilt differently): key by what is really there.
          sourceMemo = { memo: sourceMemo.memo, digest: selected.digest };
          await this.deps.sourceMemos?.put(sourceMemo);
          inputs = copyInputs(step.op, state.key, selected.digest);
          key = cacheKeyOf(inputs);
          vertex.cacheKey = key;
        }
      }
      vertex.miss = explainMiss(await this.lookup.previous(identity), { inputs, files });
      this.emit({ ...vertex });

      const layer = await this.runner.execute(step, key, state, source);
      const created = clampTime(new Date(), this.options.sourceDateEpoch);
      const record: CacheRecord = { key, inputs, layer, name: step.name, identity, createdAt: created };
      if (files !== undefined) record.files = files;
      if (sourceMemo !== undefined) record.sourceMemo = sourceMemo;
      // Written while the next step runs (record-writes.ts).
      this.writes.put(record);
      this.used.push({ stage: stage.index, record });
      this.writes.setLastKey(identity, key);
      const completed = Date.now();
      this.emit({ ...vertex, status: "done", completed, duration: completed - started });
      return { key, layer, created, record };
    } catch (error) {
      const completed = Date.now();
      const canceled = error instanceof BuildCanceledError || this.abort.signal.aborted;
      this.emit({
        ...vertex,
        status: canceled && error !== this.firstError ? "canceled" : "error",
        completed,
        duration: completed - started,
        error: error instanceof Error ? error.message : String(error),
      });
      throw error;
    } finally {
      await source?.release();
    }
  }

  /** The memo key of a COPY reading a stage or image; undefined for the context. */
  private async sourceMemoKey(op: CopyOp): Promise<Digest | undefined> {
    if (this.deps.sourceMemos === undefined) return undefined;
    if (op.from.kind === "stage") return sourceMemoKey(op, (await this.stage(op.from.index)).key);
    if (op.from.kind === "image") return sourceMemoKey(op, op.from.image.manifestDigest);
    return undefined;
  }

  private knownSource(memo: Digest): Promise<Digest | undefined> {
    return this.deps.sourceMemos!.get(memo, this.deps.remote);
  }

  /** The key of what a bind mount reads: another stage's result, an image, or the context's content. */
  private async sourceKey(from: SourceRef): Promise<string> {
    if (from.kind === "stage") return (await this.stage(from.index)).key;
    if (from.kind === "image") return from.image.manifestDigest;
    if (from.kind === "scratch") return "scratch";
    // The whole context, as a COPY of "." would select it.
    const digest = await this.deps.files.digest(
      {
        kind: "copy",
        instruction: "COPY",
        from,
        sources: [{ kind: "path", pattern: "." }],
        dest: "/",
        workdir: "/",
        link: false,
        parents: false,
        excludes: [],
      },
      { root: this.deps.contextDir, isContext: true },
    );
    return digest.digest;
  }

  private async copySource(from: SourceRef): Promise<{ root: CopySourceRoot; release(): Promise<void> }> {
    if (from.kind === "context")
      return { root: { root: this.deps.contextDir, isContext: true }, release: async () => {} };
    const view = await this.view(from);
    return { root: { root: view.rootfs, isContext: false }, release: () => view.release() };
  }

  private async view(from: SourceRef): Promise<{ rootfs: string; release(): Promise<void> }> {
    await this.lookup.layersFetched();
    if (from.kind === "context") return { rootfs: this.deps.contextDir, release: async () => {} };
    if (from.kind === "stage") return this.deps.snapshotter.view((await this.stage(from.index)).layers);
    if (from.kind === "image") return this.deps.snapshotter.view(imageLayers(from.image));
    return this.deps.snapshotter.view([]);
  }

  private throwIfCanceled(): void {
    if (this.abort.signal.aborted) throw new BuildCanceledError();
  }

  private emit(event: Parameters<ProgressSink>[0]): void {
    this.options.progress(event);
  }
}

/** The stages whose layers make the image: the target and the stages it is built FROM, in turn. */
export function imageChain(graph: BuildGraph): Set<number> {
  const chain = new Set<number>();
  for (let index: number | undefined = graph.target; index !== undefined; ) {
    chain.add(index);
    const base: SourceRef = graph.stages[index]!.base;
    index = base.kind === "stage" ? base.index : undefined;
  }
  return chain;
}

export function stageLabel(stage: StageNode): string {
  return stage.name ?? `stage-${stage.index}`;
}

function clampTime(date: Date, sourceDateEpoch: number | undefined): string {
  const ms =
    sourceDateEpoch === undefined ? date.getTime() : Math.min(date.getTime(), sourceDateEpoch * 1000);
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

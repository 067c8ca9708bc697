/**
 * The filesystem side of a step the cache could not answer: RUN on a snapshot of the layers below, COPY/ADD
 * into a scratch directory over a read-only view of the layers below (committed as an unpacked layer for
 * the steps after it), or, when nothing later reads it as files, as a layer written straight from its
 * sources; WORKDIR's mkdir; then the change as one layer (or none when nothing changed): kept as a
 * snapshot on a snapshotter that keeps them (its blob is written later, see snapshot-blobs.ts), else
 * written as a blob at once. The solver decides *whether* a step runs; this decides *how*.
 */
import type { CacheKey } from "../cache/key.js";
import type { CopyOp, ExecOp, SourceRef, Step } from "../graph/types.js";
import { digestHex } from "../image/digest.js";
import type { LayerEntry } from "../image/layer/entry.js";
import { writeLayer } from "../image/layer/layer-writer.js";
import { BuildStepError } from "./errors.js";
import { writeInlineFiles } from "./inline-files.js";
import type { Limiter } from "./limiter.js";
import { LineSplitter, type ProgressSink } from "./progress.js";
import { stepSnapshotName } from "./snapshot/layer-store.js";
import type { CopySourceRoot, SolveOptions, SolverDeps, StageResult } from "./solver-types.js";
import type { ActiveSnapshot, LayerBlob, LayerRef } from "./types.js";
import { mkdirInRoot } from "./workdir.js";

/** What the runner needs from the solver running it. */
export interface StepRunnerHost {
  signal: AbortSignal;
  emit: ProgressSink;
  throwIfCanceled(): void;
  /** Waits for layers of imported cache hits that are still downloading. */
  layersFetched(): Promise<void>;
  /** A read-only root filesystem of a stage, an image or the context. */
  view(from: SourceRef): Promise<{ rootfs: string; release(): Promise<void> }>;
  /** Steps whose layer nothing later reads as files (layer-only.ts): written straight to a blob. */
  layerOnly: ReadonlySet<string>;
  /** A RUN's process has started (the main thread will mostly wait for it). */
  runStarted?: () => void;
}

export class StepRunner {
  constructor(
    private readonly deps: SolverDeps,
    private readonly options: SolveOptions,
    private readonly runLimiter: Limiter,
    private readonly host: StepRunnerHost,
  ) {}

  /** Runs `step` (whose cache key is `key`) on top of `state`; its layer, or null when it changed nothing. */
  async execute(
    step: Step,
    key: CacheKey,
    state: StageResult,
    source: { root: CopySourceRoot } | undefined,
  ): Promise<LayerRef | null> {
    const op = step.op;
    await this.host.layersFetched();
    if (op.kind === "copy" && this.host.layerOnly.has(step.id)) {
      // Plain sources: the layer is written straight from them, no directory, no snapshot.
      const direct = await this.copyLayer(op, state, source!);
      if (direct !== undefined) return direct;
    }
    // COPY writes into a plain directory that becomes the layer (no overlay to write through).
    const snapshot: ActiveSnapshot =
      op.kind === "copy"
        ? await this.deps.snapshotter.scratch()
        : await this.deps.snapshotter.prepare(state.layers);
    try {
      if (op.kind === "exec") {
        await this.runLimiter.run(() => this.runExec(step, op, snapshot.rootfs));
      } else if (op.kind === "copy") {
        // Without --link, paths resolve through (and parents copy up from) a read-only view of the layers
        // below; with it, the view is only needed to look up --chown names.
        const below =
          !op.link || (op.chown !== undefined && /[^0-9:]/.test(op.chown))
            ? await this.deps.snapshotter.view(state.layers)
            : undefined;
        try {
          const userDbRoot = below?.rootfs ?? snapshot.rootfs;
          const lowerRoot = op.link ? undefined : below?.rootfs;
          await this.deps.files.apply(op, source!.root, snapshot.rootfs, userDbRoot, lowerRoot);
        } finally {
          await below?.release();
        }
      } else if (step.mkdir !== undefined) {
        await mkdirInRoot(snapshot.rootfs, step.mkdir);
      }
      this.host.throwIfCanceled();
      if (this.deps.snapshotter.keepsSnapshots) {
        // The snapshot is the layer for now; its blob is written when something needs it (snapshot-blobs.ts).
        const contentSize = await contentSizeOf(snapshot.diff());
        if (contentSize === null) return null;
        const name = stepSnapshotName(key);
        await snapshot.commit(name);
        return { snapshot: name, diffBase: op.kind === "copy" ? "none" : "below", contentSize };
      }
      const layer = await this.writeLayer(snapshot.diff());
      if (layer !== null) await snapshot.commit(digestHex(layer.diffId));
      return layer;
    } finally {
      await snapshot.release();
    }
  }

  /**
   * COPY/ADD as a layer written directly from its sources (FileOps.layer); undefined when the op is not
   * eligible and needs the scratch directory. Paths resolve through a read-only view of the layers below
   * (without --link), which also serves --chown names.
   */
  private async copyLayer(
    op: CopyOp,
    state: StageResult,
    source: { root: CopySourceRoot },
  ): Promise<LayerRef | null | undefined> {
    if (this.deps.files.layer === undefined) return undefined;
    const below =
      !op.link || (op.chown !== undefined && /[^0-9:]/.test(op.chown))
        ? await this.deps.snapshotter.view(state.layers)
        : undefined;
    let entries: AsyncIterable<LayerEntry> | undefined;
    try {
      // With --link and a numeric (or no) --chown nothing is looked up: an empty root will do.
      const userDbRoot = below?.rootfs ?? "/var/empty/gantry-no-user-db";
      entries = await this.deps.files.layer(op, source.root, userDbRoot, op.link ? undefined : below?.rootfs);
    } finally {
      await below?.release();
    }
    if (entries === undefined) return undefined;
    this.host.throwIfCanceled();
    return this.writeLayer(entries);
  }

  private async runExec(step: Step, op: ExecOp, rootfs: string): Promise<void> {
    this.host.throwIfCanceled();
    const prepared = await this.deps.mounts(op.mounts, rootfs, (from) => this.host.view(from));
    const inline = await writeInlineFiles(op.inlineFiles ?? []);
    const out = new LineSplitter((line) =>
      this.host.emit({ type: "log", id: step.id, stream: "stdout", line }),
    );
    try {
      const result = await this.deps.runtime.run({
        rootfs,
        args: op.args,
        // Proxy variables reach the process only: never the key, the config or the history.
        env: [...op.env, ...(op.proxyEnv ?? []), ...prepared.env],
        cwd: op.cwd,
        user: op.user,
        network: op.network,
        security: op.security,
        mounts: [...prepared.mounts, ...inline.mounts],
        onOutput: (chunk) => out.push(chunk),
        onStarted: () => this.host.runStarted?.(),
        signal: this.host.signal,
      });
      out.flush();
      this.host.throwIfCanceled();
      if (result.exitCode !== 0)
        throw new BuildStepError(step, result.exitCode, result.tail, this.options.locate?.(step.location));
    } finally {
      await prepared.release();
      await inline.release();
    }
  }

  /** The change as a layer in the content store (tar → diffID → gzip → blob, one pass); null when empty. */
  async writeLayer(entries: AsyncIterable<LayerEntry>): Promise<LayerBlob | null> {
    const written = await writeLayer(this.deps.blobs, entries, {
      compression: this.options.compression,
      level: this.options.compressionLevel,
      clampMtime: this.options.sourceDateEpoch,
    });
    if (written.entries === 0) return null;
    return {
      digest: written.digest,
      diffId: written.diffId,
      size: written.size,
      mediaType: written.mediaType,
    };
  }
}

/** Bytes of file content in a diff; null when it has no entries at all. */
async function contentSizeOf(entries: AsyncIterable<LayerEntry>): Promise<number | null> {
  let size: number | null = null;
  for await (const entry of entries) size = (size ?? 0) + (entry.type === "file" ? entry.size : 0);
  return size;
}

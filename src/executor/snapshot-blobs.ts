/**
 * Blobs of the layers a build keeps as snapshots. On a snapshotter that keeps them (overlayfs), a step's
 * layer is committed as a snapshot the moment the step is done, and the next step starts on it at once; its
 * blob (tar → diffID → gzip → content store) is written only when something needs one: the target image's
 * layers (in the background, while later steps run), every layer for a `--cache-to … mode=max` export, or
 * a layer an earlier build kept as a snapshot only. Layers of stages that only feed `COPY --from` never
 * get a blob at all, as in BuildKit, which writes blobs only when it exports. Each blob is written once per
 * build, from the snapshot and the layers below it, and the step's cache record is then rewritten to name
 * it (so a later build need not write it again).
 */
import type { CacheRecord } from "../cache/records.js";
import type { LayerEntry } from "../image/layer/entry.js";
import { SnapshotError } from "./snapshot/errors.js";
import { hasBlob, type LayerBlob, type LayerRef, type Snapshotter } from "./types.js";

/** A layer whose blob is known, with the snapshot name it came from (when it came from one). */
export type BlobbedLayer = Extract<LayerRef, LayerBlob>;

export interface SnapshotBlobsDeps {
  snapshotter: Snapshotter;
  /** Writes layer entries as a blob (null when there were none). */
  writeLayer(entries: AsyncIterable<LayerEntry>): Promise<LayerBlob | null>;
  /** Stores a record again, now naming the layer's blob. */
  updateRecord(record: CacheRecord): Promise<void>;
}

export class SnapshotBlobs {
  private readonly jobs = new Map<string, Promise<BlobbedLayer>>();
  /** Blobs wanted soon but not urgently, by snapshot name: started by `startQueued` (or when asked for). */
  private readonly queued = new Map<string, () => Promise<BlobbedLayer>>();

  constructor(private readonly deps: SnapshotBlobsDeps) {}

  /**
   * Like `blobOf`, but the blob is only queued: it is written once `startQueued` is called, which the
   * solver does when the main thread has time (a RUN is running, or the build is done). Writing a blob is
   * main-thread work (tar, hashing), which would otherwise slow the COPY steps on the critical path.
   */
  queue(layers: readonly LayerRef[], index: number, record?: CacheRecord): void {
    const layer = layers[index]!;
    if (hasBlob(layer) || this.jobs.has(layer.snapshot)) return;
    this.queued.set(layer.snapshot, () => this.blobOf(layers, index, record));
  }

  /** Starts every queued blob. */
  startQueued(): void {
    const starts = [...this.queued.values()];
    this.queued.clear();
    for (const start of starts) void start();
  }

  /**
   * The blob of `layers[index]` (`layers` being a stage's layers, bottom first, up to at least `index`),
   * written now unless it already exists or is being written. `record` is the cache record naming the
   * layer, rewritten with the blob once it is written.
   */
  blobOf(layers: readonly LayerRef[], index: number, record?: CacheRecord): Promise<BlobbedLayer> {
    const layer = layers[index]!;
    if (hasBlob(layer)) return Promise.resolve(layer);
    const queued = this.queued.get(layer.snapshot);
    if (queued !== undefined) {
      // Asked for now: start it as queued (with its record).
      this.queued.delete(layer.snapshot);
      return queued();
    }
    let job = this.jobs.get(layer.snapshot);
    if (job === undefined) {
      job = this.write(layer, layers.slice(0, index), record);
      job.catch(() => {}); // observed by whoever awaits it, and by settled()
      this.jobs.set(layer.snapshot, job);
    }
    return job;
  }

  /** Starts what is queued and waits for every blob; the first failure is thrown. */
  async written(): Promise<void> {
    this.startQueued();
    await Promise.all(this.jobs.values());
  }

  /** Waits for every blob being written (errors are left to those who asked for the blobs). */
  async settled(): Promise<void> {
    await Promise.allSettled(this.jobs.values());
  }

  private async write(
    layer: Exclude<LayerRef, LayerBlob>,
    below: LayerRef[],
    record: CacheRecord | undefined,
  ): Promise<BlobbedLayer> {
    const entries = await this.deps.snapshotter.snapshotEntries(layer, below);
    const blob = await this.deps.writeLayer(entries);
    if (blob === null) {
      throw new SnapshotError("SNAPSHOT_STATE", `the build step's snapshot ${layer.snapshot} is empty now`, {
        hint: "run `gantry prune` and build again",
      });
    }
    const written: BlobbedLayer = { ...blob, snapshot: layer.snapshot, diffBase: layer.diffBase };
    if (record !== undefined) await this.deps.updateRecord({ ...record, layer: written });
    return written;
  }
}

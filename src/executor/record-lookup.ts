/**
 * Finding a step's cache record for the solver: a local record whose layer can still be mounted (its blob
 * is in the store, or its snapshot is kept), else one of an imported cache (`--cache-from`), whose layer is
 * then fetched in the background and which becomes a local record; and the closest earlier record of the
 * same step, to explain a miss.
 */
import type { CacheKey } from "../cache/key.js";
import type { CacheRecord } from "../cache/records.js";
import type { RecordWrites } from "./record-writes.js";
import type { SolverDeps } from "./solver-types.js";
import { hasBlob } from "./types.js";

export class RecordLookup {
  private readonly fetches: Array<Promise<void>> = [];

  constructor(
    private readonly deps: Pick<SolverDeps, "records" | "remote" | "blobs" | "snapshotter">,
    private readonly writes?: RecordWrites,
  ) {}

  /** A usable record of `key` (of this build, local or imported); undefined on a miss. */
  async find(key: CacheKey): Promise<CacheRecord | undefined> {
    const record = this.writes?.get(key) ?? (await this.deps.records.get(key));
    if (
      record !== undefined &&
      (record.layer === null || (await this.deps.snapshotter.available(record.layer)))
    ) {
      return record;
    }
    for (const source of this.deps.remote ?? []) {
      const remote = source.lookup(key);
      if (remote === undefined) continue;
      // Fetched in the background: only a step that runs on top, a view or the end of the build waits.
      if (remote.layer !== null && hasBlob(remote.layer)) {
        const pending = source.fetchLayer(remote.layer, this.deps.blobs);
        pending.catch(() => {}); // observed by layersFetched()
        this.fetches.push(pending);
      }
      await this.deps.records.put(remote);
      return remote;
    }
    return undefined;
  }

  /** Waits for the layers of imported hits that are still downloading. */
  async layersFetched(): Promise<void> {
    await Promise.all(this.fetches);
  }

  /** The closest earlier record of the same step: the last one built here, else one an imported cache has. */
  async previous(identity: string): Promise<CacheRecord | undefined> {
    const lastKey = await this.deps.records.lastKeyFor(identity);
    const local = lastKey === undefined ? undefined : await this.deps.records.get(lastKey, { touch: false });
    if (local !== undefined) return local;
    for (const source of this.deps.remote ?? []) {
      const found = source.byIdentity(identity);
      if (found !== undefined) return found;
    }
    return undefined;
  }
}

/**
 * The local cache index: one record per CacheKey under `<root>/cache/records/<hex>.json` (one fact, one file,
 * written atomically), holding the step's result (its layer, or none when the step changed nothing) and the
 * inputs that made the key. A second file per step identity (`<root>/cache/steps/<hex>`) remembers the last
 * key seen for "the same step" (stage name or index + position + instruction), so a miss can be explained
 * against the closest earlier record.
 */
import { mkdir, readdir, readFile, rm, stat, utimes } from "node:fs/promises";
import { join } from "node:path";
import type { LayerRef } from "../executor/types.js";
import { writeFileAtomic } from "../image/atomic-file.js";
import { digestHex, sha256Of } from "../image/digest.js";
import type { Digest, StoredLayer } from "../image/store-types.js";
import type { CacheKey, CacheKeyInputs } from "./key.js";

/** A layer blob a record or an exported cache names. */
export type CachedLayer = StoredLayer;

export interface CacheRecord {
  key: CacheKey;
  inputs: CacheKeyInputs;
  /**
   * The layer the step produced; null when it changed nothing (empty_layer). Its blob, the snapshot the
   * step left (overlayfs), or both: a step's blob is written only when an image or a cache export needs it.
   */
  layer: LayerRef | null;
  /** Per-file digests of COPY/ADD sources, for explaining misses (path → digest). */
  files?: Record<string, string>;
  /** Human name of the step when it was recorded. */
  name: string;
  /** Which step of which Dockerfile this was (stage + position), to explain a later miss of the same step. */
  identity?: string;
  /** COPY --from a stage or image: the source digest by source state + op (see source-memo.ts). */
  sourceMemo?: { memo: Digest; digest: Digest };
  createdAt: string;
}

export class CacheRecordStore {
  private constructor(readonly dir: string) {}

  static async open(root: string): Promise<CacheRecordStore> {
    const dir = join(root, "cache");
    await mkdir(join(dir, "records"), { recursive: true });
    await mkdir(join(dir, "steps"), { recursive: true });
    return new CacheRecordStore(dir);
  }

  private recordPath(key: CacheKey): string {
    return join(this.dir, "records", `${digestHex(key)}.json`);
  }

  /** The record file of `key` in the cache under data root `root`, without opening it. */
  static recordPathIn(root: string, key: CacheKey): string {
    return new CacheRecordStore(join(root, "cache")).recordPath(key);
  }

  /**
   * The record of `key`. Reading it counts as a use (its mtime is the LRU clock `gantry prune` goes by)
   * unless `touch` is false, as when a miss is only being explained against it.
   */
  async get(key: CacheKey, options: { touch?: boolean } = {}): Promise<CacheRecord | undefined> {
    try {
      const record = JSON.parse(await readFile(this.recordPath(key), "utf8")) as CacheRecord;
      if (options.touch !== false) {
        const now = new Date();
        await utimes(this.recordPath(key), now, now).catch(() => {});
      }
      return record;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      if (error instanceof SyntaxError) return undefined; // a torn foreign write: treat as absent
      throw error;
    }
  }

  async put(record: CacheRecord): Promise<void> {
    await writeFileAtomic(this.recordPath(record.key), JSON.stringify(record));
  }

  async delete(key: CacheKey): Promise<void> {
    await rm(this.recordPath(key), { force: true });
  }

  async *list(): AsyncIterable<{ record: CacheRecord; lastUsed: Date }> {
    for (const name of await readdir(join(this.dir, "records"))) {
      if (!name.endsWith(".json") || name.startsWith(".")) continue;
      const path = join(this.dir, "records", name);
      try {
        const [text, info] = await Promise.all([readFile(path, "utf8"), stat(path)]);
        yield { record: JSON.parse(text) as CacheRecord, lastUsed: info.mtime };
      } catch {
        // removed or torn meanwhile
      }
    }
  }

  /** The last key recorded for a step identity. */
  async lastKeyFor(identity: string): Promise<CacheKey | undefined> {
    try {
      return (await readFile(this.identityPath(identity), "utf8")).trim() as CacheKey;
    } catch {
      return undefined;
    }
  }

  async setLastKey(identity: string, key: CacheKey): Promise<void> {
    if ((await this.lastKeyFor(identity)) === key) return; // a cache hit of the same key: nothing to write
    await writeFileAtomic(this.identityPath(identity), key);
  }

  private identityPath(identity: string): string {
    return join(this.dir, "steps", digestHex(sha256Of(identity)));
  }
}

/**
 * The solver's cache-record writes, kept off the critical path: a finished step's record, and its step
 * identity's last key, are written (atomically, with fsync) while the next step already runs, since
 * nothing in the build reads them back from disk. Writes of one key stay in order (a record rewritten to
 * name its blob lands after the first one), `get` answers for records of this build still being
 * written, and `flushed` waits for every write: at the end of the build, and after a failure too, so the
 * steps that did finish stay cached.
 */
import type { CacheKey } from "../cache/key.js";
import type { CacheRecord, CacheRecordStore } from "../cache/records.js";

export class RecordWrites {
  /** The last write queued for each record key, and for each identity's last key (`id:` prefix). */
  private readonly tails = new Map<string, Promise<void>>();
  /** Records of this build, newest version, until the build ends. */
  private readonly records = new Map<CacheKey, CacheRecord>();

  constructor(private readonly store: Pick<CacheRecordStore, "put" | "setLastKey">) {}

  /** Writes `record` after any earlier write of its key. */
  put(record: CacheRecord): void {
    this.records.set(record.key, record);
    this.after(`key:${record.key}`, () => this.store.put(record));
  }

  /** Records `key` as the last key built for `identity`. */
  setLastKey(identity: string, key: CacheKey): void {
    this.after(`id:${identity}`, () => this.store.setLastKey(identity, key));
  }

  /** A record written in this build (perhaps not on disk yet). */
  get(key: CacheKey): CacheRecord | undefined {
    return this.records.get(key);
  }

  /** Waits for every write queued so far; the first failure is thrown once all have settled. */
  async flushed(): Promise<void> {
    const writes = [...this.tails.values()];
    const settled = await Promise.allSettled(writes);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failed !== undefined) throw failed.reason;
  }

  private after(chain: string, write: () => Promise<void>): void {
    const previous = this.tails.get(chain) ?? Promise.resolve();
    // A failed write does not stop the next one of the same chain (it carries the newer content).
    const next = previous.catch(() => {}).then(write);
    next.catch(() => {}); // reported by flushed()
    this.tails.set(chain, next);
  }
}

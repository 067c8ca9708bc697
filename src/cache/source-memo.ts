/**
 * Source digests of `COPY --from=<stage|image>` remembered by what they were read from: the source state's
 * cache key (a stage's last key, or an image's manifest digest) plus the COPY op itself. Under the cache's
 * own contract (one key, one result) that pair always selects the same files, so a fully cached build can
 * key such a COPY without unpacking the source stage to hash it. Memos live in the local cache
 * (`<root>/cache/sources/<hex>`) and travel in exported records (`CacheRecord.sourceMemo`), so runner B
 * gets them from runner A's cache as well.
 */
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { CopyOp } from "../graph/types.js";
import { writeFileAtomic } from "../image/atomic-file.js";
import { digestHex, sha256Of } from "../image/digest.js";
import type { Digest } from "../image/store-types.js";
import { type CanonicalValue, canonicalJson } from "./key.js";
import type { CacheSource } from "./remote.js";

export interface SourceMemo {
  /** sha256 of the source state's key and the op. */
  memo: Digest;
  /** The content digest of what the op selects there. */
  digest: Digest;
}

/** The memo key of `op` reading from the state whose key (or image manifest digest) is `sourceKey`. */
export function sourceMemoKey(op: CopyOp, sourceKey: string): Digest {
  const { from: _from, ...rest } = op;
  return sha256Of(canonicalJson({ v: 1, source: sourceKey, op: rest as unknown as CanonicalValue }));
}

export class SourceMemoStore {
  private constructor(private readonly dir: string) {}

  static async open(root: string): Promise<SourceMemoStore> {
    const dir = join(root, "cache", "sources");
    await mkdir(dir, { recursive: true });
    return new SourceMemoStore(dir);
  }

  /** The remembered digest: local first, then each imported cache's records. */
  async get(memo: Digest, remote: CacheSource[] = []): Promise<Digest | undefined> {
    try {
      const digest = (await readFile(join(this.dir, digestHex(memo)), "utf8")).trim();
      if (/^sha256:[0-9a-f]{64}$/.test(digest)) return digest as Digest;
    } catch {
      // not remembered here
    }
    for (const source of remote) {
      const digest = source.sourceDigest(memo);
      if (digest === undefined) continue;
      await this.put({ memo, digest }).catch(() => {}); // remembered here for the next build
      return digest;
    }
    return undefined;
  }

  async put(entry: SourceMemo): Promise<void> {
    await writeFileAtomic(join(this.dir, digestHex(entry.memo)), entry.digest);
  }
}

/**
 * What the build cache keeps alive in the shared blob store: every layer a cache record points at. The
 * registry's GC is given this set as extra roots, so serving a build's data root never frees the layers of
 * intermediate stages that only the cache references.
 */
import { hasBlob } from "../executor/types.js";
import type { Digest } from "../image/store-types.js";
import { CacheRecordStore } from "./records.js";

export async function cacheReferencedBlobs(root: string): Promise<Set<Digest>> {
  const records = await CacheRecordStore.open(root);
  const digests = new Set<Digest>();
  for await (const { record } of records.list()) {
    if (record.layer !== null && hasBlob(record.layer)) digests.add(record.layer.digest);
  }
  return digests;
}

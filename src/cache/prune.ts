/**
 * `gantry prune`: frees local build cache. Cache records are removed least recently used first (all of them
 * by default; those unused for `until`; or until the layers the cache holds fit in `keepStorage`), then
 * every blob that neither a remaining record nor any image in the data root references is swept, and
 * unpacked snapshot layers nothing needs go with them. Nothing used or written since the oldest running
 * build started is touched (see leases.ts).
 */
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { hasBlob } from "../executor/types.js";
import { ContentStore } from "../image/content-store.js";
import { digestHex } from "../image/digest.js";
import { FsRepositoryStore } from "../image/repository-store.js";
import type { Digest } from "../image/store-types.js";
import { runGc } from "../registry/gc.js";
import { oldestLiveLease } from "./leases.js";
import { type CachedLayer, type CacheRecord, CacheRecordStore } from "./records.js";

export interface PruneOptions {
  /** Keep at most this many bytes of cached layers (least recently used go first). */
  keepStorage?: number;
  /** Only remove records unused for longer than this (ms). */
  until?: number;
  dryRun?: boolean;
  now?: number;
}

export interface PruneReport {
  dryRun: boolean;
  recordsRemoved: number;
  recordsKept: number;
  blobsRemoved: number;
  bytesFreed: number;
  snapshotsRemoved: number;
  /** Bytes of layers the remaining cache holds. */
  cacheBytes: number;
}

export async function pruneCache(root: string, options: PruneOptions = {}): Promise<PruneReport> {
  const now = options.now ?? Date.now();
  const dryRun = options.dryRun ?? false;
  const protectedSince = (await oldestLiveLease(root)) ?? Number.POSITIVE_INFINITY;
  const records = await CacheRecordStore.open(root);
  const all: Array<{ record: CacheRecord; lastUsed: number }> = [];
  for await (const { record, lastUsed } of records.list()) all.push({ record, lastUsed: lastUsed.getTime() });
  all.sort((a, b) => a.lastUsed - b.lastUsed);

  const isProtected = (lastUsed: number) => lastUsed >= protectedSince;
  const remove = new Set<CacheRecord>();
  for (const item of all) {
    if (isProtected(item.lastUsed)) continue;
    if (options.until !== undefined && now - item.lastUsed <= options.until) continue;
    if (options.keepStorage === undefined || options.until !== undefined) remove.add(item.record);
  }
  if (options.keepStorage !== undefined) {
    let size = layerBytes(all.filter((item) => !remove.has(item.record)).map((item) => item.record));
    for (const item of all) {
      if (size <= options.keepStorage) break;
      if (remove.has(item.record) || isProtected(item.lastUsed)) continue;
      remove.add(item.record);
      size = layerBytes(all.filter((i) => !remove.has(i.record)).map((i) => i.record));
    }
  }
  const kept = all.filter((item) => !remove.has(item.record)).map((item) => item.record);
  if (!dryRun) for (const record of remove) await records.delete(record.key);

  const keptBlobs = new Set<Digest>(
    kept.flatMap((record) => (blobOf(record) === undefined ? [] : [blobOf(record)!.digest])),
  );
  const blobs = await ContentStore.open(root);
  const repos = await FsRepositoryStore.open(root);
  const graceMs = Number.isFinite(protectedSince) ? Math.max(0, now - protectedSince) : 0;
  const gc = await runGc({
    blobs,
    repos,
    graceMs,
    dryRun,
    now: () => now,
    extraRoots: async () => keptBlobs,
  });

  // Unpacked layers whose blob is gone are no use to anyone (snapshots/layers/<diffId hex>), nor are the
  // snapshots build steps left (snapshots/layers/s-…) that no remaining record names. Only while no build
  // runs: a running build's snapshots are not in any record yet.
  let snapshotsRemoved = 0;
  if (!Number.isFinite(protectedSince)) {
    const removedNames = new Set(
      [...remove].flatMap((record) => {
        const blob = blobOf(record);
        return blob !== undefined && keptBlobs.has(blob.digest) ? [] : snapshotNames(record);
      }),
    );
    const keptNames = new Set(kept.flatMap(snapshotNames));
    const dir = join(root, "snapshots", "layers");
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (keptNames.has(name)) continue;
      if (!removedNames.has(name) && !name.startsWith("s-")) continue;
      snapshotsRemoved++;
      if (!dryRun) await rm(join(dir, name), { recursive: true, force: true });
    }
  }
  return {
    dryRun,
    recordsRemoved: remove.size,
    recordsKept: kept.length,
    blobsRemoved: gc.blobsDeleted.length,
    bytesFreed: gc.bytesFreed,
    snapshotsRemoved,
    cacheBytes: layerBytes(kept),
  };
}

/** The record's layer blob, if it has one (a step's layer may be only a snapshot). */
function blobOf(record: CacheRecord): CachedLayer | undefined {
  return record.layer !== null && hasBlob(record.layer) ? record.layer : undefined;
}

/** The directories under snapshots/layers the record's layer may be unpacked in. */
function snapshotNames(record: CacheRecord): string[] {
  const layer = record.layer;
  if (layer === null) return [];
  const names = layer.snapshot === undefined ? [] : [layer.snapshot];
  if (hasBlob(layer)) names.push(digestHex(layer.diffId));
  return names;
}

/** Bytes the records' layers hold: their blobs, and the content of layers kept only as snapshots. */
function layerBytes(records: CacheRecord[]): number {
  const sizes = new Map<string, number>();
  for (const record of records) {
    const layer = record.layer;
    if (layer === null) continue;
    if (hasBlob(layer)) sizes.set(layer.digest, layer.size);
    else sizes.set(layer.snapshot, layer.contentSize);
  }
  let total = 0;
  for (const size of sizes.values()) total += size;
  return total;
}

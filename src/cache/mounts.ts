/**
 * Cache mounts that travel with the cache (`--cache-to …,mount=ID`): the content of a
 * `RUN --mount=type=cache,id=ID` directory becomes one deterministic layer (canonical order, numeric
 * owners, every mtime clamped to 0), so unchanged content gives the same digest and an incremental export
 * does not send it again. `--cache-from` puts an imported mount into place only when the local directory is
 * missing or empty: extracted next to it, then renamed in, so a concurrent build never sees half of it.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readdir, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { cacheMountDir } from "../executor/mounts.js";
import type { Compression } from "../image/layer/compress.js";
import { extractLayer } from "../image/layer/extract.js";
import { writeLayer } from "../image/layer/layer-writer.js";
import { walkDirectory } from "../image/layer/walk.js";
import type { BlobStore } from "../image/store-types.js";
import type { CachedLayer } from "./records.js";

/** Every mtime in an exported mount: content alone decides the digest. */
const MOUNT_MTIME = 0;

export interface MountExportOptions {
  compression?: Compression;
  level?: number;
}

/** The layer of cache mount `id`'s content, or undefined when no build here has used that id. */
export async function writeCacheMountLayer(
  root: string,
  blobs: BlobStore,
  id: string,
  options: MountExportOptions = {},
): Promise<CachedLayer | undefined> {
  const dir = cacheMountDir(root, id);
  if ((await readdir(dir).catch(() => undefined)) === undefined) return undefined;
  const written = await writeLayer(blobs, walkDirectory(dir), {
    compression: options.compression ?? "gzip",
    level: options.level,
    clampMtime: MOUNT_MTIME,
  });
  return { digest: written.digest, diffId: written.diffId, size: written.size, mediaType: written.mediaType };
}

export type MountImportOutcome = "imported" | "kept-local";

/**
 * Fills cache mount `id` from `layer` (already in `blobs`) unless the local directory has content; local
 * content always wins, as it is at least as new as what any runner exported.
 */
export async function importCacheMount(
  root: string,
  blobs: BlobStore,
  id: string,
  layer: CachedLayer,
): Promise<MountImportOutcome> {
  const dir = cacheMountDir(root, id);
  if (!(await isMissingOrEmpty(dir))) return "kept-local";
  await mkdir(dirname(dir), { recursive: true });
  const staging = `${dir}.import-${process.pid}-${randomBytes(4).toString("hex")}`;
  await mkdir(staging, { mode: 0o755 });
  try {
    await extractLayer(await blobs.openRead(layer.digest), staging, { whiteouts: "apply" });
    try {
      // Replaces a missing or empty directory; fails when another build filled it meanwhile (theirs wins).
      await rename(staging, dir);
      return "imported";
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOTEMPTY" || code === "EEXIST") return "kept-local";
      throw error;
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function isMissingOrEmpty(dir: string): Promise<boolean> {
  const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [] as string[];
    throw error;
  });
  return names.length === 0;
}

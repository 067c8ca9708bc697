/**
 * A root filesystem given as a directory or as a tar (plain, gzip or zstd) as canonical `LayerEntry`s.
 * Directories are walked; tars are indexed in place, or first decompressed into a temp file in the
 * store's `ingest/` directory (same filesystem, removed by `cleanup`, or by the store's stale-file sweep
 * after a crash), so that their members can be re-ordered without holding content in memory.
 */
import { createReadStream } from "node:fs";
import { stat, unlink } from "node:fs/promises";
import { READ_CHUNK_BYTES } from "../../util/read-chunk.js";
import { streamToNewFile } from "../atomic-file.js";
import { detectCompression, openDecompressed } from "./compress.js";
import type { LayerEntry } from "./entry.js";
import { LayerError } from "./errors.js";
import { indexTarFile } from "./tar-index.js";
import { type WalkOptions, walkDirectory } from "./walk.js";

export interface RootfsSource {
  kind: "directory" | "tar";
  /** For tars: the compression found. */
  compression?: string;
  entries: AsyncIterable<LayerEntry>;
  /** Removes temp files; call when the entries have been consumed (or abandoned). */
  cleanup(): Promise<void>;
}

export interface RootfsOptions extends WalkOptions {
  /** Makes a temp file path on the store's filesystem (ContentStore.newIngestPath). */
  tempPath: (label: string) => string;
}

export async function openRootfs(path: string, options: RootfsOptions): Promise<RootfsSource> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    throw new LayerError("LAYER_ENTRY_INVALID", `cannot read root filesystem ${path}: ${error.message}`, {
      path,
      cause: error,
    });
  });
  if (info.isDirectory()) {
    return { kind: "directory", entries: walkDirectory(path, options), cleanup: async () => {} };
  }
  if (!info.isFile()) {
    throw new LayerError("LAYER_ENTRY_INVALID", `${path} is neither a directory nor a tar file`, { path });
  }
  const compression = detectCompression(await readHead(path));
  if (compression === "none") {
    return { kind: "tar", compression, entries: listed(await indexTarFile(path)), cleanup: async () => {} };
  }
  const temp = options.tempPath("rootfs");
  const cleanup = () => unlink(temp).catch(() => {});
  try {
    const { stream } = await openDecompressed(createReadStream(path, { highWaterMark: READ_CHUNK_BYTES }));
    await streamToNewFile(temp, stream);
    const entries = await indexTarFile(temp);
    return { kind: "tar", compression, entries: listed(entries), cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

async function readHead(path: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of createReadStream(path, { start: 0, end: 3 })) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function* listed(entries: LayerEntry[]): AsyncIterable<LayerEntry> {
  yield* entries;
}

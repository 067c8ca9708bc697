/**
 * Writing a layer into the content store in ONE streaming pass: entries → deterministic tar → sha256
 * (the diffID, over the uncompressed tar) → compressor → the store, which hashes the compressed bytes
 * (the blob digest and size), verifies and renames them into `blobs/`. Nothing is buffered beyond stream
 * chunks, whatever the layer's size.
 */
import { pipeline } from "node:stream/promises";
import { DigestingTransform } from "../digest.js";
import type { BlobStore, Digest } from "../store-types.js";
import { type Compression, createCompressor, layerMediaType } from "./compress.js";
import type { LayerEntry } from "./entry.js";
import { layerTarStream, type TarWriteOptions } from "./tar-writer.js";

export interface WriteLayerOptions extends TarWriteOptions {
  /** Default gzip. */
  compression?: Compression;
  /** Compression level (gzip 1-9, default 6; zstd 1-19, default 3). */
  level?: number;
}

export interface WrittenLayer {
  /** Digest of the compressed blob, as stored. */
  digest: Digest;
  /** Size of the compressed blob. */
  size: number;
  /** sha256 of the uncompressed tar (rootfs.diff_ids). */
  diffId: Digest;
  mediaType: string;
  /** Size of the uncompressed tar. */
  uncompressedSize: number;
  /** Tar members written. */
  entries: number;
}

export async function writeLayer(
  store: BlobStore,
  entries: AsyncIterable<LayerEntry>,
  options: WriteLayerOptions = {},
): Promise<WrittenLayer> {
  const compression = options.compression ?? "gzip";
  // Created first: zstd without the program fails here, before anything is read.
  const compressor = createCompressor(compression, options.level);
  const { stream: tar, done } = layerTarStream(entries, options);
  const diff = new DigestingTransform("sha256");
  const storing = store.write(compressor);
  const piping = pipeline(tar, diff, compressor);
  // Everything settles before this returns or throws: a failed layer leaves no temp file behind it.
  await Promise.allSettled([storing, piping, done]);
  // The entries' own error (out of order, unreadable) says more than the store's aborted write.
  const stats = await done;
  await piping;
  const blob = await storing;
  return {
    digest: blob.digest,
    size: blob.size,
    diffId: diff.digest,
    mediaType: layerMediaType(compression),
    uncompressedSize: diff.size,
    entries: stats.entries,
  };
}

/**
 * How much a file read stream asks for at once. Node's default (64 KiB) costs a thread-pool round trip per
 * 64 KiB, ~170 ms of dispatch in a cold multi-stage build here; 1 MiB reads do not. A stream allocates a
 * whole chunk per read, so a small file is read with a chunk of its own size instead.
 */
export const READ_CHUNK_BYTES = 1 << 20;

/** The read chunk for `bytes` of data: 1 MiB, or less for a smaller file (at least 1 KiB). */
export function readChunkFor(bytes: number): number {
  return Math.max(1024, Math.min(READ_CHUNK_BYTES, bytes));
}

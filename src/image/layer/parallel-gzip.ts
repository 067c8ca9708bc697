/**
 * gzip on every core, deterministically: the input is cut into fixed 1 MiB blocks, each block is
 * compressed on libuv's thread pool as its own gzip member, and the members are written in input order.
 * A sequence of gzip members is one valid gzip stream (RFC 1952 §2.2; Go's, zlib's and GNU gzip's readers
 * all read it whole), and since block boundaries depend only on the input, the same input and level
 * always give the same bytes. Memory is bounded by the blocks in flight (cores + 1). Blocks that do not
 * compress (random or already-compressed data) are stored rather than deflated (`incompressible`).
 */
import { availableParallelism } from "node:os";
import { Transform, type TransformCallback } from "node:stream";
import { promisify } from "node:util";
import { deflateRaw, gzip, constants as zlibConstants } from "node:zlib";

const gzipAsync = promisify(gzip);
const deflateRawAsync = promisify(deflateRaw);

export const GZIP_BLOCK_SIZE = 1024 * 1024;

/** Bytes of each block test-compressed to decide whether compressing it is worth the CPU. */
const SAMPLE_BYTES = 32 * 1024;

/**
 * Whether a block looks incompressible (random bytes, already-compressed files): a fast level-1 deflate of
 * its first 32 KiB saves less than 3 %. Such blocks are stored (deflate level 0: a copy plus a CRC) instead
 * of spending ~30 ms per MiB for nothing. The decision depends on the bytes only, so output stays
 * deterministic. The sample is deflated on the thread pool, like the block itself.
 */
export async function incompressible(block: Uint8Array): Promise<boolean> {
  if (block.length < SAMPLE_BYTES * 2) return false;
  const sample = await deflateRawAsync(block.subarray(0, SAMPLE_BYTES), { level: 1 });
  return sample.length > SAMPLE_BYTES * 0.97;
}

/** One block as a gzip member, stored when it does not compress; all of it on the thread pool. */
async function compressBlock(block: Buffer, level: number): Promise<Buffer> {
  return gzipAsync(block, {
    level: level > 0 && (await incompressible(block)) ? 0 : level,
    memLevel: 8,
    strategy: zlibConstants.Z_DEFAULT_STRATEGY,
    // One output buffer per block: the default 16 KiB means one thread-pool round trip per 16 KiB.
    chunkSize: GZIP_BLOCK_SIZE + 64 * 1024,
  });
}

export class ParallelGzip extends Transform {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly inFlight: Array<Promise<Buffer>> = [];
  private readonly maxInFlight: number;
  private wroteAny = false;

  constructor(
    private readonly level: number,
    maxInFlight = availableParallelism() + 1,
  ) {
    super();
    this.maxInFlight = Math.max(1, maxInFlight);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    this.drainBlocks(false).then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    this.drainBlocks(true)
      .then(async () => {
        // Empty input still makes a valid (empty) gzip stream.
        if (!this.wroteAny) this.push(await gzipAsync(Buffer.alloc(0), { level: this.level }));
      })
      .then(() => callback(), callback);
  }

  /** Starts a compression for every full block (and the last partial one at the end), in order. */
  private async drainBlocks(final: boolean): Promise<void> {
    while (this.pendingBytes >= GZIP_BLOCK_SIZE || (final && this.pendingBytes > 0)) {
      const all = Buffer.concat(this.pending, this.pendingBytes);
      const size = Math.min(GZIP_BLOCK_SIZE, all.length);
      const block = all.subarray(0, size);
      const rest = all.subarray(size);
      this.pending = rest.length > 0 ? [rest] : [];
      this.pendingBytes = rest.length;
      const compressed = compressBlock(block, this.level);
      compressed.catch(() => {}); // observed in order below
      this.inFlight.push(compressed);
      this.wroteAny = true;
      while (this.inFlight.length >= this.maxInFlight) this.push(await this.inFlight.shift()!);
    }
    if (final) while (this.inFlight.length > 0) this.push(await this.inFlight.shift()!);
  }
}

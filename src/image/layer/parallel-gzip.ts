/**
 * gzip on every core, deterministically: the input is cut into fixed 1 MiB blocks, each block is
 * compressed on libuv's thread pool as its own gzip member, and the members are written in input order.
 * A sequence of gzip members is one valid gzip stream (RFC 1952 §2.2; Go's, zlib's and GNU gzip's readers
 * all read it whole), and since block boundaries depend only on the input, the same input and level
 * always give the same bytes. Memory is bounded by the blocks in flight (cores + 1). Blocks that do not
 * compress (random or already-compressed data) are stored rather than deflated (`incompressible`): such a
 * member is framed here around the block's own bytes (no copy), with zlib's crc32.
 */
import { availableParallelism } from "node:os";
import { Transform, type TransformCallback } from "node:stream";
import { promisify } from "node:util";
import { crc32, deflateRaw, gzip, constants as zlibConstants } from "node:zlib";

const gzipAsync = promisify(gzip);
const deflateRawAsync = promisify(deflateRaw);

export const GZIP_BLOCK_SIZE = 1024 * 1024;

/** Bytes of each block test-compressed to decide whether compressing it is worth the CPU. */
const SAMPLE_BYTES = 8 * 1024;

/**
 * Whether a block looks incompressible (random bytes, already-compressed files): a fast level-1 deflate of
 * its first 8 KiB saves less than 3 %. Such blocks are stored instead of spending ~30 ms per MiB for
 * nothing. The decision depends on the bytes only, so output stays deterministic. The sample is deflated
 * on the thread pool, like the block itself.
 */
export async function incompressible(block: Uint8Array | readonly Uint8Array[]): Promise<boolean> {
  const pieces = block instanceof Uint8Array ? [block] : block;
  if (byteLength(pieces) < SAMPLE_BYTES * 8) return false;
  const sample = await deflateRawAsync(firstBytes(pieces, SAMPLE_BYTES), { level: 1 });
  return sample.length > SAMPLE_BYTES * 0.97;
}

function byteLength(pieces: readonly Uint8Array[]): number {
  let total = 0;
  for (const piece of pieces) total += piece.byteLength;
  return total;
}

/** The first `n` bytes of `pieces` in one buffer (copied only when the first piece is shorter). */
function firstBytes(pieces: readonly Uint8Array[], n: number): Uint8Array {
  if (pieces[0]!.byteLength >= n) return pieces[0]!.subarray(0, n);
  const out = Buffer.allocUnsafe(n);
  let at = 0;
  for (const piece of pieces) {
    if (at === n) break;
    const take = Math.min(piece.byteLength, n - at);
    out.set(piece.subarray(0, take), at);
    at += take;
  }
  return out;
}

/**
 * One block (given as pieces, in order) as a gzip member: stored when it does not compress, else deflated
 * on the thread pool (the only case that joins the pieces into one buffer).
 */
async function compressBlock(block: Buffer[], level: number): Promise<Buffer[]> {
  if (level > 0 && !(await incompressible(block))) {
    return [
      await gzipAsync(Buffer.concat(block), {
        level,
        memLevel: 8,
        strategy: zlibConstants.Z_DEFAULT_STRATEGY,
        // One output buffer per block: the default 16 KiB means one thread-pool round trip per 16 KiB.
        chunkSize: GZIP_BLOCK_SIZE + 64 * 1024,
      }),
    ];
  }
  return storedMember(block);
}

/** Longest stored deflate block (RFC 1951 §3.2.4: LEN is 16 bits). */
const STORED_BLOCK_MAX = 65535;

/**
 * `block` (one buffer, or pieces in order) as one gzip member of stored deflate blocks (RFC 1952 header,
 * RFC 1951 §3.2.4 blocks, CRC-32 and size trailer), framing slices of the block's own bytes: nothing is
 * copied.
 */
export function storedMember(block: Buffer | readonly Buffer[]): Buffer[] {
  const pieces = Buffer.isBuffer(block) ? [block] : block;
  const total = byteLength(pieces);
  // ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=4 (fastest) OS=3 (Unix), as zlib writes it.
  const out: Buffer[] = [Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 3])];
  let crc = 0;
  let index = 0; // current piece
  let within = 0; // offset in it
  let done = 0;
  do {
    const length = Math.min(STORED_BLOCK_MAX, total - done);
    const header = Buffer.allocUnsafe(5);
    header[0] = done + length === total ? 1 : 0; // BFINAL, BTYPE=00
    header.writeUInt16LE(length, 1);
    header.writeUInt16LE(~length & 0xffff, 3);
    out.push(header);
    for (let left = length; left > 0; ) {
      const piece = pieces[index]!;
      const take = Math.min(left, piece.length - within);
      const slice = piece.subarray(within, within + take);
      crc = crc32(slice, crc);
      out.push(slice);
      left -= take;
      within += take;
      if (within === piece.length) {
        index++;
        within = 0;
      }
    }
    done += length;
  } while (done < total);
  const trailer = Buffer.allocUnsafe(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(total >>> 0, 4);
  out.push(trailer);
  return out;
}

export class ParallelGzip extends Transform {
  /** Input chunks not yet in a block, from `head` on (chunks are kept, not copied: streams hand them over). */
  private pending: Buffer[] = [];
  private head = 0;
  private pendingBytes = 0;
  private readonly inFlight: Array<Promise<Buffer[]>> = [];
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
      const block = this.takeBlock(Math.min(GZIP_BLOCK_SIZE, this.pendingBytes));
      const compressed = compressBlock(block, this.level);
      compressed.catch(() => {}); // observed in order below
      this.inFlight.push(compressed);
      this.wroteAny = true;
      while (this.inFlight.length >= this.maxInFlight) this.pushAll(await this.inFlight.shift()!);
    }
    if (final) while (this.inFlight.length > 0) this.pushAll(await this.inFlight.shift()!);
  }

  /** The next `size` pending bytes as slices of the input chunks (nothing copied). */
  private takeBlock(size: number): Buffer[] {
    const block: Buffer[] = [];
    for (let left = size; left > 0; ) {
      const chunk = this.pending[this.head]!;
      if (chunk.length <= left) {
        block.push(chunk);
        this.head++;
        left -= chunk.length;
      } else {
        block.push(chunk.subarray(0, left));
        this.pending[this.head] = chunk.subarray(left);
        left = 0;
      }
    }
    this.pendingBytes -= size;
    if (this.head > 1024 || this.head === this.pending.length) {
      this.pending = this.pending.slice(this.head);
      this.head = 0;
    }
    return block;
  }

  private pushAll(pieces: Buffer[]): void {
    for (const piece of pieces) this.push(piece);
  }
}

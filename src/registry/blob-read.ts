/**
 * Serving blob bytes: reads the content store's file straight into a small ring of reused 1 MiB buffers
 * and writes them to the response, reusing a buffer only once the socket has taken it. Node has no
 * sendfile; a `createReadStream` pipe allocates a fresh 1 MiB buffer per chunk, and on these VMs touching
 * fresh memory costs more than the copy itself (measured on a 1 GiB pull: median 0.62 vs 0.79 s).
 * Buffers come from a process-wide free list so concurrent pulls share them and memory stays bounded.
 */
import { type FileHandle, open } from "node:fs/promises";
import { BlobUnknownError } from "../image/errors.js";
import type { BlobStore, ByteRange, Digest } from "../image/store-types.js";
import { READ_CHUNK_BYTES } from "../util/read-chunk.js";
import type { RequestContext } from "./context.js";
import { blobFilePath } from "./storage.js";

/** Buffers one response may have read ahead of the socket. */
const READ_AHEAD = 4;
/** Buffers the free list keeps between requests (the rest are left to the GC). */
const POOL_LIMIT = 32;

const freeBuffers: Buffer[] = [];
const takeBuffer = (): Buffer => freeBuffers.pop() ?? Buffer.allocUnsafeSlow(READ_CHUNK_BYTES);
const giveBuffer = (buf: Buffer): void => {
  if (freeBuffers.length < POOL_LIMIT) freeBuffers.push(buf);
};

async function openBlobFile(blobs: BlobStore, digest: Digest): Promise<FileHandle> {
  try {
    return await open(blobFilePath(blobs, digest), "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new BlobUnknownError(digest);
    throw err;
  }
}

/**
 * Sends the blob (or `range` of it) as the body; status and headers must be set already. Throws
 * BlobUnknownError (→ 404) if the blob vanished since it was looked up; a client that goes away ends the
 * send quietly.
 */
export async function sendBlob(
  ctx: RequestContext,
  status: number,
  blobs: BlobStore,
  digest: Digest,
  range?: ByteRange,
): Promise<void> {
  const handle = await openBlobFile(blobs, digest);
  const { res } = ctx;
  res.statusCode = status;
  let position = range?.start ?? 0;
  const end = range ? range.end + 1 : (await handle.stat()).size;
  let outstanding = 0;
  let wake: (() => void) | undefined;
  let gone = false;
  const onClose = () => {
    gone = true;
    wake?.();
  };
  res.once("close", onClose);
  try {
    while (position < end && !gone) {
      if (outstanding >= READ_AHEAD) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      const buf = takeBuffer();
      const { bytesRead } = await handle.read(buf, 0, Math.min(buf.length, end - position), position);
      if (bytesRead === 0) throw new Error(`blob ${digest} is shorter than expected`);
      position += bytesRead;
      ctx.bytesOut += bytesRead;
      outstanding++;
      res.write(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead), (err) => {
        outstanding--;
        if (!err) giveBuffer(buf); // after an error the socket may still hold it: let the GC have it
        wake?.();
      });
    }
    if (!gone) res.end();
  } catch (err) {
    if (gone || res.destroyed) return;
    throw err;
  } finally {
    res.off("close", onClose);
    await handle.close();
  }
}

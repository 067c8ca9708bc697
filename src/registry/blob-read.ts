/**
 * Fast path for serving a whole blob: opens the content store's file directly and reads it in 1 MiB
 * chunks. The store's generic `openRead` uses Node's default 64 KiB chunks, which costs about twice the
 * CPU per byte served (measured: ~2.1 vs ~1.0 CPU-seconds per GiB pulled). Range requests still go
 * through `openRead`. (Added by the auth/metrics/bench owner as a scoped performance fix.)
 */
import { open } from "node:fs/promises";
import type { Readable } from "node:stream";
import { BlobUnknownError } from "../image/errors.js";
import type { BlobStore, Digest } from "../image/store-types.js";
import { blobFilePath } from "./storage.js";

const SEND_CHUNK_BYTES = 1 << 20;

/** A stream of the whole blob; BlobUnknownError (→ 404) if it vanished since it was looked up. */
export async function openWholeBlob(blobs: BlobStore, digest: Digest): Promise<Readable> {
  try {
    const handle = await open(blobFilePath(blobs, digest), "r");
    return handle.createReadStream({ highWaterMark: SEND_CHUNK_BYTES });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new BlobUnknownError(digest);
    throw err;
  }
}

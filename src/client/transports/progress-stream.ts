/** A pass-through stream that reports the running byte count (for progress events). */
import { type Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";

/** Chunks are gathered up to this size before being passed on: fewer, larger writes and socket sends. */
const BATCH_BYTES = 1 << 20;

/** Counts bytes (reported every BATCH_BYTES and at the end) and gathers chunks into BATCH_BYTES buffers. */
export function countingStream(onBytes: (bytes: number) => void, start = 0): Transform {
  let total = start;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  return new Transform({
    readableHighWaterMark: 4 * BATCH_BYTES,
    writableHighWaterMark: BATCH_BYTES,
    transform(chunk: Buffer, _encoding, callback) {
      total += chunk.byteLength;
      pending.push(chunk);
      pendingBytes += chunk.byteLength;
      if (pendingBytes < BATCH_BYTES) return callback();
      onBytes(total);
      const batch = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      callback(null, batch);
    },
    flush(callback) {
      onBytes(total);
      callback(null, pendingBytes === 0 ? null : Buffer.concat(pending, pendingBytes));
    },
  });
}

/** `source` piped through a counter; an error of `source` is passed on to the returned stream. */
export function withProgress(source: Readable, onBytes: (bytes: number) => void, start = 0): Readable {
  const counter = countingStream(onBytes, start);
  pipeline(source, counter).catch((error: Error) => counter.destroy(error));
  return counter;
}

/**
 * `source`'s chunks, untouched, with the running byte count reported every BATCH_BYTES and at the end: for
 * the content store, which batches its own writes, so no byte is copied and no stream is added.
 */
export async function* counted(
  source: AsyncIterable<Uint8Array>,
  onBytes: (bytes: number) => void,
): AsyncGenerator<Uint8Array> {
  let total = 0;
  let reported = 0;
  for await (const chunk of source) {
    total += chunk.byteLength;
    if (total - reported >= BATCH_BYTES) {
      reported = total;
      onBytes(total);
    }
    yield chunk;
  }
  onBytes(total);
}

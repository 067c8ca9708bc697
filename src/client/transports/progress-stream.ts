/** A pass-through stream that reports the running byte count (for progress events). */
import { type Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";

export function countingStream(onBytes: (bytes: number) => void, start = 0): Transform {
  let total = start;
  return new Transform({
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _encoding, callback) {
      total += chunk.byteLength;
      onBytes(total);
      callback(null, chunk);
    },
  });
}

/** `source` piped through a counter; an error of `source` is passed on to the returned stream. */
export function withProgress(source: Readable, onBytes: (bytes: number) => void, start = 0): Readable {
  const counter = countingStream(onBytes, start);
  pipeline(source, counter).catch((error: Error) => counter.destroy(error));
  return counter;
}

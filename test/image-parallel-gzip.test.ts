/**
 * Parallel gzip: many members, read back whole by zlib and by GNU gzip, identical bytes for identical input
 * whatever the chunking of the input stream, and faster than one thread on a multi-core machine is not
 * asserted here (bench/ measures speed).
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  GZIP_BLOCK_SIZE,
  incompressible,
  ParallelGzip,
  storedMember,
} from "../src/image/layer/parallel-gzip.js";
import { collect } from "./helpers/image-fixtures.js";

function compress(input: Buffer, chunkSize: number, level = 6): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < input.length; offset += chunkSize)
    chunks.push(input.subarray(offset, offset + chunkSize));
  return collect(Readable.from(chunks).pipe(new ParallelGzip(level)));
}

describe("ParallelGzip", () => {
  // Half random (incompressible), half repetitive, over several blocks and a partial last one.
  const input = Buffer.concat([
    randomBytes(GZIP_BLOCK_SIZE * 2 + 12345),
    Buffer.alloc(GZIP_BLOCK_SIZE * 3, "gantry "),
  ]);

  it("writes a gzip stream that zlib and GNU gzip read back whole", async () => {
    const output = await compress(input, 64 * 1024);
    expect(output[0]).toBe(0x1f);
    expect(gunzipSync(output).equals(input)).toBe(true);
    const viaGzip = execFileSync("gzip", ["-dc"], { input: output, maxBuffer: 64 * 1024 * 1024 });
    expect(viaGzip.equals(input)).toBe(true);
    expect(output.length).toBeLessThan(input.length);
  });

  it("gives identical bytes however the input is chunked", async () => {
    const a = await compress(input, 7919);
    const b = await compress(input, 3 * 1024 * 1024);
    expect(a.equals(b)).toBe(true);
  });

  it("handles empty input and honours the level", async () => {
    expect(gunzipSync(await compress(Buffer.alloc(0), 1)).length).toBe(0);
    // Text with structure but no short period, so the levels really differ.
    const words = ["layer", "digest", "stage", "cache", "registry", "manifest", "blob", "tar"];
    let seed = 7;
    const text = Buffer.from(
      Array.from({ length: 150_000 }, () => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return words[seed % words.length];
      }).join(" "),
    );
    const fast = await compress(text, 65536, 1);
    const best = await compress(text, 65536, 9);
    expect(gunzipSync(fast).equals(text)).toBe(true);
    expect(best.length).toBeLessThan(fast.length);
  });

  it("frames stored members around the block's own bytes, readable by zlib and GNU gzip", () => {
    for (const size of [0, 1, 65535, 65536, 65537, GZIP_BLOCK_SIZE]) {
      const block = randomBytes(size);
      const member = Buffer.concat(storedMember(block));
      expect(gunzipSync(member).equals(block), `size ${size}`).toBe(true);
      expect(execFileSync("gzip", ["-dc"], { input: member }).equals(block), `gzip -dc, size ${size}`).toBe(
        true,
      );
      // Header, one 5-byte header per 64 KiB - 1 block, the bytes, CRC-32 and size.
      expect(member.length).toBe(10 + 5 * Math.max(1, Math.ceil(size / 65535)) + size + 8);
      // Given in pieces that do not line up with the stored blocks: the same bytes.
      const cuts = [0, Math.floor(size / 3), Math.floor(size / 3) + 7, size];
      const pieces = cuts.slice(1).map((end, i) => block.subarray(cuts[i], end));
      expect(Buffer.concat(storedMember(pieces)).equals(member), `pieces, size ${size}`).toBe(true);
    }
  });

  it("stores incompressible blocks instead of deflating them, and still reads back whole", async () => {
    const random = randomBytes(GZIP_BLOCK_SIZE);
    expect(await incompressible(random)).toBe(true);
    expect(await incompressible(Buffer.alloc(GZIP_BLOCK_SIZE, "gantry layer "))).toBe(false);
    expect(await incompressible(random.subarray(0, 1000))).toBe(false); // too small to judge: deflated
    const mixed = Buffer.concat([random, Buffer.alloc(GZIP_BLOCK_SIZE, "gantry layer ")]);
    const output = await compress(mixed, 65536);
    expect(gunzipSync(output).equals(mixed)).toBe(true);
    // The random block costs its size plus stored-block framing; the text block almost nothing.
    expect(output.length).toBeGreaterThan(GZIP_BLOCK_SIZE);
    expect(output.length).toBeLessThan(GZIP_BLOCK_SIZE + 64 * 1024);
  });
});

import { createHash } from "node:crypto";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, expect, it } from "vitest";
import {
  DigestingTransform,
  digestOf,
  hashStream,
  isDigest,
  parseDigest,
  StreamHasher,
  sha256Of,
} from "../src/image/digest.js";
import { DigestInvalidError } from "../src/image/errors.js";
import { chunked } from "./helpers/image-fixtures.js";

const HEX64 = "a".repeat(64);
const HEX128 = "0123456789abcdef".repeat(8);

describe("parseDigest", () => {
  it("accepts sha256 and sha512", () => {
    expect(parseDigest(`sha256:${HEX64}`)).toEqual({
      algorithm: "sha256",
      hex: HEX64,
      digest: `sha256:${HEX64}`,
    });
    expect(parseDigest(`sha512:${HEX128}`).algorithm).toBe("sha512");
  });

  it.each([
    ["no colon", HEX64],
    ["short hex", `sha256:${"a".repeat(63)}`],
    ["long hex", `sha256:${"a".repeat(65)}`],
    ["uppercase hex", `sha256:${"A".repeat(64)}`],
    ["non-hex", `sha256:${"g".repeat(64)}`],
    ["unknown algorithm", `md5:${"a".repeat(32)}`],
    ["sha512 with 64 hex", `sha512:${HEX64}`],
    ["empty", ""],
    ["path trick", `sha256:../../${"a".repeat(58)}`],
    ["uppercase algorithm", `SHA256:${HEX64}`],
  ])("rejects %s with DIGEST_INVALID", (_label, value) => {
    let caught: unknown;
    try {
      parseDigest(value);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DigestInvalidError);
    expect((caught as DigestInvalidError).code).toBe("DIGEST_INVALID");
    expect(isDigest(value)).toBe(false);
  });

  it("isDigest is true for valid values only", () => {
    expect(isDigest(`sha256:${HEX64}`)).toBe(true);
    expect(isDigest(42)).toBe(false);
  });
});

describe("hashing", () => {
  const data = Buffer.from("hello gantry\n");
  const expected = `sha256:${createHash("sha256").update(data).digest("hex")}`;

  it("sha256Of and digestOf agree with node:crypto", () => {
    expect(sha256Of(data)).toBe(expected);
    expect(digestOf(data, "sha512")).toBe(`sha512:${createHash("sha512").update(data).digest("hex")}`);
    expect(sha256Of("")).toBe("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  it("hashStream digests a chunked stream without changing the result", async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    const result = await hashStream(chunked(big, 1000));
    expect(result).toEqual({ digest: sha256Of(big), size: big.byteLength });
  });

  it("DigestingTransform passes data through unchanged and records digest + size", async () => {
    const big = Buffer.alloc(1024 * 1024 + 3);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    const out: Buffer[] = [];
    const transform = new DigestingTransform();
    await pipeline(
      chunked(big, 4096),
      transform,
      new Writable({
        write(chunk, _enc, cb) {
          out.push(chunk);
          cb();
        },
      }),
    );
    expect(Buffer.concat(out).equals(big)).toBe(true);
    expect(transform.size).toBe(big.length);
    expect(transform.digest).toBe(sha256Of(big));
  });

  it("StreamHasher refuses updates after digest()", () => {
    const hasher = new StreamHasher();
    hasher.update(Buffer.from("a"));
    expect(hasher.digest()).toBe(sha256Of("a"));
    expect(() => hasher.update(Buffer.from("b"))).toThrow();
  });

  it("hashStream with sha512", async () => {
    const result = await hashStream(Readable.from([Buffer.from("ab"), Buffer.from("c")]), "sha512");
    expect(result.digest).toBe(digestOf("abc", "sha512"));
    expect(result.size).toBe(3);
  });
});

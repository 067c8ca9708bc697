/**
 * Content digests: parsing and validating `algorithm:hex` strings (sha256, sha512), hashing bytes, and
 * hashing streams while the data flows through (a Transform that passes chunks on and records sha256 +
 * size), so no blob is ever buffered whole.
 */
import { createHash, type Hash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { DigestInvalidError } from "./errors.js";
import type { Digest } from "./store-types.js";

export type { Digest } from "./store-types.js";

export type DigestAlgorithm = "sha256" | "sha512";

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  /** Lowercase hex. */
  hex: string;
  /** `algorithm:hex`. */
  digest: Digest;
}

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
/** distribution-spec digest grammar: `algorithm ":" encoded`. */
const DIGEST_SHAPE = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;

/** Parses and validates a digest. Only sha256 (64 hex) and sha512 (128 hex) are accepted, lowercase. */
export function parseDigest(value: string): ParsedDigest {
  if (typeof value !== "string") throw new DigestInvalidError(String(value), "not a string");
  const shape = DIGEST_SHAPE.exec(value);
  if (!shape) throw new DigestInvalidError(value, "expected algorithm:hex");
  const algorithm = shape[1]!;
  const hex = shape[2]!;
  if (algorithm !== "sha256" && algorithm !== "sha512") {
    throw new DigestInvalidError(value, `unsupported algorithm ${JSON.stringify(algorithm)}`);
  }
  const length = HEX_LENGTH[algorithm];
  if (hex.length !== length) {
    throw new DigestInvalidError(value, `${algorithm} needs ${length} hex characters, got ${hex.length}`);
  }
  if (!/^[0-9a-f]+$/.test(hex)) throw new DigestInvalidError(value, "encoded part must be lowercase hex");
  return { algorithm, hex, digest: `${algorithm}:${hex}` };
}

/** True when `value` is a valid sha256/sha512 digest. */
export function isDigest(value: unknown): value is Digest {
  if (typeof value !== "string") return false;
  try {
    parseDigest(value);
    return true;
  } catch {
    return false;
  }
}

/** The hex part of a digest after validating it (for building file paths safely). */
export function digestHex(digest: string): string {
  return parseDigest(digest).hex;
}

export function sha256Of(bytes: Uint8Array | string): Digest {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

export function digestOf(bytes: Uint8Array | string, algorithm: DigestAlgorithm = "sha256"): Digest {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest("hex")}`;
}

/** A digest and byte count accumulated over a stream. */
export class StreamHasher {
  readonly algorithm: DigestAlgorithm;
  private readonly hash: Hash;
  private byteCount = 0;
  private result: Digest | undefined;

  constructor(algorithm: DigestAlgorithm = "sha256") {
    this.algorithm = algorithm;
    this.hash = createHash(algorithm);
  }

  update(chunk: Uint8Array): void {
    if (this.result !== undefined) throw new Error("StreamHasher: update after digest()");
    this.hash.update(chunk);
    this.byteCount += chunk.byteLength;
  }

  get size(): number {
    return this.byteCount;
  }

  /** Finishes the hash; further calls return the same digest. */
  digest(): Digest {
    this.result ??= `${this.algorithm}:${this.hash.digest("hex")}`;
    return this.result;
  }
}

/**
 * A pass-through Transform that hashes every chunk. After 'finish'/'end', `digest` and `size` describe
 * exactly the bytes that went through.
 */
export class DigestingTransform extends Transform {
  private readonly hasher: StreamHasher;

  constructor(algorithm: DigestAlgorithm = "sha256") {
    super();
    this.hasher = new StreamHasher(algorithm);
  }

  override _transform(chunk: Buffer | string, encoding: BufferEncoding, callback: TransformCallback): void {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk, encoding) : chunk;
    this.hasher.update(bytes);
    callback(null, bytes);
  }

  /** Bytes seen so far. */
  get size(): number {
    return this.hasher.size;
  }

  /** The digest of everything that went through; call only after the stream has finished. */
  get digest(): Digest {
    return this.hasher.digest();
  }
}

/** Consumes a stream and returns its digest and size without keeping the data. */
export async function hashStream(
  source: AsyncIterable<Uint8Array | string>,
  algorithm: DigestAlgorithm = "sha256",
): Promise<{ digest: Digest; size: number }> {
  const hasher = new StreamHasher(algorithm);
  for await (const chunk of source) {
    hasher.update(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  }
  return { digest: hasher.digest(), size: hasher.size };
}

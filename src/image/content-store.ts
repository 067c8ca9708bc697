/**
 * The content-addressed blob store of the data root: `<root>/blobs/<algorithm>/<hex>` (the same layout as
 * an OCI image layout's blobs). Writes stream into temp files under `<root>/ingest/` (same filesystem),
 * are hashed on the way, verified, fsynced and renamed into place, so a blob is visible only once complete
 * and correct. Concurrent writes of the same blob are safe: each renames identical bytes over the same
 * name. Leftover temp files of dead writers are removed when the store is opened.
 */
import { createReadStream, constants as fsConstants } from "node:fs";
import { mkdir, open, readdir, rename, stat, unlink, utimes } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { READ_CHUNK_BYTES, readChunkFor } from "../util/read-chunk.js";
import {
  type ByteSource,
  fsyncDirectory,
  removeStaleTempFiles,
  type StaleTempOptions,
  streamToNewFile,
  tempPathFor,
} from "./atomic-file.js";
import { type DigestAlgorithm, digestOf, parseDigest, StreamHasher } from "./digest.js";
import {
  BlobUnknownError,
  DigestMismatchError,
  RangeNotSatisfiableError,
  SizeMismatchError,
} from "./errors.js";
import { OffThreadHash } from "./hash-worker.js";
import type { BlobInfo, BlobStore, ByteRange, Digest, ExpectedBlob } from "./store-types.js";

const ALGORITHMS: readonly DigestAlgorithm[] = ["sha256", "sha512"];
const HEX_NAME: Record<DigestAlgorithm, RegExp> = { sha256: /^[0-9a-f]{64}$/, sha512: /^[0-9a-f]{128}$/ };

export interface ContentStoreOptions {
  /** How leftovers in `ingest/` are judged stale on open. */
  staleIngest?: StaleTempOptions;
}

/** Blobs announced at least this large are hashed on the worker thread (hash-worker.ts). */
const OFF_THREAD_HASH_BYTES = 8 * 1024 * 1024;

export class ContentStore implements BlobStore {
  readonly root: string;
  /** Temp files of in-flight writes; same filesystem as `blobs/`. */
  readonly ingestDir: string;
  readonly blobsDir: string;

  private constructor(root: string) {
    this.root = root;
    this.blobsDir = join(root, "blobs");
    this.ingestDir = join(root, "ingest");
  }

  /** Opens (creating if needed) the store under `root` and removes stale ingest leftovers. */
  static async open(root: string, options: ContentStoreOptions = {}): Promise<ContentStore> {
    const store = new ContentStore(root);
    await mkdir(join(store.blobsDir, "sha256"), { recursive: true });
    await mkdir(store.ingestDir, { recursive: true });
    await store.cleanIngest(options.staleIngest);
    return store;
  }

  /** Removes temp files left by writers that died; returns how many. */
  cleanIngest(options: StaleTempOptions = {}): Promise<number> {
    return removeStaleTempFiles(this.ingestDir, options);
  }

  /** Where a blob lives (after validating the digest, so the path cannot escape the store). */
  blobPath(digest: Digest | string): string {
    return ContentStore.blobPathIn(this.root, digest);
  }

  /** Where the store under data root `root` keeps a blob (`<root>/blobs/<alg>/<hex>`), without opening it. */
  static blobPathIn(root: string, digest: Digest | string): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(root, "blobs", algorithm, hex);
  }

  /** A fresh temp path in `ingest/` for callers that write a file themselves and then `commitFile` it. */
  newIngestPath(label = "upload"): string {
    return tempPathFor(label, this.ingestDir);
  }

  async stat(digest: Digest): Promise<BlobInfo | undefined> {
    const path = this.blobPath(digest);
    try {
      const info = await stat(path);
      return info.isFile() ? { digest: parseDigest(digest).digest, size: info.size } : undefined;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async has(digest: Digest): Promise<boolean> {
    return (await this.stat(digest)) !== undefined;
  }

  async openRead(digest: Digest, range?: ByteRange): Promise<Readable> {
    const path = this.blobPath(digest);
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(path, fsConstants.O_RDONLY);
    } catch (error) {
      if (isMissing(error)) throw new BlobUnknownError(digest);
      throw error;
    }
    try {
      const { size } = await handle.stat();
      // 1 MiB reads: with Node's default 64 KiB every blob pushed or served costs 16× the thread-pool round
      // trips (a 40 MB layer push spent ~100 ms of main-thread time just issuing reads).
      // (Never more than the blob: a stream allocates a whole highWaterMark per read, and a manifest GET
      // paying for 1 MiB of fresh memory halved the registry's request rate.)
      if (range === undefined)
        return createReadStream(path, { fd: handle, highWaterMark: readChunkFor(size) });
      const { start } = range;
      if (!Number.isInteger(start) || !Number.isInteger(range.end) || start < 0 || range.end < start) {
        throw new RangeNotSatisfiableError(start, range.end, size);
      }
      if (start >= size) throw new RangeNotSatisfiableError(start, range.end, size);
      // HTTP semantics: a last-byte position past the end means "to the end".
      const end = Math.min(range.end, size - 1);
      return createReadStream(path, { fd: handle, start, end, highWaterMark: readChunkFor(end - start + 1) });
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** Reads a whole blob into memory: only for small documents (manifests, configs) up to `maxBytes`. */
  async readBytes(digest: Digest, maxBytes = 4 * 1024 * 1024): Promise<Buffer> {
    const info = await this.stat(digest);
    if (!info) throw new BlobUnknownError(digest);
    if (info.size > maxBytes) throw new SizeMismatchError(maxBytes, info.size);
    const chunks: Buffer[] = [];
    for await (const chunk of await this.openRead(digest)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async write(source: Readable | ByteSource, expected: ExpectedBlob = {}): Promise<BlobInfo> {
    const wanted = expected.digest === undefined ? undefined : parseDigest(expected.digest);
    const algorithm = wanted?.algorithm ?? "sha256";
    const blobDir = join(this.blobsDir, algorithm);
    // Known-large blobs (pulled layers) are hashed on the worker thread, the rest inline.
    const offThread =
      expected.size !== undefined && expected.size >= OFF_THREAD_HASH_BYTES
        ? new OffThreadHash(algorithm)
        : undefined;
    const hasher = new StreamHasher(algorithm);
    let size = 0;
    // The final name is known only after hashing: stream into ingest/, verify, then rename into blobs/.
    const staging = tempPathFor("blob", this.ingestDir);
    try {
      await streamToNewFile(staging, source, {
        inspect: (chunk) => {
          size += chunk.byteLength;
          if (offThread === undefined) hasher.update(chunk);
          if (expected.size !== undefined && size > expected.size) {
            throw new SizeMismatchError(expected.size, size);
          }
        },
        inspectBatch:
          offThread === undefined ? undefined : (pieces, bytes) => offThread.update(pieces, bytes),
      });
    } catch (error) {
      offThread?.drop();
      throw error;
    }
    let info: BlobInfo;
    // `staging` is complete and fsynced: verify it, then move it into blobs/.
    try {
      const actual =
        offThread === undefined ? hasher.digest() : (`${algorithm}:${await offThread.digest()}` as Digest);
      info = verify(actual, size, expected);
      await mkdir(blobDir, { recursive: true });
      await rename(staging, this.blobPath(info.digest));
    } catch (error) {
      await unlink(staging).catch(() => {});
      throw error;
    }
    await fsyncDirectory(blobDir);
    return info;
  }

  /**
   * Stores a small document. When the store already has it (a rebuild writing the same config/manifest)
   * nothing is written: its mtime is refreshed instead, which restarts its GC grace period as a rewrite
   * would.
   */
  async writeBytes(bytes: Uint8Array, expected: ExpectedBlob = {}): Promise<BlobInfo> {
    const algorithm = expected.digest === undefined ? "sha256" : parseDigest(expected.digest).algorithm;
    const digest = digestOf(bytes, algorithm);
    if (expected.digest === undefined || expected.digest === digest) {
      const path = this.blobPath(digest);
      try {
        const now = new Date();
        await utimes(path, now, now);
        const info = await stat(path);
        if (info.isFile() && info.size === bytes.byteLength) {
          if (expected.size !== undefined && expected.size !== bytes.byteLength) {
            throw new SizeMismatchError(expected.size, bytes.byteLength);
          }
          return { digest, size: bytes.byteLength };
        }
      } catch (error) {
        if (!isMissing(error)) throw error;
      }
    }
    return this.write([bytes], expected);
  }

  /**
   * Verifies `tempPath` hashes to `expected.digest` (and has `expected.size`), fsyncs it and renames it into
   * the store. On success `tempPath` no longer exists. On a mismatch it is left in place for its owner.
   */
  async commitFile(
    tempPath: string,
    expected: Required<ExpectedBlob> | { digest: Digest },
  ): Promise<BlobInfo> {
    const wanted = parseDigest(expected.digest);
    const hasher = new StreamHasher(wanted.algorithm);
    const handle = await open(tempPath, fsConstants.O_RDONLY);
    try {
      for await (const chunk of createReadStream(tempPath, {
        fd: handle,
        autoClose: false,
        highWaterMark: READ_CHUNK_BYTES,
      })) {
        hasher.update(chunk as Buffer);
      }
      const info = verify(hasher.digest(), hasher.size, expected);
      await handle.sync();
      const blobDir = join(this.blobsDir, wanted.algorithm);
      await mkdir(blobDir, { recursive: true });
      try {
        await rename(tempPath, this.blobPath(info.digest));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EXDEV") throw error;
        // Not on our filesystem after all: copy through ingest/ (still verified), then drop the original.
        await this.write(createReadStream(tempPath, { highWaterMark: READ_CHUNK_BYTES }), {
          digest: info.digest,
          size: info.size,
        });
        await unlink(tempPath);
      }
      await fsyncDirectory(blobDir);
      return info;
    } finally {
      await handle.close();
    }
  }

  async delete(digest: Digest): Promise<boolean> {
    const path = this.blobPath(digest);
    try {
      await unlink(path);
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
    await fsyncDirectory(join(this.blobsDir, parseDigest(digest).algorithm));
    return true;
  }

  async *list(): AsyncIterable<BlobInfo> {
    for (const algorithm of ALGORITHMS) {
      const dir = join(this.blobsDir, algorithm);
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (error) {
        if (isMissing(error)) continue;
        throw error;
      }
      names.sort();
      for (const hex of names) {
        if (!HEX_NAME[algorithm].test(hex)) continue;
        const info = await stat(join(dir, hex)).catch(() => undefined);
        if (info?.isFile()) yield { digest: `${algorithm}:${hex}`, size: info.size };
      }
    }
  }
}

function verify(actual: Digest, size: number, expected: ExpectedBlob): BlobInfo {
  if (expected.size !== undefined && size !== expected.size) {
    throw new SizeMismatchError(expected.size, size);
  }
  if (expected.digest !== undefined && actual !== parseDigest(expected.digest).digest) {
    throw new DigestMismatchError(expected.digest, actual);
  }
  return { digest: actual, size };
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/**
 * ADD's local archives: detection (gzip, bzip2, xz, zstd or no compression, then a valid tar header, as
 * Docker's IsArchivePath checks) and extraction into a directory. This is a small internal extractor
 * (src/image/layer/extract.ts did not exist when it was written): every member path is normalised and
 * `..` rejected, and each entry is placed through a TargetTree rooted at the extraction directory, so
 * symlinks in the archive (or already in the image) are resolved as if that directory were `/` — as
 * Docker's chrooted untar does — and nothing is written outside it. bzip2 and xz run the system tools.
 */
import { spawn } from "node:child_process";
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { PassThrough, type Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { CopyError } from "../../context/errors.js";
import { createDecompressor } from "../../image/layer/compress.js";
import { normalizeLayerPath } from "../../image/layer/entry.js";
import { readTar } from "../../image/layer/tar-reader.js";
import { READ_CHUNK_BYTES } from "../../util/read-chunk.js";
import { type Ownership, TargetTree } from "./target-tree.js";

export type ArchiveCompression = "gzip" | "bzip2" | "xz" | "zstd" | "none";

function compressionOf(head: Buffer): ArchiveCompression {
  if (head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head.subarray(0, 3).toString("latin1") === "BZh") return "bzip2";
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return "xz";
  if (head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return "zstd";
  return "none";
}

/** A tar header block: the checksum field matches the sum of the block with that field as spaces. */
function isTarHeader(block: Buffer): boolean {
  if (block.length < 512) return false;
  const field = block
    .subarray(148, 156)
    .toString("latin1")
    .replace(/[\0 ]+$/, "")
    .trim();
  if (!/^[0-7]+$/.test(field)) return false;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return sum === Number.parseInt(field, 8);
}

function decompress(source: Readable, compression: ArchiveCompression): Readable {
  switch (compression) {
    case "none":
      return source;
    case "gzip":
      return source.pipe(createGunzip());
    case "zstd":
      return source.pipe(createDecompressor("zstd"));
    default: {
      const child = spawn(compression === "bzip2" ? "bzip2" : "xz", ["-dc"], {
        stdio: ["pipe", "pipe", "ignore"],
      });
      const out = new PassThrough();
      source.on("error", (error) => out.destroy(error));
      child.on("error", (error) => out.destroy(error));
      child.stdin.on("error", () => {});
      source.pipe(child.stdin);
      child.stdout.pipe(out, { end: false });
      child.on("close", (code) => {
        if (code === 0) out.end();
        else out.destroy(new Error(`${compression} -dc exited with ${code}`));
      });
      return out;
    }
  }
}

/** The compression of `path` when it is a tar archive, else undefined. */
export async function detectArchive(path: string): Promise<ArchiveCompression | undefined> {
  const handle = await open(path, "r");
  let head: Buffer;
  try {
    head = Buffer.alloc(512);
    const { bytesRead } = await handle.read(head, 0, 512, 0);
    head = head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  const compression = compressionOf(head);
  if (compression === "none") return isTarHeader(head) ? "none" : undefined;
  try {
    const first = await readFirstBlock(
      decompress(createReadStream(path, { highWaterMark: READ_CHUNK_BYTES }), compression),
    );
    return isTarHeader(first) ? compression : undefined;
  } catch {
    return undefined;
  }
}

async function readFirstBlock(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      length += (chunk as Buffer).length;
      if (length >= 512) break;
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).subarray(0, 512);
}

export interface ExtractOptions {
  /** Owner of every extracted entry (`--chown`); default: the ids recorded in the archive. */
  owner?: Ownership;
  /** The same directory in the read-only view of the layers below, when it exists there. */
  lowerDir?: string;
}

/** Extracts the archive at `path` into `destDir` (an existing host directory). */
export async function extractArchive(
  path: string,
  compression: ArchiveCompression,
  destDir: string,
  options: ExtractOptions = {},
): Promise<void> {
  const tree = new TargetTree(destDir, options.lowerDir);
  const fail = (message: string, cause?: unknown) =>
    new CopyError("COPY_ARCHIVE", `cannot extract ${path}: ${message}`, { path, cause });
  try {
    for await (const { entry, body } of readTar(
      decompress(createReadStream(path, { highWaterMark: READ_CHUNK_BYTES }), compression),
    )) {
      let rel: string;
      try {
        rel = normalizeLayerPath(entry.path);
      } catch (error) {
        throw fail(`member ${JSON.stringify(entry.path)} leaves the destination`, error);
      }
      if (rel === "") continue;
      const slash = rel.lastIndexOf("/");
      const parent = await tree.mkdirAll(slash < 0 ? "" : rel.slice(0, slash), options.owner);
      const name = rel.slice(slash + 1);
      const meta = {
        mode: entry.mode,
        uid: options.owner?.uid ?? entry.uid,
        gid: options.owner?.gid ?? entry.gid,
        mtimeNs: BigInt(entry.mtime) * 1_000_000_000n,
      };
      switch (entry.type) {
        case "file":
          await tree.place(parent, name, { kind: "file", stream: body }, meta);
          break;
        case "directory":
          await tree.place(parent, name, { kind: "directory" }, meta);
          break;
        case "symlink":
          await tree.place(parent, name, { kind: "symlink", target: entry.linkname ?? "" }, meta);
          break;
        case "link": {
          const existing = tree.resolve(normalizeLayerPath(entry.linkname ?? ""), false);
          if (existing.stats === undefined || existing.stats.isDirectory() || existing.inLower) {
            throw fail(`hard link ${rel} points at ${entry.linkname}, which is not an earlier file`);
          }
          await tree.place(parent, name, { kind: "hardlink", existing: existing.rel }, meta);
          break;
        }
        default:
          await tree.place(
            parent,
            name,
            { kind: entry.type, major: entry.devmajor ?? 0, minor: entry.devminor ?? 0 },
            meta,
          );
      }
    }
    await tree.finish();
  } catch (error) {
    if (error instanceof CopyError) throw error;
    throw fail((error as Error).message, error);
  }
}

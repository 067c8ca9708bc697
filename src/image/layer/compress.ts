/**
 * Layer compression and decompression as streaming Transforms: gzip through node:zlib (level 6 by
 * default) and zstd through the `zstd` program (Node 20's zlib has no zstd), plus detection of a stream's
 * format from its magic bytes. Output is deterministic for a given input, level and zstd version: gzip
 * headers carry no name or mtime, and zstd runs with a fixed level and no size/progress variation.
 */
import { type ChildProcessByStdio, spawn, spawnSync } from "node:child_process";
import { Duplex, PassThrough, Readable, type Writable } from "node:stream";
import { createGunzip } from "node:zlib";
import { UsageError } from "../../errors.js";
import { OCI_LAYER_GZIP, OCI_LAYER_TAR, OCI_LAYER_ZSTD } from "../media-types.js";
import { LayerError, UnsupportedError } from "./errors.js";
import { ParallelGzip } from "./parallel-gzip.js";

export type Compression = "gzip" | "zstd" | "none";

export const DEFAULT_LEVELS: Record<Exclude<Compression, "none">, number> = { gzip: 6, zstd: 3 };

export function layerMediaType(compression: Compression): string {
  return compression === "gzip" ? OCI_LAYER_GZIP : compression === "zstd" ? OCI_LAYER_ZSTD : OCI_LAYER_TAR;
}

export function parseCompression(value: string): Compression {
  if (value === "gzip" || value === "zstd" || value === "none") return value;
  throw new UnsupportedError(`unknown compression ${JSON.stringify(value)}`, {
    hint: "use gzip, zstd or none",
  });
}

let zstdPath: string | null | undefined;

/** The `zstd` program on PATH, or undefined. */
export function findZstd(): string | undefined {
  if (zstdPath === undefined) {
    const probe = spawnSync("zstd", ["--version"], { stdio: "ignore" });
    zstdPath = probe.status === 0 ? "zstd" : null;
  }
  return zstdPath ?? undefined;
}

function requireZstd(): string {
  const program = findZstd();
  if (program === undefined) {
    throw new UnsupportedError("zstd compression needs the `zstd` program, which is not installed", {
      hint: "install it (apt-get install zstd; scripts/install-system-deps.sh) or use --compression gzip",
    });
  }
  return program;
}

/** A Transform (tar bytes in, compressed bytes out). `none` is a pass-through. */
export function createCompressor(compression: Compression, level?: number): Duplex {
  if (level !== undefined && compression !== "none") {
    const max = compression === "gzip" ? 9 : 19;
    if (!Number.isInteger(level) || level < 1 || level > max) {
      throw new UsageError(`invalid ${compression} compression level ${level}`, { hint: `use 1-${max}` });
    }
  }
  switch (compression) {
    case "gzip":
      // Blocks compressed on every core, written as consecutive gzip members (see parallel-gzip.ts).
      return new ParallelGzip(level ?? DEFAULT_LEVELS.gzip);
    case "zstd":
      // Single-threaded mode: its output depends only on input, level and version.
      return processTransform(requireZstd(), [
        `-${level ?? DEFAULT_LEVELS.zstd}`,
        "--single-thread",
        "-q",
        "-c",
        "--no-progress",
      ]);
    case "none":
      return passThrough();
  }
}

/** A Transform that decompresses `compression`. */
export function createDecompressor(compression: Compression): Duplex {
  switch (compression) {
    case "gzip":
      return createGunzip();
    case "zstd":
      return processTransform(requireZstd(), ["-d", "-q", "-c", "--no-progress"]);
    case "none":
      return passThrough();
  }
}

/** Detects gzip (1f 8b) or zstd (28 b5 2f fd) from the first bytes; anything else is taken as plain tar. */
export function detectCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) {
    return "zstd";
  }
  return "none";
}

/**
 * Peeks at the first bytes of `source` and returns a stream of the decompressed content (gzip, zstd or
 * plain). The peeked bytes are put back, so nothing is lost and nothing is buffered beyond one chunk.
 */
export async function openDecompressed(
  source: Readable,
): Promise<{ stream: Readable; compression: Compression }> {
  const iterator = source[Symbol.asyncIterator]();
  const first = await iterator.next();
  const head: Buffer = first.done ? Buffer.alloc(0) : (first.value as Buffer);
  const compression = detectCompression(head);
  async function* replay(): AsyncGenerator<Buffer> {
    try {
      if (head.length > 0) yield head;
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield next.value as Buffer;
      }
    } finally {
      // Abandoned early (or failed): release the source (closes its file).
      await iterator.return?.();
    }
  }
  const raw = Readable.from(replay(), { objectMode: false });
  if (compression === "none") return { stream: raw, compression };
  const decompressor = createDecompressor(compression);
  raw.on("error", (error) => decompressor.destroy(error));
  raw.pipe(decompressor);
  return { stream: decompressor, compression };
}

function passThrough(): Duplex {
  return new PassThrough({ highWaterMark: 64 * 1024 });
}

/**
 * Runs `program args` as a filter: writes go to its stdin, its stdout is readable. A non-zero exit is an
 * error on the stream (with the program's stderr).
 */
function processTransform(program: string, args: string[]): Duplex {
  const child: ChildProcessByStdio<Writable, Readable, Readable> = spawn(program, args, {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (text: string) => {
    if (stderr.length < 4096) stderr += text;
  });
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  const duplex = Duplex.from({
    writable: child.stdin,
    readable: endsAfterExit(child.stdout, exited, program, () => stderr),
  });
  child.on("error", (error) => duplex.destroy(error));
  duplex.on("close", () => {
    if (child.exitCode === null) child.kill();
  });
  return duplex;
}

/** stdout of a child, failing at its end if the child exited non-zero. */
async function* endsAfterExit(
  stdout: Readable,
  exited: Promise<number | null>,
  program: string,
  stderr: () => string,
): AsyncGenerator<Buffer> {
  for await (const chunk of stdout) yield chunk as Buffer;
  const code = await exited;
  if (code !== 0) throw new LayerError("COMPRESSION", `${program} failed (exit ${code}): ${stderr().trim()}`);
}

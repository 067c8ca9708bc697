/**
 * The build contexts the benchmark builds, generated at run time in a temp dir (nothing big is committed):
 * each gets its Dockerfile from fixtures/bench/build/ plus the files it COPYs. The big context is 20,000
 * small files in 200 directories plus larger files making ~200 MB in all, with base64-of-random content
 * (text-like, compresses to about 3/4: neither free nor worst case for gzip), written with streams.
 */
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { copyFileSync, createWriteStream, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "./peers.js";

const FIXTURES = path.join(REPO_ROOT, "fixtures", "bench", "build");

function withDockerfile(dir: string, fixture: string): string {
  mkdirSync(dir, { recursive: true });
  copyFileSync(path.join(FIXTURES, fixture), path.join(dir, "Dockerfile"));
  return dir;
}

/** Context for multistage.Dockerfile: config.txt (read by the tool stage) and src/ (final stage). */
export function makeMultistageContext(dir: string): string {
  withDockerfile(dir, "multistage.Dockerfile");
  writeFileSync(path.join(dir, "config.txt"), "mode=bench\n");
  mkdirSync(path.join(dir, "src"), { recursive: true });
  writeFileSync(path.join(dir, "src", "app.txt"), "app version 0\n");
  for (let i = 0; i < 20; i++) writeFileSync(path.join(dir, "src", `module-${i}.txt`), `module ${i}\n`);
  return dir;
}

/** The file the one-file-change rebuild edits in the multi-stage context. */
export const MULTISTAGE_CHANGED_FILE = path.join("src", "app.txt");

export function makeParallelContexts(root: string): { parallel: string; serial: string } {
  return {
    parallel: withDockerfile(path.join(root, "parallel"), "parallel.Dockerfile"),
    serial: withDockerfile(path.join(root, "serial"), "serial.Dockerfile"),
  };
}

export interface BigContextShape {
  smallFiles: number;
  smallFileBytes: number;
  totalBytes: number;
}

export const BIG_CONTEXT: BigContextShape = {
  smallFiles: Number(process.env.BENCH_BUILD_FILES ?? 20_000),
  smallFileBytes: 1024,
  totalBytes: Number(process.env.BENCH_BUILD_CONTEXT_MB ?? 200) * 1_000_000,
};

/** Random text: base64 of random bytes, `bytes` long. */
function randomText(bytes: number): Buffer {
  return Buffer.from(
    randomBytes(Math.ceil((bytes * 3) / 4))
      .toString("base64")
      .slice(0, bytes),
  );
}

async function writeLargeFile(file: string, bytes: number): Promise<void> {
  const out = createWriteStream(file);
  const chunk = 1 << 20;
  for (let written = 0; written < bytes; written += chunk) {
    if (!out.write(randomText(Math.min(chunk, bytes - written)))) await once(out, "drain");
  }
  out.end();
  await once(out, "close");
}

/** The big context: `smallFiles` files in 200 dirs, the rest of `totalBytes` in 10 MB files under blobs/. */
export async function makeBigContext(dir: string, shape: BigContextShape = BIG_CONTEXT): Promise<string> {
  withDockerfile(dir, "bigcontext.Dockerfile");
  const dirs = 200;
  const perDir = Math.ceil(shape.smallFiles / dirs);
  const pool = randomText(shape.smallFileBytes * 64);
  for (let i = 0; i < shape.smallFiles; i++) {
    const sub = path.join(dir, "src", `pkg-${String(Math.floor(i / perDir)).padStart(3, "0")}`);
    if (i % perDir === 0) mkdirSync(sub, { recursive: true });
    const offset = (i * 131) % (pool.length - shape.smallFileBytes);
    const header = `// file ${i}\n`;
    writeFileSync(
      path.join(sub, `file-${i}.txt`),
      Buffer.concat([
        Buffer.from(header),
        pool.subarray(offset, offset + shape.smallFileBytes - header.length),
      ]),
    );
  }
  const large = Math.max(0, shape.totalBytes - shape.smallFiles * shape.smallFileBytes);
  const largeFile = 10_000_000;
  mkdirSync(path.join(dir, "blobs"), { recursive: true });
  for (let i = 0, left = large; left > 0; i++, left -= largeFile) {
    await writeLargeFile(path.join(dir, "blobs", `data-${i}.bin`), Math.min(largeFile, left));
  }
  return dir;
}

/** The file the one-file-change rebuild edits in the big context. */
export const BIG_CONTEXT_CHANGED_FILE = path.join("src", "pkg-100", "file-10000.txt");

/**
 * Transfer benchmark: push and pull of a multi-layer image (default 5 × 100 MiB of random content, gzip
 * level 1, so nothing compresses further) between a data root and CNCF Distribution (`docker-registry`) on
 * loopback, Gantry (`pushImage`/`pullImage`) vs `skopeo copy` (oci: layout dir ↔ docker://), in one run.
 * Each round starts a fresh registry (so nothing is skipped or mounted), pushes then pulls, alternating who
 * goes first, with `sync` before every timed step; the best time of each is reported, with MB/s and Gantry's advantage (≥ 1.00 meets the target).
 * Run: `npm run bench -- transfer`. Knobs: BENCH_TRANSFER_LAYERS (5), BENCH_TRANSFER_LAYER_MB (100),
 * BENCH_TRANSFER_ROUNDS (4).
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { createGzip } from "node:zlib";
import { pullImage, pushImage } from "../../src/client/index.js";
import { ContentStore } from "../../src/image/content-store.js";
import { DigestingTransform } from "../../src/image/digest.js";
import { writeImage } from "../../src/image/image-builder.js";
import { OCI_LAYER_GZIP } from "../../src/image/media-types.js";
import { FsRepositoryStore } from "../../src/image/repository-store.js";
import type { Digest } from "../../src/image/store-types.js";
import { startDistribution } from "../registry/servers.js";

const run = promisify(execFile);
const MiB = 1 << 20;
const LAYERS = Number(process.env.BENCH_TRANSFER_LAYERS ?? 5);
const LAYER_MB = Number(process.env.BENCH_TRANSFER_LAYER_MB ?? 100);
const ROUNDS = Number(process.env.BENCH_TRANSFER_ROUNDS ?? 4);

/** A stream of `size` random bytes in 1 MiB chunks. */
function randomStream(size: number): Readable {
  let left = size;
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      const n = Math.min(MiB, left);
      left -= n;
      this.push(randomBytes(n));
    },
  });
}

async function makeImage(root: string): Promise<{ bytes: number }> {
  const blobs = await ContentStore.open(root);
  const repos = await FsRepositoryStore.open(root);
  const layers: Array<{ digest: Digest; size: number; diffId: Digest; mediaType: string }> = [];
  for (let i = 0; i < LAYERS; i++) {
    const diff = new DigestingTransform();
    const gzip = createGzip({ level: 1 });
    randomStream(LAYER_MB * MiB)
      .pipe(diff)
      .pipe(gzip);
    const info = await blobs.write(gzip);
    layers.push({ ...info, diffId: diff.digest, mediaType: OCI_LAYER_GZIP });
  }
  await writeImage(blobs, repos, {
    repository: "bench/big",
    tag: "1",
    platform: { os: "linux", architecture: "amd64" },
    created: new Date(0),
    layers,
  });
  return { bytes: layers.reduce((sum, l) => sum + l.size, 0) };
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

interface Times {
  push: number;
  pull: number;
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), "bench-transfer-"));
  try {
    const root = join(work, "root");
    process.stdout.write(`generating ${LAYERS} × ${LAYER_MB} MiB random layers (gzip -1)…\n`);
    const { bytes } = await makeImage(root);
    const layoutDir = join(work, "layout");
    await run("skopeo", ["copy", `oci:${root}:bench/big:1`, `oci:${layoutDir}:big`]);
    const best: Record<"gantry" | "skopeo", Times> = {
      gantry: { push: Infinity, pull: Infinity },
      skopeo: { push: Infinity, pull: Infinity },
    };
    for (let round = 1; round <= ROUNDS; round++) {
      const registry = await startDistribution();
      const host = new URL(registry.url).host;
      try {
        const order: Array<"gantry" | "skopeo"> =
          round % 2 === 1 ? ["gantry", "skopeo"] : ["skopeo", "gantry"];
        // Every timed step starts with the page cache flushed (`sync`), so nobody pays for the writeback of
        // the step before; pushes first, then pulls, each in alternating order.
        const times: Record<"gantry" | "skopeo", Times> = {
          gantry: { push: Infinity, pull: Infinity },
          skopeo: { push: Infinity, pull: Infinity },
        };
        for (const who of order) {
          await run("sync");
          times[who].push = await timed(() =>
            who === "gantry"
              ? pushImage({ root, source: "bench/big:1", destination: `${host}/gantry/big:${round}` })
              : run("skopeo", [
                  "copy",
                  "-q",
                  "--dest-tls-verify=false",
                  `oci:${layoutDir}:big`,
                  `docker://${host}/skopeo/big:${round}`,
                ]),
          );
        }
        for (const who of order) {
          const into = join(work, `${who}-pull-${round}`);
          await run("sync");
          times[who].pull = await timed(() =>
            who === "gantry"
              ? pullImage({ root: into, ref: `${host}/gantry/big:${round}` })
              : run("skopeo", [
                  "copy",
                  "-q",
                  "--src-tls-verify=false",
                  `docker://${host}/skopeo/big:${round}`,
                  `oci:${into}:big`,
                ]),
          );
          await rm(into, { recursive: true, force: true });
        }
        for (const who of order) {
          process.stdout.write(
            `  round ${round} ${who.padEnd(6)} push ${times[who].push.toFixed(2)} s, pull ${times[who].pull.toFixed(2)} s\n`,
          );
          best[who].push = Math.min(best[who].push, times[who].push);
          best[who].pull = Math.min(best[who].pull, times[who].pull);
        }
      } finally {
        await registry.stop();
      }
    }
    const mbps = (seconds: number) => bytes / MiB / seconds;
    const rows = (["push", "pull"] as const).map((kind) => {
      const g = mbps(best.gantry[kind]);
      const s = mbps(best.skopeo[kind]);
      return [
        `${kind} ${(bytes / MiB).toFixed(0)} MiB, ${LAYERS} layers (MB/s)`,
        g.toFixed(0),
        s.toFixed(0),
        `${(g / s).toFixed(2)}x${g >= s ? "" : "  (behind)"}`,
      ];
    });
    const header = ["figure", "gantry", "skopeo", "gantry advantage"];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (row: string[]) =>
      row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
    console.log(`\n${line(header)}\n${widths.map((w) => "-".repeat(w)).join("  ")}`);
    for (const row of rows) console.log(line(row));
    console.log("\nadvantage = gantry MB/s ÷ skopeo MB/s (best of the rounds); >= 1.00 meets the target.");
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();

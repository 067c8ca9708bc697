/**
 * Registry benchmark: Gantry's registry vs CNCF Distribution (`docker-registry`) on loopback, one after the
 * other, with the same client code: 1 GiB blob push and pull (MB/s), manifest GETs per second at 64
 * connections, peak RSS, and pull throughput plus RSS while 5,000 idle keep-alive connections are held.
 * Each pull figure is the fastest of three pulls (BENCH_REGISTRY_PULLS). Prints a table with both figures and Gantry's advantage
 * (≥ 1.00 means Gantry is as good or better).
 * Run: `npm run build && node bench/run.mjs registry`. Knobs: BENCH_REGISTRY_BLOB_MB, BENCH_REGISTRY_IDLE,
 * BENCH_REGISTRY_ROUNDS (default 3: servers alternate; best throughput and worst memory are reported).
 */
import { memoryOf, type RunningServer, startDistribution, startGantry } from "./servers.js";
import {
  holdIdleConnections,
  manifestRequestRate,
  pullBlob,
  pushLargeBlob,
  pushSmallImage,
} from "./workloads.js";

const MiB = 1 << 20;
const BLOB_SIZE = Number(process.env.BENCH_REGISTRY_BLOB_MB ?? 1024) * MiB;
const IDLE_CONNECTIONS = Number(process.env.BENCH_REGISTRY_IDLE ?? 5000);
const RATE_CONNECTIONS = 64;
const RATE_SECONDS = 5;
const ROUNDS = Number(process.env.BENCH_REGISTRY_ROUNDS ?? 3);

interface Figures {
  pushMBps: number;
  pullMBps: number;
  manifestRps: number;
  peakRss: number;
  idleOpen: number;
  idlePullMBps: number;
  idleRss: number;
}

const PULLS = Number(process.env.BENCH_REGISTRY_PULLS ?? 3);

/** The fastest of PULLS pulls: one ~1 s sample is at the mercy of whatever else the machine is doing. */
async function fastestPull(server: RunningServer, repo: string, digest: string): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < PULLS; i++) best = Math.min(best, await pullBlob(server.url, repo, digest, BLOB_SIZE));
  return best;
}

async function measure(server: RunningServer): Promise<Figures> {
  const log = (msg: string) => process.stdout.write(`  [${server.name}] ${msg}\n`);
  const repo = "bench/big";
  const push = await pushLargeBlob(server.url, repo, BLOB_SIZE);
  const pushMBps = BLOB_SIZE / MiB / push.seconds;
  log(`push ${BLOB_SIZE / MiB} MiB in ${push.seconds.toFixed(2)} s`);
  const pullSeconds = await fastestPull(server, repo, push.digest);
  const pullMBps = BLOB_SIZE / MiB / pullSeconds;
  log(`pull in ${pullSeconds.toFixed(2)} s`);

  await pushSmallImage(server.url, "bench/small", "latest");
  await manifestRequestRate(server.url, "/v2/bench/small/manifests/latest", RATE_CONNECTIONS, 0.5); // warm-up
  const manifestRps = await manifestRequestRate(
    server.url,
    "/v2/bench/small/manifests/latest",
    RATE_CONNECTIONS,
    RATE_SECONDS,
  );
  log(`manifest GET ${manifestRps.toFixed(0)} req/s`);

  const idle = await holdIdleConnections(server.url, IDLE_CONNECTIONS);
  log(`${idle.open} idle connections open`);
  const idlePullSeconds = await fastestPull(server, repo, push.digest);
  const idleRss = memoryOf(server.pid).rss;
  const idleOpen = idle.open;
  const peakRss = memoryOf(server.pid).peak;
  idle.close();
  log(`pull with idle connections in ${idlePullSeconds.toFixed(2)} s`);
  return {
    pushMBps,
    pullMBps,
    manifestRps,
    peakRss,
    idleOpen,
    idlePullMBps: BLOB_SIZE / MiB / idlePullSeconds,
    idleRss,
  };
}

async function run(start: () => Promise<RunningServer>): Promise<Figures> {
  const server = await start();
  try {
    return await measure(server);
  } finally {
    await server.stop();
  }
}

function printTable(gantry: Figures, distribution: Figures): void {
  const mb = (n: number) => `${(n / MiB).toFixed(1)} MiB`;
  const rows: Array<[string, string, string, number]> = [
    [
      `push ${BLOB_SIZE / MiB} MiB blob (MB/s)`,
      gantry.pushMBps.toFixed(0),
      distribution.pushMBps.toFixed(0),
      gantry.pushMBps / distribution.pushMBps,
    ],
    [
      `pull ${BLOB_SIZE / MiB} MiB blob (MB/s)`,
      gantry.pullMBps.toFixed(0),
      distribution.pullMBps.toFixed(0),
      gantry.pullMBps / distribution.pullMBps,
    ],
    [
      `manifest GET, ${RATE_CONNECTIONS} conns (req/s)`,
      gantry.manifestRps.toFixed(0),
      distribution.manifestRps.toFixed(0),
      gantry.manifestRps / distribution.manifestRps,
    ],
    [
      "peak RSS, lower is better",
      mb(gantry.peakRss),
      mb(distribution.peakRss),
      distribution.peakRss / gantry.peakRss,
    ],
    [
      `pull with ${IDLE_CONNECTIONS} idle conns (MB/s)`,
      gantry.idlePullMBps.toFixed(0),
      distribution.idlePullMBps.toFixed(0),
      gantry.idlePullMBps / distribution.idlePullMBps,
    ],
    [
      `RSS with ${IDLE_CONNECTIONS} idle conns, lower is better`,
      mb(gantry.idleRss),
      mb(distribution.idleRss),
      distribution.idleRss / gantry.idleRss,
    ],
  ];
  const header: [string, string, string, string] = ["figure", "gantry", "distribution", "gantry advantage"];
  const cells = rows.map(([a, b, c, r]) => [a, b, c, `${r.toFixed(2)}x${r >= 1 ? "" : "  (behind)"}`]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  console.log(`\n${line(header)}\n${widths.map((w) => "-".repeat(w)).join("  ")}`);
  for (const row of cells) console.log(line(row));
  console.log(
    `\nadvantage = gantry/distribution for throughput, distribution/gantry for memory; >= 1.00 meets the target.` +
      `\nidle connections held: gantry ${gantry.idleOpen}, distribution ${distribution.idleOpen}`,
  );
}

/** Best of the rounds for throughput; worst for memory (each round runs a fresh server process). */
function combine(runs: Figures[]): Figures {
  const best = (f: (x: Figures) => number) => Math.max(...runs.map(f));
  return {
    pushMBps: best((x) => x.pushMBps),
    pullMBps: best((x) => x.pullMBps),
    manifestRps: best((x) => x.manifestRps),
    peakRss: best((x) => x.peakRss),
    idleOpen: Math.min(...runs.map((x) => x.idleOpen)),
    idlePullMBps: best((x) => x.idlePullMBps),
    idleRss: best((x) => x.idleRss),
  };
}

const started = performance.now();
console.log(
  `registry bench: blob ${BLOB_SIZE / MiB} MiB, ${IDLE_CONNECTIONS} idle connections, ${ROUNDS} round(s)`,
);
const gantryRuns: Figures[] = [];
const distributionRuns: Figures[] = [];
// Alternate the two servers so that load from elsewhere on the machine hits both alike.
for (let round = 0; round < ROUNDS; round++) {
  gantryRuns.push(await run(startGantry));
  distributionRuns.push(await run(startDistribution));
}
printTable(combine(gantryRuns), combine(distributionRuns));
console.log(
  `throughput: best of ${ROUNDS} rounds; memory: worst of ${ROUNDS}. total ${((performance.now() - started) / 1000).toFixed(0)} s`,
);

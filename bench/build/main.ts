/**
 * Build benchmark: Gantry vs BuildKit (a hand-started dockerd) vs `buildah bud`, side by side in one run,
 * on the same busybox base image pulled from the same registry (Gantry's embedded one) via build arg BASE:
 *   - multi-stage (3 stages, ~50 MB of layers): cold, no-change rebuild, one-file-change rebuild, push;
 *   - big context (20,000 files + ~200 MB, `COPY . /app`): cold, no-change, one-file-change;
 *   - parallel stages (two independent `RUN sleep 2` stages) vs the same steps chained serially.
 * Every figure is wall time of the builder's CLI command (Gantry starts a fresh process each time; the
 * peers' daemons/stores stay warm). Cold = the builder's store was emptied first (base image pulled again).
 * Prints a table with ratios peer/gantry (> 1 means Gantry is faster) and the issue's targets.
 * Run: `npm run bench -- build`. Knobs: BENCH_BUILD_REPEAT (no-change runs, best of; default 3),
 * BENCH_BUILD_COLD_ROUNDS (cold builds, store emptied before each, best of; default 2),
 * BENCH_BUILD_FILES / BENCH_BUILD_CONTEXT_MB (big context shape), BENCH_BUILD_ONLY=multistage,big,parallel.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  BIG_CONTEXT,
  BIG_CONTEXT_CHANGED_FILE,
  MULTISTAGE_CHANGED_FILE,
  makeBigContext,
  makeMultistageContext,
  makeParallelContexts,
} from "./contexts.js";
import { type CommandResult, lastLines } from "./exec.js";
import {
  type BaseRegistry,
  type Builder,
  buildahBuilder,
  buildkitBuilder,
  gantryBuilder,
  gantryReportedSeconds,
  startBaseRegistry,
} from "./peers.js";
import { printParallel, printTable, type Row, type Target } from "./report.js";

const REPEAT = Math.max(1, Number(process.env.BENCH_BUILD_REPEAT ?? 3));
/** Cold builds per builder (store emptied before each, builders alternating), best of. */
const COLD_ROUNDS = Math.max(1, Number(process.env.BENCH_BUILD_COLD_ROUNDS ?? 2));
const CHANGE_ROUNDS = 2;
const PARALLEL_ROUNDS = 2;
const ONLY = new Set((process.env.BENCH_BUILD_ONLY ?? "multistage,big,parallel").split(","));

const rows: Row[] = [];
const builders: Builder[] = [];
const skipped: string[] = [];
let registry: BaseRegistry | undefined;
const workDir = mkdtempSync(path.join(os.tmpdir(), "bench-build-contexts-"));
const started = performance.now();
const log = (msg: string) => process.stdout.write(`${msg}\n`);

function row(label: string, target: Target): Row {
  const r: Row = { label, target, seconds: {} };
  rows.push(r);
  return r;
}

/** Records one sample; the row keeps the fastest successful one (and Gantry's own solve time with it). */
function record(r: Row, builder: Builder, result: CommandResult): void {
  const name = builder.name;
  if (!result.ok) {
    r.failed = { ...r.failed, [name]: true };
    log(
      `  [${name}] ${r.label} FAILED (exit ${result.code}):\n${lastLines(result.tail, 8).replace(/^/gm, "    ")}`,
    );
    return;
  }
  const best = r.seconds[name];
  if (best === undefined || result.seconds < best) {
    r.seconds[name] = result.seconds;
    if (name === "gantry") r.gantrySolve = gantryReportedSeconds(result.stdout + result.tail);
  }
  log(`  [${name}] ${r.label}: ${result.seconds.toFixed(2)} s`);
}

/**
 * Runs `fn` for each builder in turn, each after `sync`: the writeback of what the previous command (or the
 * context generator) left dirty must not land in the next builder's timing.
 */
async function eachBuilder(fn: (b: Builder) => Promise<void>): Promise<void> {
  for (const b of builders) {
    spawnSync("sync");
    await fn(b);
  }
}

/** cold, no-change and one-file-change builds of one context (and push when asked). */
async function buildCase(name: string, context: string, image: string, changedFile: string, push: boolean) {
  log(`\n--- ${name}`);
  const cold = row(`${name}: cold`, "cold");
  for (let i = 0; i < COLD_ROUNDS; i++) {
    await eachBuilder((b) => b.reset());
    await eachBuilder(async (b) => record(cold, b, await b.build(context, image)));
  }
  const noChange = row(`${name}: no-change rebuild`, "rebuild");
  for (let i = 0; i < REPEAT; i++) {
    await eachBuilder(async (b) => record(noChange, b, await b.build(context, image)));
  }
  const oneFile = row(`${name}: one-file-change rebuild`, "rebuild");
  for (let i = 1; i <= CHANGE_ROUNDS; i++) {
    writeFileSync(path.join(context, changedFile), `changed in round ${i} at ${Date.now()}\n`);
    await eachBuilder(async (b) => record(oneFile, b, await b.build(context, image)));
  }
  if (push) {
    const pushed = row(`${name}: push`, "push");
    await eachBuilder(async (b) => record(pushed, b, await b.push(image)));
  }
}

async function parallelCase(): Promise<{ par: Row; ser: Row }> {
  log("\n--- parallel stages");
  const { parallel, serial } = makeParallelContexts(path.join(workDir, "parallel"));
  // Untimed warm-up: the base image is local afterwards, so the timed --no-cache runs measure the stages.
  await eachBuilder(async (b) => {
    const r = await b.build(parallel, "bench/parallel");
    if (!r.ok) log(`  [${b.name}] warm-up failed:\n${lastLines(r.tail, 5)}`);
  });
  const par = row("parallel stages (--no-cache)", "none");
  const ser = row("same stages chained serially (--no-cache)", "none");
  for (let i = 0; i < PARALLEL_ROUNDS; i++) {
    await eachBuilder(async (b) =>
      record(par, b, await b.build(parallel, "bench/parallel", { noCache: true })),
    );
    await eachBuilder(async (b) => record(ser, b, await b.build(serial, "bench/serial", { noCache: true })));
  }
  return { par, ser };
}

async function startBuilders(base: BaseRegistry): Promise<void> {
  builders.push(gantryBuilder(base));
  const bk = await buildkitBuilder(base);
  if (typeof bk === "string") skipped.push(`buildkit: ${bk}`);
  else builders.push(bk);
  const ba = await buildahBuilder(base);
  if (typeof ba === "string") skipped.push(`buildah: ${ba}`);
  else builders.push(ba);
  for (const b of builders) log(`  ${b.name}: ${b.setup}`);
  for (const s of skipped) log(`  SKIPPED ${s}`);
}

function loadAverage(): string {
  return os
    .loadavg()
    .map((n) => n.toFixed(2))
    .join(" ");
}

let cleaningUp: Promise<void> | undefined;
function cleanUp(): Promise<void> {
  cleaningUp ??= (async () => {
    for (const b of builders.splice(0)) {
      await b.stop().catch((e: Error) => log(`  stopping ${b.name}: ${e.message}`));
    }
    await registry?.stop();
    rmSync(workDir, { recursive: true, force: true });
  })();
  return cleaningUp;
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    log(`\n${signal}: stopping everything this bench started`);
    void cleanUp().finally(() => process.exit(130));
  });
}

try {
  log(
    `build bench: cold best of ${COLD_ROUNDS}, no-change best of ${REPEAT}, one-file-change best of ${CHANGE_ROUNDS}, ${os.cpus().length} cores`,
  );
  registry = await startBaseRegistry();
  log(`  base image ${registry.base} (gantry registry pid ${registry.pid})`);
  await startBuilders(registry);
  if (ONLY.has("multistage")) {
    const ctx = makeMultistageContext(path.join(workDir, "multistage"));
    await buildCase("multi-stage", ctx, "bench/ms", MULTISTAGE_CHANGED_FILE, true);
  }
  if (ONLY.has("big")) {
    const t = performance.now();
    const ctx = await makeBigContext(path.join(workDir, "big"));
    log(
      `\n  generated big context: ${BIG_CONTEXT.smallFiles} small files + ${BIG_CONTEXT.totalBytes / 1e6} MB in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
    await buildCase("big context", ctx, "bench/big", BIG_CONTEXT_CHANGED_FILE, false);
  }
  const parallel = ONLY.has("parallel") ? await parallelCase() : undefined;
  const names = builders.map((b) => b.name);
  printTable(rows, names);
  if (parallel) printParallel(parallel.par, parallel.ser, names);
  for (const s of skipped) log(`not measured: ${s}`);
  log(`load average at the end ${loadAverage()} (other work on the machine makes every figure noisier)`);
} finally {
  await cleanUp();
  log(`total ${((performance.now() - started) / 1000).toFixed(0)} s`);
}

/**
 * `gantry prune` on a real data root after real builds: --dry-run changes nothing, --filter until= removes
 * exactly the records unused for longer, --keep-storage removes least recently used records first until the
 * cache fits, a full prune leaves tagged images intact (umoci still unpacks them), and a running build's
 * lease protects the records it uses (the build finishes, and its result is cached afterwards).
 */
import { execFile, spawn } from "node:child_process";
import { cp, mkdtemp, readdir, readFile, rm, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PruneReport } from "../src/cache/prune.js";
import type { CacheRecord } from "../src/cache/records.js";
import type { ProgressEvent } from "../src/executor/progress.js";
import { hasBlob } from "../src/executor/types.js";
import { haveBusybox, isRoot, REPO_ROOT } from "./helpers/busybox-image.js";
import { CiRunner, GANTRY, rebuilt } from "./helpers/ci-runner.js";

const run = promisify(execFile);
const enabled = haveBusybox && isRoot;
const HOUR = 3_600_000;

let work: string;
let runner: CiRunner;
let ctx: string;
let slow: string;

const recordsDir = () => join(runner.root, "cache", "records");

async function records(): Promise<Map<string, CacheRecord>> {
  const byFile = new Map<string, CacheRecord>();
  for (const name of (await readdir(recordsDir())).filter((n) => n.endsWith(".json")).sort()) {
    byFile.set(name, JSON.parse(await readFile(join(recordsDir(), name), "utf8")));
  }
  return byFile;
}

async function blobs(): Promise<string[]> {
  return (await readdir(join(runner.root, "blobs", "sha256"))).sort();
}

async function prune(...args: string[]): Promise<PruneReport> {
  const result = await runner.gantry(["prune", "--format", "json", ...args]);
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as PruneReport;
}

/** Sets when each record was last used (the record file's mtime is its LRU clock). */
async function setLastUsed(names: string[], when: (index: number) => number): Promise<void> {
  for (const [i, name] of names.entries()) {
    const at = new Date(when(i));
    await utimes(join(recordsDir(), name), at, at);
  }
}

const layerBytes = (list: CacheRecord[]) => {
  const sizes = new Map(
    list.flatMap((r) =>
      r.layer === null
        ? []
        : hasBlob(r.layer)
          ? [[r.layer.digest as string, r.layer.size] as const]
          : [[r.layer.snapshot, r.layer.contentSize] as const],
    ),
  );
  return [...sizes.values()].reduce((sum, size) => sum + size, 0);
};

beforeAll(async () => {
  if (!enabled) return;
  work = await mkdtemp(join(tmpdir(), "gantry-cache-prune-"));
  runner = await CiRunner.create("p", join(work, "root"));
  ctx = join(work, "app");
  slow = join(work, "slow");
  await cp(join(REPO_ROOT, "fixtures", "ci", "app"), ctx, { recursive: true });
  await cp(join(REPO_ROOT, "fixtures", "ci", "slow"), slow, { recursive: true });
  const built = await runner.build(ctx, "-t", "ci/app:1");
  expect(built.code).toBe(0);
}, 180_000);

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe.skipIf(!enabled)("gantry prune", () => {
  it("--dry-run reports what it would remove and changes nothing", async () => {
    const before = { records: [...(await records()).keys()], blobs: await blobs() };
    expect(before.records).toHaveLength(13);
    const report = await prune("--dry-run");
    expect(report).toMatchObject({ dryRun: true, recordsRemoved: 13, recordsKept: 0 });
    expect([...(await records()).keys()]).toEqual(before.records);
    expect(await blobs()).toEqual(before.blobs);
  });

  it("--filter until= removes exactly the records unused for longer", async () => {
    const names = [...(await records()).keys()];
    const now = Date.now();
    // The first five were last used two days ago, the rest an hour ago.
    await setLastUsed(names, (i) => (i < 5 ? now - 48 * HOUR : now - HOUR));
    const report = await prune("--filter", "until=24h");
    expect(report).toMatchObject({ dryRun: false, recordsRemoved: 5, recordsKept: 8 });
    expect([...(await records()).keys()]).toEqual(names.slice(5));
  });

  it("--keep-storage removes least recently used records first until the cache fits", async () => {
    const kept = await records();
    const names = [...kept.keys()];
    const now = Date.now();
    // Oldest first in file-name order; the limit is what the newest half of the records hold.
    await setLastUsed(names, (i) => now - (names.length - i) * HOUR);
    const newest = names.slice(Math.floor(names.length / 2)).map((n) => kept.get(n)!);
    const limit = layerBytes(newest);
    const report = await prune("--keep-storage", String(limit));
    expect(report.cacheBytes).toBeLessThanOrEqual(limit);
    expect(report.recordsRemoved).toBeGreaterThan(0);
    const left = [...(await records()).keys()];
    // What is left is the most recently used suffix.
    expect(left).toEqual(names.slice(names.length - left.length));
    expect(left.length).toBeGreaterThanOrEqual(newest.length);
  });

  it("a full prune leaves tagged images intact: umoci still unpacks them", async () => {
    const report = await prune();
    expect(report.recordsKept).toBe(0);
    expect(await records()).toEqual(new Map());
    const bundle = join(work, "bundle");
    await run("umoci", ["unpack", "--image", `${runner.root}:ci/app:1`, bundle]);
    expect(await readFile(join(bundle, "rootfs", "app", "app.out"), "utf8")).toContain("version 1.0.0");
    expect(await readFile(join(bundle, "rootfs", "app", "ready"), "utf8")).toBe("ready\n");
  });

  it("a running build's lease protects the records it uses", async () => {
    const first = await runner.build(slow, "--build-arg", "NONCE=1");
    expect(first.code).toBe(0);
    const before = await records();
    expect(before.size).toBe(2);
    // Both records look ancient: only the lease can save one of them.
    await setLastUsed([...before.keys()], () => Date.now() - 72 * HOUR);
    const baseRecord = [...before].find(([, r]) => r.name.includes("echo base"))![0];
    const nonceRecord = [...before].find(([, r]) => r.name.includes("sleep"))![0];

    const child = spawn(
      process.execPath,
      [GANTRY, "--root", runner.root, "build", slow, "--progress", "json", "--build-arg", "NONCE=2"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      // Wait until the build is inside its slow RUN (the cached step has been used by then).
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("the build never reached its slow step")), 60_000);
        createInterface({ input: child.stdout! }).on("line", (line) => {
          if (!line.startsWith("{")) return;
          const event = JSON.parse(line) as ProgressEvent;
          if (event.type === "vertex" && event.name.includes("sleep 4") && event.status === "running") {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      const report = await prune();
      expect(report.recordsRemoved).toBe(1);
      const during = await records();
      expect(during.has(baseRecord)).toBe(true);
      expect(during.has(nonceRecord)).toBe(false);
    } finally {
      // Never leave the build running (its overlay mount would outlive the test).
      const code = await exited;
      expect(code).toBe(0);
    }

    // The running build's result survived: the same build again is fully cached.
    const again = await runner.build(slow, "--build-arg", "NONCE=2");
    expect(again.code).toBe(0);
    expect(rebuilt(again.events)).toEqual([]);
  }, 90_000);
});

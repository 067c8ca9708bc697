/**
 * Layers kept as snapshots (executor/snapshot-blobs.ts) through bin/gantry with real runc and overlayfs:
 * a stage that only feeds `COPY --from` gets no blob, the image's layers all do; a later build of that
 * stage writes its blob from the kept snapshot, byte for byte what a fresh build with the copying
 * snapshotter (which writes every blob at once, from its own tree diff) writes; a rerun gets its own
 * snapshot and prune removes orphans; the copying snapshotter reruns a step kept only as a snapshot; a
 * kept snapshot that is gone makes its step run again.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CacheRecord } from "../src/cache/records.js";
import { hasBlob } from "../src/executor/types.js";
import { BUSYBOX_REF, haveBusybox, isRoot } from "./helpers/busybox-image.js";
import { type CliBuildDir, cliBuildDir, GANTRY } from "./helpers/cli-build.js";

const run = promisify(execFile);

const DOCKERFILE = `FROM ${BUSYBOX_REF} AS gen
RUN mkdir -p /data/sub && echo generated > /data/file && head -c 300000 /dev/zero > /data/sub/zeros && rm -rf /tmp
FROM ${BUSYBOX_REF}
COPY --from=gen /data /data
RUN cat /data/file > /copied
`;

let work: CliBuildDir;
let fresh: CliBuildDir;

beforeAll(async () => {
  process.env.SOURCE_DATE_EPOCH = "1700000000";
  work = await cliBuildDir("snapblobs", { busybox: true });
  fresh = await cliBuildDir("snapblobs-fresh", { busybox: true });
}, 120_000);

afterAll(async () => {
  delete process.env.SOURCE_DATE_EPOCH;
  await work.dispose();
  await fresh.dispose();
});

async function recordsOf(root: string): Promise<CacheRecord[]> {
  const dir = join(root, "cache", "records");
  const names = (await readdir(dir)).filter((name) => name.endsWith(".json"));
  return Promise.all(names.map(async (name) => JSON.parse(await readFile(join(dir, name), "utf8"))));
}

async function recordNamed(root: string, prefix: string): Promise<CacheRecord> {
  const found = (await recordsOf(root)).filter((record) => record.name.startsWith(prefix));
  expect(found).toHaveLength(1);
  return found[0]!;
}

const blobExists = (root: string, digest: string) =>
  existsSync(join(root, "blobs", "sha256", digest.slice("sha256:".length)));

const summaryOf = (events: Array<Record<string, unknown>>) => events.find((e) => e.type === "summary")!;
const statusOf = (events: Array<Record<string, unknown>>, prefix: string) =>
  events.filter((e) => e.type === "vertex" && String(e.name).startsWith(prefix)).at(-1)?.status;

describe.runIf(haveBusybox && isRoot)("layers kept as snapshots", () => {
  it("a stage that only feeds COPY --from gets no blob; every layer of the image does", async () => {
    const { out, events } = await work.build(DOCKERFILE);
    expect(await readFile(join(out, "copied"), "utf8")).toBe("generated\n");
    const gen = await recordNamed(work.root, "[gen 1/1] RUN");
    expect(gen.layer).not.toBeNull();
    expect(hasBlob(gen.layer!)).toBe(false);
    expect(gen.layer!.snapshot).toMatch(/^s-[0-9a-f]{64}$/);
    expect(gen.layer!.snapshot!.slice(2, 34)).toBe(gen.key.slice("sha256:".length, "sha256:".length + 32));
    expect(
      existsSync(join(work.root, "snapshots", "layers", gen.layer!.snapshot!, "fs", "data", "file")),
    ).toBe(true);
    for (const prefix of ["[stage-1 1/2] COPY", "[stage-1 2/2] RUN"]) {
      const record = await recordNamed(work.root, prefix);
      expect(hasBlob(record.layer!), prefix).toBe(true);
      expect(blobExists(work.root, record.layer!.digest!), prefix).toBe(true);
    }
    expect(summaryOf(events).status).toBe("done");
  });

  it("building that stage later writes its blob from the kept snapshot, the same as a fresh build", async () => {
    const later = await work.build(DOCKERFILE, "--target", "gen");
    expect(statusOf(later.events, "[gen 1/1] RUN")).toBe("cached");
    const gen = await recordNamed(work.root, "[gen 1/1] RUN");
    // The record now names the blob (and still the snapshot), so the next build need not write it again.
    expect(hasBlob(gen.layer!)).toBe(true);
    expect(blobExists(work.root, gen.layer!.digest!)).toBe(true);
    expect(gen.layer!.snapshot).toMatch(/^s-/);

    // The copying snapshotter keeps no snapshots: it writes the blob from its own tree diff, at once.
    const direct = await fresh.build(DOCKERFILE, "--target", "gen", "--snapshotter", "copy");
    expect(statusOf(direct.events, "[gen 1/1] RUN")).toBe("done");
    expect(summaryOf(later.events).digest).toBe(summaryOf(direct.events).digest);
    expect((await recordNamed(fresh.root, "[gen 1/1] RUN")).layer!.diffId).toBe(gen.layer!.diffId);
  });

  it("a step run again (--no-cache) gets its own snapshot; prune removes the one no record names", async () => {
    const stamp = `FROM ${BUSYBOX_REF} AS gen\nRUN head -c 8 /dev/urandom | od -x > /stamp\nFROM ${BUSYBOX_REF}\nCOPY --from=gen /stamp /stamp\n`;
    const first = await work.build(stamp);
    const again = await work.build(stamp, "--no-cache");
    // The rerun's own output reaches the image, not the directory the first run left under the same key.
    const [a, b] = await Promise.all([first, again].map((r) => readFile(join(r.out, "stamp"), "utf8")));
    expect(b).not.toBe(a);
    const layers = join(work.root, "snapshots", "layers");
    const named = (await recordNamed(work.root, "[gen 1/1] RUN head -c 8")).layer!.snapshot!;
    const sameStep = (await readdir(layers)).filter((n) => n.startsWith(named.slice(0, 34)));
    expect(sameStep.length).toBe(2);
    const pruned = await run(process.execPath, [
      GANTRY,
      "--root",
      work.root,
      "prune",
      "--filter",
      "until=24h",
    ]);
    expect(pruned.stdout).toContain("unpacked layers");
    expect((await readdir(layers)).filter((n) => n.startsWith(named.slice(0, 34)))).toEqual([named]);
  });

  it("the copying snapshotter, which keeps no snapshots, runs a step recorded only as a snapshot again", async () => {
    const other = DOCKERFILE.replace("generated", "copied-by-copy");
    await work.build(other);
    const gen = await recordNamed(work.root, "[gen 1/1] RUN mkdir -p /data/sub && echo copied-by-copy");
    expect(hasBlob(gen.layer!)).toBe(false);
    const copying = await work.build(other, "--snapshotter", "copy");
    expect(statusOf(copying.events, "[gen 1/1] RUN")).toBe("done");
    expect(await readFile(join(copying.out, "copied"), "utf8")).toBe("copied-by-copy\n");
  });

  it("a kept snapshot that is gone makes its step run again", async () => {
    const other = DOCKERFILE.replace("generated", "regenerated");
    await work.build(other);
    const gen = await recordNamed(work.root, "[gen 1/1] RUN mkdir -p /data/sub && echo regenerated");
    expect(hasBlob(gen.layer!)).toBe(false);
    await rm(join(work.root, "snapshots", "layers", gen.layer!.snapshot!), { recursive: true });
    const again = await work.build(other);
    expect(statusOf(again.events, "[gen 1/1] RUN")).toBe("done");
    expect(await readFile(join(again.out, "copied"), "utf8")).toBe("regenerated\n");
  });
});

/**
 * Cache mounts travel with the registry cache, opt-in per id: runner A's `RUN --mount=type=cache,id=ci-log`
 * appends to a file in the mount and exports it with `--cache-to …,mount=ci-log`; runner B (another data
 * root) imports it with `--cache-from` and its RUN sees A's content. The mount layer is deterministic, so
 * an unchanged mount is not sent again; without `mount=` nothing of the mount leaves the machine; local
 * content is never overwritten by an import.
 */
import { cp, mkdtemp, readdir, rm, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CacheDocument } from "../src/cache/remote.js";
import { cacheMountDir } from "../src/executor/mounts.js";
import type { ProgressEvent, VertexEvent } from "../src/executor/progress.js";
import { haveBusybox, isRoot, REPO_ROOT } from "./helpers/busybox-image.js";
import { CiRunner, rebuilt, warnings } from "./helpers/ci-runner.js";
import { type StartedRegistry, startRegistry } from "./helpers/registry.js";

const FIXTURE = join(REPO_ROOT, "fixtures", "ci", "mount");
const enabled = haveBusybox && isRoot;

let work: string;
let registry: StartedRegistry;
let a: CiRunner;
let b: CiRunner;
let ctx: string;
let host: string;

/** What the RUN printed (the cache mount's log file after its append). */
function runOutput(events: ProgressEvent[]): string[] {
  return events.flatMap((e) => (e.type === "log" ? [e.line] : []));
}

function exported(events: ProgressEvent[]): string | undefined {
  return events.find(
    (e): e is VertexEvent => e.type === "vertex" && e.id.startsWith("cache-to:") && e.status === "done",
  )?.name;
}

async function registryDocument(repository: string, tag: string): Promise<CacheDocument> {
  const response = await fetch(`${registry.url}/v2/${repository}/manifests/${tag}`, {
    headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
  });
  const manifest = (await response.json()) as { config: { digest: string } };
  const config = await fetch(`${registry.url}/v2/${repository}/blobs/${manifest.config.digest}`);
  return (await config.json()) as CacheDocument;
}

beforeAll(async () => {
  if (!enabled) return;
  work = await mkdtemp(join(tmpdir(), "gantry-ci-mounts-"));
  registry = await startRegistry();
  host = new URL(registry.url).host;
  [a, b] = await Promise.all([
    CiRunner.create("a", join(work, "root-a")),
    CiRunner.create("b", join(work, "root-b")),
  ]);
  ctx = join(work, "ctx");
  await cp(FIXTURE, ctx, { recursive: true });
}, 120_000);

afterAll(async () => {
  await registry?.dispose();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe.skipIf(!enabled)("cache mounts travel through the registry cache", () => {
  let mountDigest: string;

  it("runner A exports the mount's content as a layer when asked (mount=ci-log)", async () => {
    const result = await a.build(
      ctx,
      "--build-arg",
      "RUNNER=a",
      "--cache-to",
      `type=registry,ref=${host}/cache/mount:main,mount=ci-log`,
      "--cache-to",
      `type=registry,ref=${host}/cache/mount:no-mounts`,
    );
    expect(result.code).toBe(0);
    expect(warnings(result.events)).toEqual([]);
    expect(runOutput(result.events)).toEqual(["run on a"]);
    const document = await registryDocument("cache/mount", "main");
    expect(Object.keys(document.mounts)).toEqual(["ci-log"]);
    mountDigest = document.mounts["ci-log"]!.digest;
    expect(mountDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    // Opt-in: the export without mount= carries the records only.
    expect((await registryDocument("cache/mount", "no-mounts")).mounts).toEqual({});
  });

  it("runner B's RUN sees runner A's cache mount content", async () => {
    const result = await b.build(
      ctx,
      "--build-arg",
      "RUNNER=b",
      "--cache-from",
      `type=registry,ref=${host}/cache/mount:main`,
    );
    expect(result.code).toBe(0);
    expect(warnings(result.events)).toEqual([]);
    expect(rebuilt(result.events)).toHaveLength(1); // RUNNER differs: the RUN itself runs
    expect(runOutput(result.events)).toEqual(["run on a", "run on b"]);
    expect(
      result.events.some(
        (e) => e.type === "vertex" && e.name.startsWith("cache mount ci-log: imported from"),
      ),
    ).toBe(true);
  });

  it("an import never overwrites a cache mount that already has content", async () => {
    const result = await b.build(
      ctx,
      "--build-arg",
      "RUNNER=b2",
      "--cache-from",
      `type=registry,ref=${host}/cache/mount:main`,
    );
    expect(result.code).toBe(0);
    expect(runOutput(result.events)).toEqual(["run on a", "run on b", "run on b2"]);
    expect(
      result.events.some((e) => e.type === "vertex" && e.name === "cache mount ci-log: local content kept"),
    ).toBe(true);
  });

  it("an unchanged mount (even with new mtimes) gives the same layer digest and is not sent again", async () => {
    const dir = cacheMountDir(a.root, "ci-log");
    const later = new Date(Date.now() + 7_200_000);
    for (const name of await readdir(dir)) await utimes(join(dir, name), later, later);
    await utimes(dir, later, later);
    const result = await a.build(
      ctx,
      "--build-arg",
      "RUNNER=a",
      "--cache-to",
      `type=registry,ref=${host}/cache/mount:main,mount=ci-log`,
    );
    expect(result.code).toBe(0);
    expect(rebuilt(result.events)).toEqual([]);
    expect(exported(result.events)).toMatch(/0 layers sent/);
    expect((await registryDocument("cache/mount", "main")).mounts["ci-log"]!.digest).toBe(mountDigest);
  });

  it("a changed mount is exported again and reaches a third runner", async () => {
    const changed = await b.build(
      ctx,
      "--build-arg",
      "RUNNER=b3",
      "--cache-to",
      `type=registry,ref=${host}/cache/mount:main,mount=ci-log`,
    );
    expect(changed.code).toBe(0);
    // The new RUN layer and the new mount layer.
    expect(exported(changed.events)).toMatch(/2 layers sent/);
    expect((await registryDocument("cache/mount", "main")).mounts["ci-log"]!.digest).not.toBe(mountDigest);
    const c = await CiRunner.create("c", join(work, "root-c"));
    const result = await c.build(
      ctx,
      "--build-arg",
      "RUNNER=c",
      "--cache-from",
      `type=registry,ref=${host}/cache/mount:main`,
    );
    expect(runOutput(result.events)).toEqual(["run on a", "run on b", "run on b2", "run on b3", "run on c"]);
  });

  it("asking for a mount this machine never used is a warning", async () => {
    const result = await a.build(
      ctx,
      "--build-arg",
      "RUNNER=a",
      "--cache-to",
      `type=registry,ref=${host}/cache/mount:other,mount=never-used`,
    );
    expect(result.code).toBe(0);
    expect(warnings(result.events)).toEqual([
      "cache mount never-used was never used on this machine; not exported",
    ]);
  });
});

/**
 * Two CI runners that share only a registry (Gantry's own, on 127.0.0.1): runner A builds the three-stage
 * fixture with --cache-to, runner B — another data root, the context checked out elsewhere — builds the
 * same commit with --cache-from and gets every step from the cache with an identical image digest; mtime
 * noise and (with --normalize-permissions) umask noise keep it fully cached; one changed file reruns only
 * what depends on it, and --explain-cache names the file against runner A's record.
 */
import { chmod, cp, mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { haveBusybox, isRoot, REPO_ROOT } from "./helpers/busybox-image.js";
import { CiRunner, finalSteps, missesOf, rebuilt, statuses, warnings } from "./helpers/ci-runner.js";
import { type StartedRegistry, startRegistry } from "./helpers/registry.js";

const FIXTURE = join(REPO_ROOT, "fixtures", "ci", "app");
const enabled = haveBusybox && isRoot;

let work: string;
let registry: StartedRegistry;
let a: CiRunner;
let b: CiRunner;
let ctxA: string;
let ctxB: string;
let cacheRef: string;

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

beforeAll(async () => {
  if (!enabled) return;
  work = await mkdtemp(join(tmpdir(), "gantry-ci-cache-"));
  registry = await startRegistry();
  cacheRef = `${new URL(registry.url).host}/cache/app:main`;
  [a, b] = await Promise.all([
    CiRunner.create("a", join(work, "root-a")),
    CiRunner.create("b", join(work, "root-b")),
  ]);
  ctxA = join(work, "runner-a", "checkout");
  ctxB = join(work, "elsewhere", "b", "src");
  await cp(FIXTURE, ctxA, { recursive: true });
  await cp(FIXTURE, ctxB, { recursive: true });
}, 120_000);

afterAll(async () => {
  await registry?.dispose();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe.skipIf(!enabled)("two CI runners sharing a registry cache", () => {
  let digestA: string;

  it("runner A builds cold and exports every stage's cache to the registry", async () => {
    const result = await a.build(
      ctxA,
      "--normalize-permissions",
      "--cache-to",
      `type=registry,ref=${cacheRef}`,
    );
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(warnings(result.events)).toEqual([]);
    expect(rebuilt(result.events).length).toBe(finalSteps(result.events).size);
    expect(finalSteps(result.events).size).toBe(13);
    digestA = result.digest!;
    const exported = result.events.find(
      (e) => e.type === "vertex" && e.id.startsWith("cache-to:") && e.status === "done",
    );
    expect(exported).toBeDefined();
  });

  it("runner B (other root, other checkout path) is fully cached with the identical digest", async () => {
    const result = await b.build(
      ctxB,
      "--normalize-permissions",
      "--cache-from",
      `type=registry,ref=${cacheRef}`,
    );
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(rebuilt(result.events)).toEqual([]);
    expect(finalSteps(result.events).size).toBe(13);
    expect(result.digest).toBe(digestA);
    // COPY --from was keyed by the source digests runner A remembered: no stage was unpacked to hash it.
    expect(await readdir(join(b.root, "snapshots", "layers")).catch(() => [])).toEqual([]);
  });

  it("touching every mtime in B's checkout keeps it fully cached", async () => {
    const when = new Date(Date.now() + 3_600_000);
    for (const file of await filesUnder(ctxB)) await utimes(file, when, when);
    const result = await b.build(
      ctxB,
      "--normalize-permissions",
      "--cache-from",
      `type=registry,ref=${cacheRef}`,
    );
    expect(result.code).toBe(0);
    expect(rebuilt(result.events)).toEqual([]);
    expect(result.digest).toBe(digestA);
  });

  it("with --normalize-permissions, sources chmod 664 (another umask) stay fully cached", async () => {
    for (const file of await filesUnder(ctxB)) {
      if (!relative(ctxB, file).endsWith(".sh")) await chmod(file, 0o664);
      else await chmod(file, 0o775);
    }
    const result = await b.build(
      ctxB,
      "--normalize-permissions",
      "--cache-from",
      `type=registry,ref=${cacheRef}`,
    );
    expect(result.code).toBe(0);
    expect(rebuilt(result.events)).toEqual([]);
    expect(result.digest).toBe(digestA);
  });

  it("one changed file reruns only the steps that depend on it, and --explain-cache names it", async () => {
    await writeFile(join(ctxB, "src", "lib", "util.txt"), "util: helpers, faster\n");
    const result = await b.build(
      ctxB,
      "--normalize-permissions",
      "--cache-from",
      `type=registry,ref=${cacheRef}`,
      "--explain-cache",
    );
    expect(result.code).toBe(0);
    const byStep = statuses(result.events).map(([name, status]) => [
      name.replace(/^\[[^\]]*\] /, ""),
      status,
    ]);
    expect(byStep).toEqual(
      expect.arrayContaining([
        ["WORKDIR /deps", "cached"],
        ["COPY deps/ ./", "cached"],
        [expect.stringMatching(/^RUN sort packages.txt/), "cached"],
        ["WORKDIR /src", "cached"],
        ["COPY --from=deps /deps/resolved.txt ./", "cached"],
        ["COPY src/ ./", "done"],
        ["COPY scripts/build.sh ./", "done"],
        [expect.stringMatching(/^RUN sh build.sh/), "done"],
        ["WORKDIR /app", "cached"],
        ["COPY config/app.conf ./", "cached"],
        ["COPY --from=deps /deps/resolved.txt ./deps.txt", "cached"],
        ["COPY --from=build /src/app.out ./", "done"],
        ["RUN echo ready > /app/ready", "done"],
      ]),
    );
    expect(rebuilt(result.events).length).toBe(5);
    const copySrc = [...finalSteps(result.events).keys()].find((name) => name.endsWith("COPY src/ ./"))!;
    const miss = missesOf(result.events, copySrc);
    expect(miss?.map((m) => [m.kind, m.subject])).toEqual([["file", "lib/util.txt"]]);
    expect(miss?.[0]?.before).toMatch(/^sha256:/);
    expect(miss?.[0]?.after).toMatch(/^sha256:/);
    expect(miss?.[0]?.before).not.toBe(miss?.[0]?.after);
    expect(result.digest).not.toBe(digestA);
  });

  it("a fresh runner explains the miss against runner A's record that came through the registry", async () => {
    const c = await CiRunner.create("c", join(work, "root-c"));
    const result = await c.build(
      ctxB,
      "--progress",
      "plain",
      "--normalize-permissions",
      "--cache-from",
      `type=registry,ref=${cacheRef}`,
      "--explain-cache",
    );
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(
      /COPY src\/ \.\/[\s\S]*file lib\/util\.txt changed \(sha256:[0-9a-f]{12} → sha256:[0-9a-f]{12}\)/,
    );
    expect(result.stderr).not.toContain("no earlier build of this step");
  });
});

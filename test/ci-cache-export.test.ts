/**
 * Cache export as CI sees it: an unchanged cache is exported again without sending a single blob (every
 * request the registry receives is counted through its metrics hooks); an export that fails (registry
 * down, push unauthorized) is a warning and the build succeeds; type=local round-trips; mode=min carries
 * only the target stage's records.
 */

import { cp, mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CacheDocument } from "../src/cache/remote.js";
import type { VertexEvent } from "../src/executor/progress.js";
import type { Authorizer } from "../src/registry/auth/types.js";
import type { RegistryMetrics } from "../src/registry/metrics-types.js";
import { haveBusybox, isRoot, REPO_ROOT } from "./helpers/busybox-image.js";
import { CiRunner, finalSteps, rebuilt, warnings } from "./helpers/ci-runner.js";
import { type StartedRegistry, startRegistry } from "./helpers/registry.js";

const FIXTURE = join(REPO_ROOT, "fixtures", "ci", "app");
const enabled = haveBusybox && isRoot;

/** Every request the registry answered: method + route name (`upload_start`, `blob_head`, …). */
const requests: Array<{ method: string; route: string; status: number }> = [];
const recorder: RegistryMetrics = {
  observeRequest(method, route, status) {
    requests.push({ method, route, status });
  },
  uploadStarted() {},
  uploadFinished() {},
  render: () => "",
};

/** Pull for anyone, push for no one: the CI job has read-only credentials. */
const readOnly: Authorizer = {
  async authorize(_req, access) {
    const push = access.some((a) => (a.actions as string[]).some((action) => action !== "pull"));
    if (push) return { ok: false, status: 401, challenge: 'Basic realm="ci"', message: "push not allowed" };
    return { ok: true, principal: { subject: "" } };
  },
};

let work: string;
let registry: StartedRegistry;
let lockedRegistry: StartedRegistry;
let a: CiRunner;
let ctx: string;

const uploads = () => requests.filter((r) => r.route.startsWith("upload"));
const exportVertex = (run: Awaited<ReturnType<CiRunner["build"]>>) =>
  run.events.find(
    (e): e is VertexEvent => e.type === "vertex" && e.id.startsWith("cache-to:") && e.status === "done",
  );

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function localDocument(dir: string): Promise<CacheDocument> {
  const blob = (digest: string) => join(dir, "blobs", "sha256", digest.slice(7));
  const index = JSON.parse(await readFile(join(dir, "index.json"), "utf8"));
  const manifest = JSON.parse(await readFile(blob(index.manifests[0].digest), "utf8"));
  return JSON.parse(await readFile(blob(manifest.config.digest), "utf8"));
}

beforeAll(async () => {
  if (!enabled) return;
  work = await mkdtemp(join(tmpdir(), "gantry-ci-export-"));
  registry = await startRegistry({ metrics: recorder });
  lockedRegistry = await startRegistry({ authorizer: readOnly });
  a = await CiRunner.create("a", join(work, "root-a"));
  ctx = join(work, "ctx");
  await cp(FIXTURE, ctx, { recursive: true });
}, 120_000);

afterAll(async () => {
  await registry?.dispose();
  await lockedRegistry?.dispose();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe.skipIf(!enabled)("cache export", () => {
  let digest: string;
  let ref: string;

  it("the first export sends every layer once", async () => {
    ref = `${new URL(registry.url).host}/cache/app:main`;
    requests.length = 0;
    const result = await a.build(ctx, "--cache-to", `type=registry,ref=${ref}`);
    expect(result.code).toBe(0);
    digest = result.digest!;
    const layers = new Set(
      [...finalSteps(result.events).values()].filter((s) => s.status === "done").map((s) => s.id),
    );
    expect(layers.size).toBe(13);
    // One upload session per blob sent: each distinct layer, then the config blob holding the records.
    const sent = Number(/(\d+) layers sent, 0 already there/.exec(exportVertex(result)?.name ?? "")?.[1]);
    const response = await fetch(`${registry.url}/v2/cache/app/manifests/main`, {
      headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
    });
    const manifest = (await response.json()) as { artifactType?: string; layers: unknown[] };
    expect(manifest.artifactType).toBe("application/vnd.gantry.cache.v1");
    expect(manifest.layers.length).toBeGreaterThanOrEqual(10);
    expect(sent).toBe(manifest.layers.length);
    expect(uploads().filter((r) => r.route === "upload_start")).toHaveLength(sent + 1);
    expect(exportVertex(result)?.name).toMatch(/^exporting cache to .*: 13 records, /);
    expect(requests.filter((r) => r.route === "manifest_put")).toHaveLength(1);
  });

  it("exporting an unchanged cache again sends no blob at all", async () => {
    requests.length = 0;
    const result = await a.build(ctx, "--cache-to", `type=registry,ref=${ref}`);
    expect(result.code).toBe(0);
    expect(rebuilt(result.events)).toEqual([]);
    expect(result.digest).toBe(digest);
    expect(uploads()).toEqual([]);
    expect(requests.filter((r) => r.method === "PUT" || r.method === "PATCH" || r.method === "POST")).toEqual(
      [{ method: "PUT", route: "manifest_put", status: 201 }],
    );
    expect(exportVertex(result)?.name).toMatch(/13 records, 0 layers sent, \d+ already there/);
  });

  it("a runner that imported the cache exports it back without sending a blob", async () => {
    const b = await CiRunner.create("b", join(work, "root-b"));
    requests.length = 0;
    const result = await b.build(
      ctx,
      "--cache-from",
      `type=registry,ref=${ref}`,
      "--cache-to",
      `type=registry,ref=${ref}`,
    );
    expect(result.code).toBe(0);
    expect(rebuilt(result.events)).toEqual([]);
    expect(result.digest).toBe(digest);
    expect(uploads()).toEqual([]);
  });

  it("a registry that is down is a warning; the build succeeds", async () => {
    const port = await closedPort();
    const started = Date.now();
    const result = await a.build(ctx, "--cache-to", `type=registry,ref=127.0.0.1:${port}/cache/app:main`);
    expect(result.code).toBe(0);
    expect(result.digest).toBe(digest);
    expect(warnings(result.events)).toEqual([
      expect.stringMatching(/^cache export to 127\.0\.0\.1:\d+\/cache\/app:main failed/),
    ]);
    expect(result.stderr).not.toMatch(/\n\s+at .*\.js:\d+/);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it("an unauthorized push is a warning; the build succeeds", async () => {
    const locked = `${new URL(lockedRegistry.url).host}/cache/app:main`;
    const result = await a.build(ctx, "--cache-to", `type=registry,ref=${locked}`);
    expect(result.code).toBe(0);
    expect(result.digest).toBe(digest);
    expect(warnings(result.events)).toEqual([expect.stringMatching(/^cache export to .* failed/)]);
  });

  it("type=local round-trips to a fresh runner, and an unchanged local export writes nothing new", async () => {
    const dir = join(work, "local-cache");
    const first = await a.build(ctx, "--cache-to", `type=local,dest=${dir}`);
    expect(first.code).toBe(0);
    expect(exportVertex(first)?.name).toMatch(/13 records, \d+ layers sent, 0 already there/);
    const again = await a.build(ctx, "--cache-to", `type=local,dest=${dir}`);
    expect(exportVertex(again)?.name).toMatch(/13 records, 0 layers sent/);
    const fresh = await CiRunner.create("local", join(work, "root-local"));
    const result = await fresh.build(ctx, "--cache-from", `type=local,src=${dir}`);
    expect(result.code).toBe(0);
    expect(rebuilt(result.events)).toEqual([]);
    expect(result.digest).toBe(digest);
  });

  it("mode=min carries only the target stage's records", async () => {
    const dir = join(work, "min-cache");
    const result = await a.build(ctx, "--cache-to", `type=local,dest=${dir},mode=min`);
    expect(result.code).toBe(0);
    const document = await localDocument(dir);
    // Identities are `<Dockerfile>#<target>/<stage name or index>/<position>`; the target is stage 2.
    expect(document.records.map((r) => r.identity!.split("/").at(-2)).sort()).toEqual([
      "2",
      "2",
      "2",
      "2",
      "2",
    ]);
    const max = await localDocument(join(work, "local-cache"));
    expect(max.records).toHaveLength(13);
    // A fresh runner rebuilds the deps and build stages and takes the final stage from the cache.
    const fresh = await CiRunner.create("min", join(work, "root-min"));
    const rerun = await fresh.build(ctx, "--cache-from", `type=local,src=${dir}`);
    expect(rerun.code).toBe(0);
    expect(rerun.digest).toBe(digest);
    const names = rebuilt(rerun.events);
    expect(names).toHaveLength(8);
    expect(names.every((name) => /^\[(deps|build) /.test(name))).toBe(true);
  });
});

/**
 * `gantry build` end to end with real runc and overlayfs (needs `npm run build` first): the image's
 * filesystem as umoci unpacks it and its config are exactly right; a rebuild is fully cached with the same
 * digest; changing one copied file reruns only what depends on it (and --explain-cache names the file);
 * independent stages run at the same time; a failing RUN stops the build with a located error and leaves the
 * store consistent; secrets never reach a blob.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { cp, lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProgressEvent, VertexEvent } from "../src/executor/progress.js";
import { BUSYBOX_REF, haveBusybox, importBusybox, isRoot, REPO_ROOT } from "./helpers/busybox-image.js";

const run = promisify(execFile);
const GANTRY = join(REPO_ROOT, "bin", "gantry");
const FIXTURES = join(REPO_ROOT, "fixtures", "build");
const enabled = haveBusybox && isRoot;

let work: string;
let dataRoot: string;

interface BuildRun {
  code: number;
  stdout: string;
  stderr: string;
  events: ProgressEvent[];
  digest?: string;
}

async function gantry(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [GANTRY, "--root", dataRoot, ...args], {
      timeout: 180_000,
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : 1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

async function build(context: string, ...args: string[]): Promise<BuildRun> {
  const meta = join(work, `meta-${Math.random().toString(16).slice(2)}.json`);
  const result = await gantry(["build", context, "--progress", "json", "--metadata-file", meta, ...args], {
    TOKEN_FOR_TEST: "s3cr3t-value",
  });
  const events = result.stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as ProgressEvent);
  let digest: string | undefined;
  try {
    digest = JSON.parse(await readFile(meta, "utf8"))["containerimage.digest"];
  } catch {
    digest = undefined;
  }
  return { ...result, events, digest };
}

/** The last event of each step vertex (ids like `1.3`), by name. */
function finalSteps(events: ProgressEvent[]): Map<string, VertexEvent> {
  const steps = new Map<string, VertexEvent>();
  for (const event of events) {
    if (event.type === "vertex" && /^\d+\.\d+$/.test(event.id)) steps.set(event.name, event);
  }
  return steps;
}

async function blobJson(digest: string): Promise<any> {
  return JSON.parse(await readFile(join(dataRoot, "blobs", "sha256", digest.slice(7)), "utf8"));
}

beforeAll(async () => {
  if (!enabled) return;
  work = await mkdtemp(join(tmpdir(), "gantry-build-e2e-"));
  dataRoot = join(work, "root");
  await importBusybox(dataRoot);
  await cp(FIXTURES, join(work, "ctx"), { recursive: true });
}, 120_000);

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe.skipIf(!enabled)("gantry build", () => {
  let firstDigest: string;

  it("builds a multi-stage image whose config and filesystem are exactly right", async () => {
    const result = await build(
      join(work, "ctx", "full"),
      "-t",
      "test/full:1",
      "--secret",
      "id=token,env=TOKEN_FOR_TEST",
    );
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    firstDigest = result.digest!;

    const manifest = await blobJson(firstDigest);
    const config = await blobJson(manifest.config.digest);
    expect(config.config.Env).toEqual([
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "APP_HOME=/srv/app",
      "MODE=production",
    ]);
    expect(config.config.Entrypoint).toEqual(["/bin/sh", "/srv/app/run.sh"]);
    expect(config.config.Cmd).toEqual(["serve"]);
    expect(config.config.User).toBe("demo");
    expect(config.config.WorkingDir).toBe("/srv/app");
    expect(config.config.Labels).toEqual({ "org.example.name": "full", "org.example.version": "1" });
    expect(config.config.ExposedPorts).toEqual({ "8080/tcp": {}, "53/udp": {} });
    expect(config.config.Healthcheck).toEqual({
      Test: ["CMD", "wget", "-q", "-O-", "http://localhost:8080/"],
      Interval: 30_000_000_000,
      Timeout: 5_000_000_000,
      Retries: 3,
    });
    // history: the base image's entry, then one per instruction of the final stage
    const history = config.history as Array<{ created_by?: string; empty_layer?: boolean }>;
    expect(history[0]!.created_by).toBe("gantry import");
    const layered = history.filter((h) => !h.empty_layer);
    expect(layered.length).toBe(config.rootfs.diff_ids.length);
    expect(manifest.layers.length).toBe(config.rootfs.diff_ids.length);
    const byInstruction = history.slice(1).map((h) => [h.created_by?.split(" ")[0], h.empty_layer === true]);
    expect(byInstruction).toEqual([
      ["LABEL", true],
      ["ENV", true],
      ["WORKDIR", false],
      ["COPY", false],
      ["COPY", false],
      ["RUN", false],
      ["EXPOSE", true],
      ["HEALTHCHECK", true],
      ["USER", true],
      ["ENTRYPOINT", true],
      ["CMD", true],
    ]);

    // The filesystem, as a tool nobody here wrote unpacks it.
    const bundle = join(work, "bundle-full");
    await run("umoci", ["unpack", "--image", `${dataRoot}:test/full:1`, bundle]);
    const fs = join(bundle, "rootfs");
    expect(await readFile(join(fs, "srv/app/version.txt"), "utf8")).toBe("version 1\n");
    expect(await readFile(join(fs, "srv/app/deps.txt"), "utf8")).toBe("hi deps\n");
    expect(await readFile(join(fs, "srv/app/built.txt"), "utf8")).toBe("built\n");
    expect((await lstat(join(fs, "srv/app/run.sh"))).mode & 0o777).toBe(0o755);
    await expect(lstat(join(fs, "srv/app/remove-me"))).rejects.toThrow();
    await expect(lstat(join(fs, "run/secrets/token"))).rejects.toThrow();
    expect(await readFile(join(fs, "bin/busybox"))).toEqual(await readFile("/bin/busybox"));
  });

  it("stores incompressible data as stored gzip members that umoci (Go's gzip reader) unpacks whole", async () => {
    const ctx = join(work, "ctx-random");
    await mkdir(ctx, { recursive: true });
    await writeFile(
      join(ctx, "Dockerfile"),
      `FROM ${BUSYBOX_REF}\nRUN head -c 3000000 /dev/urandom > /random.bin && sha256sum /random.bin > /random.sha\n`,
    );
    const result = await build(ctx, "-t", "test/random:1");
    expect(result.code, result.stderr).toBe(0);
    const manifest = await blobJson(result.digest!);
    const top = manifest.layers.at(-1);
    // 3 MB of random bytes: stored, so the blob is the data plus framing, not deflated.
    expect(top.size).toBeGreaterThan(3_000_000);
    expect(top.size).toBeLessThan(3_000_000 + 64 * 1024);
    const bundle = join(work, "bundle-random");
    await run("umoci", ["unpack", "--image", `${dataRoot}:test/random:1`, bundle]);
    const data = await readFile(join(bundle, "rootfs", "random.bin"));
    const recorded = (await readFile(join(bundle, "rootfs", "random.sha"), "utf8")).split(" ")[0];
    expect(createHash("sha256").update(data).digest("hex")).toBe(recorded);
  });

  it("never writes a secret into any blob", async () => {
    const dir = join(dataRoot, "blobs", "sha256");
    for (const name of await readdir(dir)) {
      const bytes = await readFile(join(dir, name));
      const plain = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
      expect(plain.includes("s3cr3t-value"), `blob ${name} holds the secret`).toBe(false);
    }
  });

  it("rebuilds fully cached with an identical digest", async () => {
    const result = await build(
      join(work, "ctx", "full"),
      "-t",
      "test/full:1",
      "--secret",
      "id=token,env=TOKEN_FOR_TEST",
    );
    expect(result.code).toBe(0);
    const steps = [...finalSteps(result.events).values()];
    expect(steps.length).toBeGreaterThan(0);
    expect(steps.filter((s) => s.status !== "cached").map((s) => s.name)).toEqual([]);
    expect(result.digest).toBe(firstDigest);
  });

  it("reruns only the steps after a changed file, and --explain-cache names it", async () => {
    await writeFile(join(work, "ctx", "full", "app", "version.txt"), "version 2\n");
    const result = await build(
      join(work, "ctx", "full"),
      "-t",
      "test/full:2",
      "--secret",
      "id=token,env=TOKEN_FOR_TEST",
      "--explain-cache",
    );
    expect(result.code).toBe(0);
    const status = [...finalSteps(result.events).values()].map((s) => [
      s.name.replace(/^\[[^\]]*\] /, ""),
      s.status,
    ]);
    expect(status).toEqual([
      ['RUN mkdir -p /opt/deps && echo "$GREETING deps" > /opt/deps/list.txt', "cached"],
      ["WORKDIR ${APP_HOME}", "cached"],
      ["COPY app/ ./", "done"],
      ["COPY --from=deps /opt/deps/list.txt deps.txt", "done"],
      [expect.stringMatching(/^RUN --mount=type=secret/), "done"],
    ]);
    const copy = [...finalSteps(result.events).values()].find((s) => s.name.endsWith("COPY app/ ./"))!;
    const missEvent = result.events.find(
      (e): e is VertexEvent => e.type === "vertex" && e.id === copy.id && e.miss !== undefined,
    );
    expect(missEvent?.miss?.map((m) => [m.kind, m.subject])).toEqual([
      ["file", expect.stringContaining("version.txt")],
    ]);
    expect(result.digest).not.toBe(firstDigest);
  });

  it("runs independent stages at the same time", async () => {
    const result = await build(join(work, "ctx", "parallel"), "-t", "test/parallel:1");
    expect(result.code).toBe(0);
    const runs = [...finalSteps(result.events).values()].filter((s) => s.name.includes("RUN sleep 2"));
    expect(runs.length).toBe(2);
    const [a, b] = runs as [VertexEvent, VertexEvent];
    // Each takes ≥ 2 s; they overlap when each starts before the other ends.
    expect(a.started!).toBeLessThan(b.completed!);
    expect(b.started!).toBeLessThan(a.completed!);
    const overlap = Math.min(a.completed!, b.completed!) - Math.max(a.started!, b.started!);
    expect(overlap).toBeGreaterThan(1000);
  });

  it("stops at a failing RUN with a located error and leaves the store consistent", async () => {
    const before = await readFile(join(dataRoot, "index.json"), "utf8");
    const result = await build(join(work, "ctx", "failing"), "-t", "test/failing:1");
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("exit code 3");
    expect(result.stderr).toContain("about to fail");
    expect(result.stderr).toMatch(/Dockerfile:4:1/);
    expect(result.stderr).toContain("^");
    expect(result.stderr).not.toMatch(/\n\s+at .*\.js:\d+/); // no stack trace
    const steps = [...finalSteps(result.events).values()];
    expect(steps.map((s) => s.status)).toEqual(["done", "error"]);
    expect(await readFile(join(dataRoot, "index.json"), "utf8")).toBe(before);
    const leftovers = (await readdir(join(dataRoot, "ingest")).catch(() => [] as string[])).filter((n) =>
      n.endsWith(".tmp"),
    );
    expect(leftovers).toEqual([]);
    // The step before the failure was recorded: a second attempt starts from the cache.
    const again = await build(join(work, "ctx", "failing"), "-t", "test/failing:1");
    expect([...finalSteps(again.events).values()].map((s) => s.status)).toEqual(["cached", "error"]);
  });
});

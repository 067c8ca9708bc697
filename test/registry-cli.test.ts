/** `gantry registry serve|gc` as a child process (needs `npx tsc -p tsconfig.build.json` first). */
import { execFile } from "node:child_process";
import { rm, utimes } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  GANTRY_BIN,
  pushBlob,
  pushImage,
  type SpawnedRegistry,
  spawnRegistry,
  tempRoot,
} from "./helpers/registry.js";

const run = promisify(execFile);
let root: string;
let reg: SpawnedRegistry;
beforeAll(async () => {
  root = await tempRoot();
  reg = await spawnRegistry({ root });
});
afterAll(async () => {
  await reg.stop("SIGKILL");
  await rm(root, { recursive: true, force: true });
});

const gantry = (...args: string[]) =>
  run(process.execPath, [GANTRY_BIN, "--root", root, ...args], { timeout: 30_000 });

describe("gantry registry serve", () => {
  it("prints the URL first and serves the API; logs one JSON line per request on stderr", async () => {
    expect(reg.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${reg.url}/v2/`);
    expect(res.status).toBe(200);
    await pushImage(reg.url, "cli/app", "1");
    await new Promise((r) => setTimeout(r, 200));
    const lines = reg.stderr.map((l) => JSON.parse(l) as Record<string, unknown>);
    const req = lines.find((l) => l.route === "manifest_put");
    expect(req).toMatchObject({ method: "PUT", status: 201 });
    expect(typeof req?.ms).toBe("number");
  });

  it("rejects bad flags with exit code 2", async () => {
    await expect(gantry("registry", "serve", "--listen", "nonsense")).rejects.toMatchObject({ code: 2 });
    await expect(gantry("registry", "serve", "--upload-ttl", "soon")).rejects.toMatchObject({ code: 2 });
    await expect(gantry("registry", "serve", "--auth", "basic")).rejects.toMatchObject({ code: 2 });
  });

  it("shuts down gracefully on SIGTERM", async () => {
    const other = await spawnRegistry();
    const { code, signal } = await other.stop("SIGTERM");
    expect(signal).toBeNull();
    expect(code).toBe(0);
    await rm(other.root, { recursive: true, force: true });
  });
});

describe("gantry registry gc", () => {
  it("--dry-run lists, then a real run deletes; --format json", async () => {
    const orphan = await pushBlob(reg.url, "cli/app", "an orphan for the cli gc");
    const past = new Date(Date.now() - 3 * 3600_000);
    await utimes(path.join(root, "blobs", "sha256", orphan.slice(7)), past, past);
    const dry = await gantry("registry", "gc", "--dry-run");
    expect(dry.stdout).toContain(`would delete blob ${orphan}`);
    const json = await gantry("registry", "gc", "--format", "json");
    const report = JSON.parse(json.stdout) as { dryRun: boolean; blobsDeleted: Array<{ digest: string }> };
    expect(report.dryRun).toBe(false);
    expect(report.blobsDeleted.map((b) => b.digest)).toEqual([orphan]);
    const again = await gantry("registry", "gc", "--grace", "0s");
    expect(again.stdout).toContain("deleted 0 blobs");
  });
});

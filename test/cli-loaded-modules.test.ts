/**
 * What a command loads is part of its start-up time, so the costly modules stay out of the commands that
 * do not need them: `push` from the data root reads its own stored manifests without the zod schemas (or
 * the archive transports, which validate with them, or node:http2), while `pull`, which receives manifests, validates
 * them with zod. Checked through bin/gantry, with a preload that lists every module file loaded.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importBusybox } from "./helpers/busybox-image.js";
import { GANTRY } from "./helpers/cli-build.js";
import { type StartedRegistry, startRegistry } from "./helpers/registry.js";

const run = promisify(execFile);

let dir: string;
let registry: StartedRegistry;
let preload: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gantry-loaded-"));
  registry = await startRegistry();
  await importBusybox(join(dir, "root"));
  preload = join(dir, "list-modules.cjs");
  // Every file Node loads as a module (the bundle's chunks, or dist/ and node_modules without a bundle).
  await writeFile(
    preload,
    `const Module = require("node:module");
const seen = new Set();
const load = Module._load;
Module._load = function (request, parent, isMain) {
  try { seen.add(Module._resolveFilename(request, parent, isMain)); } catch {}
  return load.apply(this, arguments);
};
process.on("exit", () => require("node:fs").writeFileSync(process.env.LOADED_OUT, [...seen].join("\\n")));
`,
  );
}, 120_000);

afterAll(async () => {
  await registry?.dispose();
  await rm(dir, { recursive: true, force: true });
});

async function loadedBy(root: string, args: string[]): Promise<string[]> {
  const out = join(dir, `loaded-${Math.random().toString(36).slice(2)}.txt`);
  await run(process.execPath, ["--require", preload, GANTRY, "--root", join(dir, root), ...args], {
    env: { ...process.env, LOADED_OUT: out },
    timeout: 60_000,
  });
  return (await readFile(out, "utf8")).split("\n");
}

const zod = (files: string[]) =>
  files.filter((f) => /oci-schemas|[\\/]zod[\\/]|oci-archive|docker-archive/.test(f));

describe("modules a command loads", () => {
  it("push reads the data root's manifests without zod; pull validates what it receives with it", async () => {
    const host = new URL(registry.url).host;
    const pushed = await loadedBy("root", [
      "push",
      "--quiet",
      "gantry/busybox:latest",
      `${host}/loaded/busybox:1`,
    ]);
    expect(pushed.some((f) => /registry-client|client[\\/]registry-client/.test(f))).toBe(true);
    expect(zod(pushed)).toEqual([]);
    // undici's HTTP/2 client, never offered, is not loaded either (scripts/bundle.mjs; bundle only).
    if (pushed.some((f) => f.includes("bundle"))) {
      expect(pushed.filter((f) => /^(node:)?http2$/.test(f))).toEqual([]);
    }
    const pulled = await loadedBy("other", ["pull", "--quiet", `${host}/loaded/busybox:1`]);
    expect(zod(pulled).length).toBeGreaterThan(0);
  });
});

/**
 * bin/gantry loads the bundled CLI through a V8 code cache (bin/code-cache.cjs; `npm test` builds the
 * bundle first): a run of a command leaves cached code for the bundle files it loaded, keyed by the
 * command; a cache V8 refuses (here: garbage) is replaced by a good one, and the command still works.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const REPO = resolve(import.meta.dirname, "..");
const GANTRY = join(REPO, "bin", "gantry");
const BUNDLE = join(REPO, "dist", "bundle");
// A command word no other test uses, so this test owns its cache directory.
const CACHE = join(BUNDLE, ".code-cache", "logout");

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "gantry-code-cache-"));
  await rm(CACHE, { recursive: true, force: true });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const logout = () =>
  run(process.execPath, [GANTRY, "--root", root, "logout", "127.0.0.1:1"], {
    env: { ...process.env, HOME: root, DOCKER_CONFIG: join(root, "docker") },
  });

describe.runIf(existsSync(join(BUNDLE, "main.cjs")))("code cache of the bundled CLI", () => {
  it("a run leaves cached code for the bundle files its command loaded", async () => {
    const first = await logout();
    const files = (await readdir(CACHE)).sort();
    expect(files).toContain("main.cjs.bin");
    expect(files.some((name) => name.startsWith("chunks_login-"))).toBe(true);
    expect(files.every((name) => name.endsWith(".bin"))).toBe(true);
    // The next run reads them (and leaves them alone) and behaves the same.
    const before = await readFile(join(CACHE, "main.cjs.bin"));
    const second = await logout();
    expect(second.stdout).toBe(first.stdout);
    expect((await readFile(join(CACHE, "main.cjs.bin"))).equals(before)).toBe(true);
  });

  it("a cache V8 refuses is replaced, and the command still works", async () => {
    const good = await readFile(join(CACHE, "main.cjs.bin"));
    await writeFile(join(CACHE, "main.cjs.bin"), "not V8 code cache");
    const result = await logout();
    expect(result.stdout).toBe((await logout()).stdout);
    const rewritten = await readFile(join(CACHE, "main.cjs.bin"));
    expect(rewritten.toString()).not.toBe("not V8 code cache");
    expect(rewritten.length).toBeGreaterThan(good.length / 4);
  });
});

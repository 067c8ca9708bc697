/**
 * `gantry run` end to end (needs `npm run build` first): the busybox image imported into a fresh data root
 * is run with real runc: the image's CMD, a given command, -e, --network none, the exit code, unknown
 * images, and nothing left behind.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mountPoints } from "../src/executor/snapshot/mount.js";
import { BUSYBOX_REF, haveBusybox, importBusybox, isRoot } from "./helpers/busybox-image.js";

const run = promisify(execFile);
const REPO = resolve(import.meta.dirname, "..");
const GANTRY = join(REPO, "bin", "gantry");
const BUILT = existsSync(join(REPO, "dist", "src", "cli", "commands", "run.js"));
const canRun = BUILT && isRoot && haveBusybox;

let dataRoot: string;

async function gantry(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [GANTRY, "--root", dataRoot, ...args], {
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

beforeAll(async () => {
  if (!canRun) return;
  dataRoot = await mkdtemp(join(tmpdir(), "gantry-cli-run-"));
  await importBusybox(dataRoot);
});
afterAll(async () => {
  if (dataRoot) await rm(dataRoot, { recursive: true, force: true });
});

describe.runIf(canRun)("gantry run", () => {
  it("runs a given command with -e and returns its exit code", async () => {
    const result = await gantry(
      "run",
      "-e",
      "GREETING=hello there",
      BUSYBOX_REF,
      "sh",
      "-c",
      'echo "$GREETING from $(hostname)"; exit 4',
    );
    expect(result.stdout).toBe("hello there from gantry\n");
    expect(result.code).toBe(4);
  });

  it("runs the image's CMD (sh with no stdin exits 0), --network none, --user", async () => {
    expect((await gantry("run", BUSYBOX_REF)).code).toBe(0);
    const none = await gantry(
      "run",
      "--network",
      "none",
      "--user",
      "demo",
      BUSYBOX_REF,
      "sh",
      "-c",
      "ls /sys/class/net; id -u",
    );
    expect(none.stdout.trim().split("\n")).toEqual(["lo", "1000"]);
    expect(none.code).toBe(0);
  });

  it("reports unknown images clearly and leaves nothing behind", async () => {
    const missing = await gantry("run", "nothere:1", "true");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/image nothere:1 not found in the local store/);
    expect(missing.stderr).not.toMatch(/at .*\.js/);
    expect(await readdir(join(dataRoot, "snapshots/active"))).toEqual([]);
    expect(await readdir(join(dataRoot, "executor/bundles"))).toEqual([]);
    for (const point of await mountPoints()) expect(point.startsWith(dataRoot)).toBe(false);
  });
});

/**
 * The snapshot store's directories of independent trees (unpacked layers, active snapshots) are marked for
 * ext4's Orlov allocator (`chattr +T`, util/spread-dirs.ts) when a snapshotter creates them, so each new
 * tree goes to a block group with free inodes; so is a data root a build creates. Checked with `lsattr`
 * where the temp directory is on a filesystem that has the flag (ext2/3/4).
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CopySnapshotter, OverlaySnapshotter } from "../src/executor/snapshot/index.js";
import { ContentStore } from "../src/image/content-store.js";
import { mkdirSpread } from "../src/util/spread-dirs.js";
import { isRoot } from "./helpers/busybox-image.js";
import { GANTRY } from "./helpers/cli-build.js";

const run = promisify(execFile);
let dir: string;
let supported = false;

/** Whether `path` carries the top-directory flag (lsattr's `T`). */
async function topDir(path: string): Promise<boolean> {
  const { stdout } = await run("lsattr", ["-d", path]);
  return stdout.split(/\s+/)[0]!.includes("T");
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gantry-spread-"));
  try {
    await mkdir(join(dir, "probe"));
    await run("chattr", ["+T", join(dir, "probe")]);
    supported = await topDir(join(dir, "probe"));
  } catch {
    supported = false;
  }
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("directories that spread their trees", () => {
  it("a new one is marked, an existing one is left as it is", async (ctx) => {
    if (!supported) ctx.skip();
    await mkdirSpread(join(dir, "new", "trees"));
    expect(await topDir(join(dir, "new", "trees"))).toBe(true);
    await mkdir(join(dir, "old"));
    await mkdirSpread(join(dir, "old"));
    expect(await topDir(join(dir, "old"))).toBe(false);
  });

  it("a build marks the data root it creates", async (ctx) => {
    if (!supported) ctx.skip();
    const context = join(dir, "ctx");
    await mkdir(context);
    await writeFile(join(context, "Dockerfile"), "FROM scratch\nLABEL spread=yes\n");
    const root = join(dir, "build-root");
    await run(process.execPath, [GANTRY, "--root", root, "build", context, "--progress", "plain"]);
    expect(await topDir(root)).toBe(true);
  });

  it.runIf(isRoot)("snapshotters mark their layer and active directories in a new data root", async (ctx) => {
    if (!supported) ctx.skip();
    const root = join(dir, "root");
    const blobs = await ContentStore.open(root);
    await OverlaySnapshotter.open(root, blobs);
    await CopySnapshotter.open(root, blobs);
    for (const sub of ["layers", "active", "active-copy"]) {
      expect(await topDir(join(root, "snapshots", sub)), sub).toBe(true);
    }
  });
});

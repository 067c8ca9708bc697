/**
 * A base image a build pulls is unpacked at once (build/index.ts `onPulled`), not when the first step
 * prepares its rootfs: here the first step fails before preparing anything (its COPY source is missing),
 * and the pulled layer is unpacked all the same. Through bin/gantry, against Gantry's registry serving the
 * busybox image on 127.0.0.1.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { haveBusybox, type ImportedBusybox, importBusybox, isRoot } from "./helpers/busybox-image.js";
import { GANTRY } from "./helpers/cli-build.js";
import { type StartedRegistry, startRegistry } from "./helpers/registry.js";

const run = promisify(execFile);

let registry: StartedRegistry;
let busybox: ImportedBusybox;
let dir: string;

beforeAll(async () => {
  registry = await startRegistry();
  busybox = await importBusybox(registry.root);
  dir = await mkdtemp(join(tmpdir(), "gantry-pull-unpack-"));
}, 120_000);

afterAll(async () => {
  await registry?.dispose();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe.runIf(haveBusybox && isRoot)("unpacking a pulled base image", () => {
  it("starts when the image is pulled, before (and whether or not) a step needs it", async () => {
    const context = join(dir, "ctx");
    const root = join(dir, "root");
    await mkdir(context);
    const base = `${new URL(registry.url).host}/gantry/busybox:latest`;
    await writeFile(join(context, "Dockerfile"), `FROM ${base}\nCOPY missing.txt /x\nRUN true\n`);
    const failed = await run(
      process.execPath,
      [GANTRY, "--root", root, "build", context, "--progress", "plain"],
      {
        timeout: 120_000,
      },
    ).then(
      () => undefined,
      (error: { code?: number; stderr?: string }) => error,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain("missing.txt");
    const unpacked = join(root, "snapshots", "layers", busybox.layer.diffId.slice("sha256:".length), "fs");
    expect(existsSync(join(unpacked, "bin", "busybox"))).toBe(true);
  });
});

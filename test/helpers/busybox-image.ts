/**
 * The base image every build/executor test starts from: a root filesystem made from Debian's
 * busybox-static by scripts/make-busybox-rootfs.sh, imported into a data root as `gantry/busybox:latest`
 * through the real import path (one deterministic layer).
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { mkdtemp, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { ContentStore } from "../../src/image/content-store.js";
import { writeImage } from "../../src/image/image-builder.js";
import { writeLayer } from "../../src/image/layer/layer-writer.js";
import { openRootfs } from "../../src/image/layer/rootfs-source.js";
import type { Platform } from "../../src/image/oci-types.js";
import { FsRepositoryStore } from "../../src/image/repository-store.js";
import type { Descriptor, Digest } from "../../src/image/store-types.js";

const run = promisify(execFile);
export const REPO_ROOT = resolve(import.meta.dirname, "..", "..");
export const BUSYBOX_REPOSITORY = "gantry/busybox";
export const BUSYBOX_REF = "localhost/gantry/busybox:latest";
export const HOST_PLATFORM: Platform = {
  os: "linux",
  architecture: process.arch === "x64" ? "amd64" : process.arch,
};

export const haveBusybox = existsSync("/bin/busybox");
export const isRoot = process.getuid?.() === 0;

let rootfsDir: Promise<string> | undefined;

/**
 * A busybox root filesystem directory, shared by every test process: made once in the temp dir under a
 * name keyed by the script and the busybox binary (built aside, then renamed into place, so a process
 * never sees a half-made tree), and left there for the next run instead of one copy per test file.
 */
export function busyboxRootfs(): Promise<string> {
  rootfsDir ??= (async () => {
    const script = join(REPO_ROOT, "scripts", "make-busybox-rootfs.sh");
    const binary = statSync("/bin/busybox");
    const key = createHash("sha256")
      .update(readFileSync(script))
      .update(`${binary.size}:${binary.mtimeMs}:${process.getuid?.()}`)
      .digest("hex")
      .slice(0, 16);
    const dir = join(tmpdir(), `gantry-test-busybox-${key}`);
    if (!existsSync(dir)) {
      const temp = await mkdtemp(`${dir}.tmp-`);
      try {
        await run(script, [join(temp, "rootfs")]);
        await rename(temp, dir);
      } catch (error) {
        // Another process made it first.
        if (!existsSync(dir)) throw error;
      } finally {
        await rm(temp, { recursive: true, force: true });
      }
    }
    return join(dir, "rootfs");
  })();
  return rootfsDir;
}

export interface ImportedBusybox {
  manifest: Descriptor;
  layer: { digest: Digest; diffId: Digest; size: number; mediaType: string };
}

/** Imports the busybox rootfs into `dataRoot` as gantry/busybox:latest (digest is deterministic). */
export async function importBusybox(dataRoot: string): Promise<ImportedBusybox> {
  const blobs = await ContentStore.open(dataRoot);
  const repositories = await FsRepositoryStore.open(dataRoot);
  const source = await openRootfs(await busyboxRootfs(), { tempPath: (label) => blobs.newIngestPath(label) });
  let layer: Awaited<ReturnType<typeof writeLayer>>;
  try {
    layer = await writeLayer(blobs, source.entries, { clampMtime: 1_700_000_000 });
  } finally {
    await source.cleanup();
  }
  const image = await writeImage(blobs, repositories, {
    repository: BUSYBOX_REPOSITORY,
    tag: "latest",
    platform: HOST_PLATFORM,
    config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["sh"] },
    created: new Date(1_700_000_000_000),
    layers: [{ ...layer, createdBy: "gantry import" }],
  });
  return {
    manifest: image.manifest,
    layer: { digest: layer.digest, diffId: layer.diffId, size: layer.size, mediaType: layer.mediaType },
  };
}

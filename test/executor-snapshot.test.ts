/**
 * Snapshotters with real overlayfs and real runc: prepare over the busybox layer → a RUN writes, deletes,
 * chmods and replaces a directory → diff() gives exactly the expected entries (whiteouts, opaque) → the
 * layer is written with layer-writer and committed → a second prepare on top sees the result. The same
 * semantics for the copying snapshotter; views, scratch, and cleanup of leftovers.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openRuntime } from "../src/executor/runtime/index.js";
import {
  CopySnapshotter,
  OverlaySnapshotter,
  openSnapshotter,
  overlayWorks,
} from "../src/executor/snapshot/index.js";
import { mountPoints } from "../src/executor/snapshot/mount.js";
import type { LayerRef, Runtime, Snapshotter } from "../src/executor/types.js";
import { ContentStore } from "../src/image/content-store.js";
import { digestHex } from "../src/image/digest.js";
import type { LayerEntry } from "../src/image/layer/entry.js";
import { writeLayer } from "../src/image/layer/layer-writer.js";
import { haveBusybox, importBusybox, isRoot } from "./helpers/busybox-image.js";

const canRun = isRoot && haveBusybox;
let dataRoot: string;
let blobs: ContentStore;
let base: LayerRef;
let runtime: Runtime;

beforeAll(async () => {
  if (!canRun) return;
  dataRoot = await mkdtemp(join(tmpdir(), "gantry-snap-"));
  blobs = await ContentStore.open(dataRoot);
  const imported = await importBusybox(dataRoot);
  base = imported.layer;
  runtime = await openRuntime(dataRoot, "runc");
});
afterAll(async () => {
  if (!dataRoot) return;
  for (const point of await mountPoints())
    if (point.startsWith(dataRoot)) throw new Error(`left mounted: ${point}`);
  await rm(dataRoot, { recursive: true, force: true });
});

const SCRIPT = [
  "echo new > /new.txt",
  "rm /etc/hostname",
  "chmod 700 /home/demo",
  "rm -rf /var && mkdir /var && echo v > /var/x",
].join(" && ");

async function sh(rootfs: string, script: string): Promise<string> {
  let out = "";
  const result = await runtime.run({
    rootfs,
    args: ["/bin/sh", "-c", script],
    env: [],
    cwd: "/",
    user: "",
    network: "none",
    security: "sandbox",
    mounts: [],
    onOutput: (chunk) => (out += chunk.toString()),
  });
  expect(result.exitCode, out).toBe(0);
  return out;
}

async function collect(entries: AsyncIterable<LayerEntry>): Promise<LayerEntry[]> {
  const all: LayerEntry[] = [];
  for await (const entry of entries) all.push(entry);
  return all;
}

async function runStep(snapshotter: Snapshotter): Promise<{ paths: string[]; layer: LayerRef }> {
  const snap = await snapshotter.prepare([base]);
  try {
    await sh(snap.rootfs, SCRIPT);
    const paths = (await collect(snap.diff())).map((e) => `${e.path}${e.type === "directory" ? "/" : ""}`);
    const written = await writeLayer(blobs, snap.diff());
    await snap.commit(digestHex(written.diffId));
    return { paths, layer: written };
  } finally {
    await snap.release();
  }
}

async function checkOnTop(snapshotter: Snapshotter, layer: LayerRef): Promise<void> {
  const snap = await snapshotter.prepare([base, layer]);
  try {
    const out = await sh(
      snap.rootfs,
      "cat /new.txt; test -e /etc/hostname && echo hostname-present; stat -c %a /home/demo; ls -A /var; test -x /bin/busybox && echo ok",
    );
    expect(out.trim().split("\n")).toEqual(["new", "700", "x", "ok"]);
  } finally {
    await snap.release();
  }
}

describe.runIf(canRun)("OverlaySnapshotter", () => {
  it("diffs a RUN into exactly the expected entries, commits, and stacks", async () => {
    const snapshotter = await OverlaySnapshotter.open(dataRoot, blobs);
    const { paths, layer } = await runStep(snapshotter);
    expect(paths).toEqual([
      "etc/",
      "etc/.wh.hostname",
      "home/",
      "home/demo/",
      "new.txt",
      "var/",
      "var/.wh..wh..opq",
      "var/x",
    ]);
    // Committed as the unpacked layer: no extraction needed for the next step.
    expect(existsSync(join(snapshotter.layers.layerPath(digestHex(layer.diffId!)), "new.txt"))).toBe(true);
    await checkOnTop(snapshotter, layer);
    // A fresh store (no committed dir) extracts the blob in overlay format and sees the same.
    const other = await mkdtemp(join(tmpdir(), "gantry-snap2-"));
    try {
      const fresh = await OverlaySnapshotter.open(other, blobs);
      await checkOnTop(fresh, layer);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it("views, scratch, concurrent unpacking and leftover cleanup", async () => {
    const snapshotter = await OverlaySnapshotter.open(dataRoot, blobs);
    const { layer } = await runStep(snapshotter);
    const view = await snapshotter.view([base, layer]);
    expect(existsSync(join(view.rootfs, "new.txt"))).toBe(true);
    expect(existsSync(join(view.rootfs, "etc/hostname"))).toBe(false);
    await expect(writeFile(join(view.rootfs, "nope"), "x")).rejects.toThrow();
    await view.release();

    const scratch = await snapshotter.scratch();
    await mkdir(join(scratch.rootfs, "app"));
    await writeFile(join(scratch.rootfs, "app/a.txt"), "a");
    expect((await collect(scratch.diff())).map((e) => e.path)).toEqual(["app", "app/a.txt"]);
    await scratch.release();

    // Leftovers of a dead process are removed on open.
    const stale = join(dataRoot, "snapshots/active/999999-dead");
    await mkdir(join(stale, "upper"), { recursive: true });
    await OverlaySnapshotter.open(dataRoot, blobs);
    expect(existsSync(stale)).toBe(false);
    expect(await readdir(join(dataRoot, "snapshots/active"))).toEqual([]);
  });

  it("auto picks overlayfs here", async () => {
    expect((await openSnapshotter(dataRoot, blobs, "auto")).kind).toBe("overlayfs");
  });

  it("remembers a successful probe for this boot, and does not trust a marker from another", async () => {
    const boot = (await readFile("/proc/sys/kernel/random/boot_id", "utf8")).trim();
    const fresh = await mkdtemp(join(tmpdir(), "gantry-probe-"));
    try {
      expect(await overlayWorks(join(fresh, "a"))).toBe(true);
      const marker = await readFile(join(fresh, "a", "snapshots", "overlay-works"), "utf8");
      expect(marker.startsWith(`${boot} `)).toBe(true);
      // Another boot's marker is probed again, and replaced by this boot's.
      await mkdir(join(fresh, "b", "snapshots"), { recursive: true });
      await writeFile(join(fresh, "b", "snapshots", "overlay-works"), "another-boot 1.0 uid=0\n");
      expect(await overlayWorks(join(fresh, "b"))).toBe(true);
      expect(await readFile(join(fresh, "b", "snapshots", "overlay-works"), "utf8")).toBe(marker);
    } finally {
      await rm(fresh, { recursive: true, force: true });
    }
  });
});

describe.runIf(canRun)("CopySnapshotter", () => {
  it("has the same diff semantics and stacks", async () => {
    const snapshotter = await CopySnapshotter.open(dataRoot, blobs);
    const { paths, layer } = await runStep(snapshotter);
    const replacedAsOpaque = paths.includes("var/.wh..wh..opq");
    const common = ["etc/", "etc/.wh.hostname", "home/", "home/demo/", "new.txt", "var/"];
    // rm -rf + mkdir may reuse the inode: then the old children are whited out one by one.
    const varEntries = replacedAsOpaque
      ? ["var/.wh..wh..opq", "var/x"]
      : ["var/.wh.log", "var/.wh.run", "var/.wh.tmp", "var/x"];
    expect(paths).toEqual([...common, ...varEntries]);
    await checkOnTop(snapshotter, layer);
    const view = await snapshotter.view([base, layer]);
    expect(existsSync(join(view.rootfs, "var/x"))).toBe(true);
    await view.release();
    expect(existsSync(view.rootfs)).toBe(false);
  });
});

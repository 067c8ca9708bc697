/**
 * The overlayfs snapshotter: a writable rootfs is an overlay of the unpacked layers (LayerStore, top
 * first as lowerdirs, through short links) with a fresh upper directory under
 * `<root>/snapshots/active/<pid>-<rand>/{upper,work,merged}`; its diff is the upper directory (overlay-diff.ts)
 * and committing renames the upper directory into the layer store, already in overlay format.
 * Read-only views are lowerdir-only overlays (or a single layer's directory as it is).
 */
import { randomBytes } from "node:crypto";
import { mkdir, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { LayerEntry } from "../../image/layer/entry.js";
import type { BlobStore } from "../../image/store-types.js";
import { processAlive } from "../../util/process-alive.js";
import { mkdirSpread } from "../../util/spread-dirs.js";
import {
  type ActiveSnapshot,
  hasBlob,
  type LayerRef,
  type ReadonlyView,
  type SnapshotOnlyLayer,
  type Snapshotter,
} from "../types.js";
import { SnapshotError } from "./errors.js";
import { LayerStore, snapshotNameOf } from "./layer-store.js";
import { mountOverlay, unmount } from "./mount.js";
import { diffUpper } from "./overlay-diff.js";

export class OverlaySnapshotter implements Snapshotter {
  readonly kind = "overlayfs" as const;
  readonly keepsSnapshots = true;
  readonly layers: LayerStore;
  private readonly activeDir: string;
  private readonly emptyDir: string;

  private constructor(
    root: string,
    private readonly blobs: BlobStore,
  ) {
    this.layers = new LayerStore(root, blobs);
    this.activeDir = join(this.layers.snapshotsDir, "active");
    this.emptyDir = join(this.layers.snapshotsDir, "empty");
  }

  static async open(root: string, blobs: BlobStore): Promise<OverlaySnapshotter> {
    const snapshotter = new OverlaySnapshotter(root, blobs);
    await snapshotter.layers.init();
    await mkdirSpread(snapshotter.activeDir);
    await mkdir(snapshotter.emptyDir, { recursive: true });
    await cleanStaleActive(snapshotter.activeDir);
    return snapshotter;
  }

  async available(layer: LayerRef): Promise<boolean> {
    if (await this.layers.has(snapshotNameOf(layer))) return true;
    return hasBlob(layer) && (await this.blobs.stat(layer.digest)) !== undefined;
  }

  async snapshotEntries(layer: SnapshotOnlyLayer, below: LayerRef[]): Promise<AsyncIterable<LayerEntry>> {
    const lowers = layer.diffBase === "below" ? await this.unpackAll(below) : [];
    const dir = await this.layers.ensure(layer);
    return diffUpper(
      dir,
      lowers.map((l) => l.abs),
    );
  }

  async unpack(layers: LayerRef[]): Promise<void> {
    await this.unpackAll(layers);
  }

  async prepare(layers: LayerRef[]): Promise<ActiveSnapshot> {
    const lowers = await this.unpackAll(layers);
    const dir = await this.newActiveDir();
    const upper = join(dir, "upper");
    const merged = join(dir, "merged");
    await Promise.all(["upper", "work", "merged"].map((name) => mkdir(join(dir, name))));
    const rel = (name: string) => `active/${dir.slice(dir.lastIndexOf("/") + 1)}/${name}`;
    try {
      await mountOverlay({
        cwd: this.layers.snapshotsDir,
        lowers: lowers.length > 0 ? lowers.map((l) => l.short) : ["empty"],
        upper: rel("upper"),
        work: rel("work"),
        target: merged,
      });
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
    return new OverlayActive(
      this.layers,
      dir,
      merged,
      upper,
      lowers.map((l) => l.abs),
    );
  }

  async view(layers: LayerRef[]): Promise<ReadonlyView> {
    const lowers = await this.unpackAll(layers);
    if (lowers.length === 1) return { rootfs: lowers[0]!.abs, release: async () => {} };
    const dir = await this.newActiveDir();
    const merged = join(dir, "merged");
    await mkdir(merged);
    if (lowers.length === 0) {
      return { rootfs: merged, release: () => rm(dir, { recursive: true, force: true }) };
    }
    try {
      await mountOverlay({
        cwd: this.layers.snapshotsDir,
        lowers: lowers.map((l) => l.short),
        target: merged,
      });
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
    let released: Promise<void> | undefined;
    return {
      rootfs: merged,
      release: () => {
        released ??= unmount(merged).then(() => rm(dir, { recursive: true, force: true }));
        return released;
      },
    };
  }

  async scratch(): Promise<ActiveSnapshot> {
    const dir = await this.newActiveDir();
    const upper = join(dir, "upper");
    await mkdir(upper);
    return new OverlayActive(this.layers, dir, upper, upper, []);
  }

  /** Unpacks every layer (in parallel) and returns them top first. */
  private async unpackAll(layers: LayerRef[]): Promise<Array<{ abs: string; short: string }>> {
    const dirs = await Promise.all(layers.map((layer) => this.layers.ensure(layer)));
    return layers
      .map((layer, i) => ({ abs: dirs[i]!, short: this.layers.shortPath(snapshotNameOf(layer)) }))
      .reverse();
  }

  private async newActiveDir(): Promise<string> {
    const dir = join(this.activeDir, `${process.pid}-${randomBytes(6).toString("hex")}`);
    await mkdir(dir);
    return dir;
  }
}

class OverlayActive implements ActiveSnapshot {
  private committed = false;
  private released: Promise<void> | undefined;

  constructor(
    private readonly layerStore: LayerStore,
    private readonly dir: string,
    readonly rootfs: string,
    private readonly upper: string,
    private readonly lowers: string[],
  ) {}

  diff(): AsyncIterable<LayerEntry> {
    if (this.released !== undefined) throw new SnapshotError("SNAPSHOT_STATE", "snapshot already released");
    return diffUpper(this.upper, this.lowers);
  }

  async commit(name: string): Promise<void> {
    if (this.committed || this.released !== undefined) {
      throw new SnapshotError("SNAPSHOT_STATE", "snapshot already committed or released");
    }
    this.committed = true;
    if (this.rootfs !== this.upper) await unmount(this.rootfs);
    if (await this.layerStore.has(name)) return;
    // The upper directory is already in overlay format: it becomes the layer's `fs` as it is.
    const temp = this.layerStore.tempDir();
    await mkdir(temp);
    try {
      await rename(this.upper, join(temp, "fs"));
      await this.layerStore.adopt(name, temp);
    } finally {
      await rm(temp, { recursive: true, force: true });
    }
  }

  release(): Promise<void> {
    this.released ??= (async () => {
      if (this.rootfs !== this.upper) await unmount(this.rootfs);
      await rm(this.dir, { recursive: true, force: true });
    })();
    return this.released;
  }
}

/** Unmounts and removes active snapshots whose owning process is gone (best effort). */
async function cleanStaleActive(activeDir: string): Promise<void> {
  for (const name of await readdir(activeDir).catch(() => [] as string[])) {
    const pid = Number(/^(\d+)-/.exec(name)?.[1] ?? Number.NaN);
    if (!Number.isNaN(pid) && processAlive(pid)) continue;
    const dir = join(activeDir, name);
    await unmount(join(dir, "merged")).catch(() => {});
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}

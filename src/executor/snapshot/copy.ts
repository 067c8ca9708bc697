/**
 * The copying snapshotter, for hosts without overlayfs: a writable rootfs is a directory under
 * `<root>/snapshots/active/<pid>-<rand>/rootfs` into which every layer blob is extracted in order (whiteouts
 * applied); a manifest of the tree is recorded, and `diff()` compares the tree against it (tree-diff.ts).
 * Nothing is cached between snapshots: `commit` is a no-op (the layer blob is the cache), so every step's
 * layer is written as a blob at once.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { LayerEntry } from "../../image/layer/entry.js";
import { extractLayer } from "../../image/layer/extract.js";
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
import { diffTree, recordTree, type TreeManifest } from "./tree-diff.js";

export class CopySnapshotter implements Snapshotter {
  readonly kind = "copy" as const;
  readonly keepsSnapshots = false;
  private readonly activeDir: string;

  private constructor(
    root: string,
    private readonly blobs: BlobStore,
  ) {
    this.activeDir = join(root, "snapshots", "active-copy");
  }

  static async open(root: string, blobs: BlobStore): Promise<CopySnapshotter> {
    const snapshotter = new CopySnapshotter(root, blobs);
    await mkdirSpread(snapshotter.activeDir);
    for (const name of await readdir(snapshotter.activeDir)) {
      const pid = Number(/^(\d+)-/.exec(name)?.[1] ?? Number.NaN);
      if (Number.isNaN(pid) || !processAlive(pid)) {
        await rm(join(snapshotter.activeDir, name), { recursive: true, force: true }).catch(() => {});
      }
    }
    return snapshotter;
  }

  async available(layer: LayerRef): Promise<boolean> {
    return hasBlob(layer) && (await this.blobs.stat(layer.digest)) !== undefined;
  }

  async snapshotEntries(layer: SnapshotOnlyLayer): Promise<AsyncIterable<LayerEntry>> {
    throw new SnapshotError(
      "SNAPSHOT_LAYER_MISSING",
      `the copying snapshotter keeps no snapshot ${layer.snapshot}`,
      {
        hint: "run the build again (the step reruns)",
      },
    );
  }

  async prepare(layers: LayerRef[]): Promise<ActiveSnapshot> {
    const { dir, rootfs } = await this.materialise(layers);
    return new CopyActive(dir, rootfs, await recordTree(rootfs));
  }

  async view(layers: LayerRef[]): Promise<ReadonlyView> {
    const { dir, rootfs } = await this.materialise(layers);
    return { rootfs, release: () => rm(dir, { recursive: true, force: true }) };
  }

  async scratch(): Promise<ActiveSnapshot> {
    const { dir, rootfs } = await this.materialise([]);
    return new CopyActive(dir, rootfs, new Map());
  }

  private async materialise(layers: LayerRef[]): Promise<{ dir: string; rootfs: string }> {
    const dir = join(this.activeDir, `${process.pid}-${randomBytes(6).toString("hex")}`);
    const rootfs = join(dir, "rootfs");
    await mkdir(rootfs, { recursive: true });
    try {
      for (const layer of layers) {
        if (!hasBlob(layer) || (await this.blobs.stat(layer.digest)) === undefined) {
          throw new SnapshotError(
            "SNAPSHOT_LAYER_MISSING",
            `layer ${layer.digest ?? layer.snapshot} is not in the content store`,
            {
              hint: "pull the image again",
            },
          );
        }
        await extractLayer(await this.blobs.openRead(layer.digest), rootfs, { whiteouts: "apply" });
      }
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
    return { dir, rootfs };
  }
}

class CopyActive implements ActiveSnapshot {
  private released: Promise<void> | undefined;
  private committed = false;

  constructor(
    private readonly dir: string,
    readonly rootfs: string,
    private readonly before: TreeManifest,
  ) {}

  diff(): AsyncIterable<LayerEntry> {
    if (this.released !== undefined) throw new SnapshotError("SNAPSHOT_STATE", "snapshot already released");
    return diffTree(this.rootfs, this.before);
  }

  async commit(_name: string): Promise<void> {
    if (this.committed || this.released !== undefined) {
      throw new SnapshotError("SNAPSHOT_STATE", "snapshot already committed or released");
    }
    this.committed = true;
  }

  release(): Promise<void> {
    this.released ??= rm(this.dir, { recursive: true, force: true });
    return this.released;
  }
}

/**
 * The store of unpacked layers for the overlay snapshotter: `<root>/snapshots/layers/<name>/fs`, in
 * overlay format (whiteouts as 0/0 char devices, opaque directories as `trusted.overlay.opaque=y`), each
 * with a short symlink `<root>/snapshots/l/<id>` so many lowerdirs fit into one mount option string. A
 * layer extracted from a blob is named by its diffID's hex; the directory a build step left is named
 * `s-<key and random hex>` (its blob may not exist yet, see executor/snapshot-blobs.ts).
 * A layer is extracted into a temp directory and renamed into place (atomic); concurrent callers in this
 * process share one extraction, other processes race harmlessly (the loser discards its copy).
 */
import { randomBytes } from "node:crypto";
import { mkdir, readdir, rename, rm, stat, symlink } from "node:fs/promises";
import { join } from "node:path";
import { extractLayer } from "../../image/layer/extract.js";
import type { BlobStore, Digest } from "../../image/store-types.js";
import { processAlive } from "../../util/process-alive.js";
import { mkdirSpread } from "../../util/spread-dirs.js";
import { hasBlob, type LayerRef } from "../types.js";
import { SnapshotError } from "./errors.js";

export class LayerStore {
  readonly snapshotsDir: string;
  readonly layersDir: string;
  readonly linksDir: string;
  private readonly pending = new Map<string, Promise<string>>();

  constructor(
    root: string,
    private readonly blobs: BlobStore,
  ) {
    this.snapshotsDir = join(root, "snapshots");
    this.layersDir = join(this.snapshotsDir, "layers");
    this.linksDir = join(this.snapshotsDir, "l");
  }

  async init(): Promise<void> {
    await mkdirSpread(this.layersDir);
    await mkdir(this.linksDir, { recursive: true });
    // Leftover temp extractions of dead processes.
    for (const name of await readdir(this.layersDir)) {
      const pid = /^\.tmp-(\d+)-/.exec(name)?.[1];
      if (pid !== undefined && !processAlive(Number(pid))) {
        await rm(join(this.layersDir, name), { recursive: true, force: true }).catch(() => {});
      }
    }
  }

  /** Host path of the unpacked layer `name` in the snapshot store under data root `root`. */
  static layerPathIn(root: string, name: string): string {
    return join(root, "snapshots", "layers", checkedName(name), "fs");
  }

  /** Host path of the unpacked layer named `name` (may not exist). */
  layerPath(name: string): string {
    return join(this.layersDir, checkedName(name), "fs");
  }

  /** Path of the layer relative to `snapshotsDir`, through its short link (for mount options). */
  shortPath(name: string): string {
    return `l/${shortId(name)}`;
  }

  async has(name: string): Promise<boolean> {
    return stat(this.layerPath(name)).then(
      (info) => info.isDirectory(),
      () => false,
    );
  }

  /** Unpacks the layer unless it is already there; returns its `fs` directory. */
  ensure(layer: LayerRef): Promise<string> {
    const name = snapshotNameOf(layer);
    let job = this.pending.get(name);
    if (job === undefined) {
      job = this.unpack(name, layer).finally(() => this.pending.delete(name));
      this.pending.set(name, job);
    }
    return job;
  }

  private async unpack(name: string, layer: LayerRef): Promise<string> {
    if (!(await this.has(name))) {
      if (!hasBlob(layer)) {
        throw new SnapshotError("SNAPSHOT_LAYER_MISSING", `the build step's snapshot ${name} is gone`, {
          hint: "run the build again (the step reruns)",
        });
      }
      if ((await this.blobs.stat(layer.digest)) === undefined) {
        throw new SnapshotError(
          "SNAPSHOT_LAYER_MISSING",
          `layer ${layer.digest} is not in the content store`,
          {
            hint: "pull the image again",
          },
        );
      }
      const temp = this.tempDir();
      await mkdir(join(temp, "fs"), { recursive: true });
      try {
        await extractLayer(await this.blobs.openRead(layer.digest), join(temp, "fs"), {
          whiteouts: "overlay",
        });
        await this.adopt(name, temp);
      } finally {
        await rm(temp, { recursive: true, force: true });
      }
    }
    await this.ensureLink(name);
    return this.layerPath(name);
  }

  /**
   * Moves `dir` (which holds an `fs` directory in overlay format) into the store as the layer `name`.
   * Returns false when the layer was already there (`dir` is left for the caller to remove).
   */
  async adopt(name: string, dir: string): Promise<boolean> {
    try {
      await rename(dir, join(this.layersDir, checkedName(name)));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EEXIST" || code === "ENOTEMPTY") return false;
      throw error;
    }
    await this.ensureLink(name);
    return true;
  }

  /** A fresh temp directory next to the layers (same filesystem, so adopting is a rename). */
  tempDir(): string {
    return join(this.layersDir, `.tmp-${process.pid}-${randomBytes(6).toString("hex")}`);
  }

  private async ensureLink(name: string): Promise<void> {
    try {
      await symlink(`../layers/${checkedName(name)}/fs`, join(this.linksDir, shortId(name)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
}

/** The directory a layer is unpacked in: the snapshot a step left, else its diffID's hex. */
export function snapshotNameOf(layer: LayerRef): string {
  if (!hasBlob(layer)) return layer.snapshot;
  return layer.snapshot ?? digestHexOf(layer.diffId);
}

/**
 * A new snapshot name for a layer the step with cache key `key` made: `s-`, half the key's hex (to tell
 * whose it is) and 32 random hex digits. Every commit gets its own directory: a step that runs again
 * (`--no-cache`, or two builds at once) never finds, or changes, a directory another build may be using.
 */
export function stepSnapshotName(key: Digest): string {
  return `s-${digestHexOf(key).slice(0, 32)}${randomBytes(16).toString("hex")}`;
}

function digestHexOf(digest: Digest): string {
  return digest.slice(digest.indexOf(":") + 1);
}

function checkedName(name: string): string {
  if (!/^(?:s-)?[0-9a-f]{64,128}$/.test(name)) {
    throw new SnapshotError("SNAPSHOT_LAYER_MISSING", `invalid layer snapshot name ${JSON.stringify(name)}`);
  }
  return name;
}

/**
 * 16 characters: short enough for ~200 lowerdirs per mount, long enough never to collide in one store. A
 * step's snapshot takes its random tail (snapshots of the same step share the head).
 */
function shortId(name: string): string {
  const checked = checkedName(name);
  return checked.startsWith("s-") ? `s${checked.slice(-15)}` : checked.slice(0, 16);
}

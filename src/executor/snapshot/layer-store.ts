/**
 * The store of unpacked layers for the overlay snapshotter: `<root>/snapshots/layers/<diffId hex>/fs`, in
 * overlay format (whiteouts as 0/0 char devices, opaque directories as `trusted.overlay.opaque=y`), each
 * with a short symlink `<root>/snapshots/l/<id>` so many lowerdirs fit into one mount option string.
 * A layer is extracted into a temp directory and renamed into place (atomic); concurrent callers in this
 * process share one extraction, other processes race harmlessly (the loser discards its copy).
 */
import { randomBytes } from "node:crypto";
import { mkdir, readdir, rename, rm, stat, symlink } from "node:fs/promises";
import { join } from "node:path";
import { extractLayer } from "../../image/layer/extract.js";
import type { BlobStore, Digest } from "../../image/store-types.js";
import type { LayerRef } from "../types.js";
import { SnapshotError } from "./errors.js";
import { processAlive } from "./mount.js";

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
    await mkdir(this.layersDir, { recursive: true });
    await mkdir(this.linksDir, { recursive: true });
    // Leftover temp extractions of dead processes.
    for (const name of await readdir(this.layersDir)) {
      const pid = /^\.tmp-(\d+)-/.exec(name)?.[1];
      if (pid !== undefined && !processAlive(Number(pid))) {
        await rm(join(this.layersDir, name), { recursive: true, force: true }).catch(() => {});
      }
    }
  }

  /** Host path of the unpacked layer (may not exist). */
  layerPath(diffId: Digest): string {
    return join(this.layersDir, hexOf(diffId), "fs");
  }

  /** Path of the layer relative to `snapshotsDir`, through its short link (for mount options). */
  shortPath(diffId: Digest): string {
    return `l/${shortId(diffId)}`;
  }

  async has(diffId: Digest): Promise<boolean> {
    return stat(this.layerPath(diffId)).then(
      (info) => info.isDirectory(),
      () => false,
    );
  }

  /** Unpacks the layer unless it is already there; returns its `fs` directory. */
  ensure(layer: LayerRef): Promise<string> {
    const hex = hexOf(layer.diffId);
    let job = this.pending.get(hex);
    if (job === undefined) {
      job = this.unpack(layer).finally(() => this.pending.delete(hex));
      this.pending.set(hex, job);
    }
    return job;
  }

  private async unpack(layer: LayerRef): Promise<string> {
    if (!(await this.has(layer.diffId))) {
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
        await this.adopt(layer.diffId, temp);
      } finally {
        await rm(temp, { recursive: true, force: true });
      }
    }
    await this.ensureLink(layer.diffId);
    return this.layerPath(layer.diffId);
  }

  /**
   * Moves `dir` (which holds an `fs` directory in overlay format) into the store as the layer `diffId`.
   * Returns false when the layer was already there (`dir` is left for the caller to remove).
   */
  async adopt(diffId: Digest, dir: string): Promise<boolean> {
    try {
      await rename(dir, join(this.layersDir, hexOf(diffId)));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EEXIST" || code === "ENOTEMPTY") return false;
      throw error;
    }
    await this.ensureLink(diffId);
    return true;
  }

  /** A fresh temp directory next to the layers (same filesystem, so adopting is a rename). */
  tempDir(): string {
    return join(this.layersDir, `.tmp-${process.pid}-${randomBytes(6).toString("hex")}`);
  }

  private async ensureLink(diffId: Digest): Promise<void> {
    try {
      await symlink(`../layers/${hexOf(diffId)}/fs`, join(this.linksDir, shortId(diffId)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
}

function hexOf(diffId: Digest): string {
  const hex = diffId.slice(diffId.indexOf(":") + 1);
  if (!/^[0-9a-f]{64,128}$/.test(hex)) {
    throw new SnapshotError("SNAPSHOT_LAYER_MISSING", `invalid layer diffID ${JSON.stringify(diffId)}`);
  }
  return hex;
}

/** 16 hex digits: short enough for ~200 lowerdirs per mount, long enough never to collide in one store. */
function shortId(diffId: Digest): string {
  return hexOf(diffId).slice(0, 16);
}

/**
 * Choosing a snapshotter: `openSnapshotter(root, blobs, prefer)` opens the overlayfs snapshotter when asked
 * for, or with `auto` when a test mount of an overlay succeeds here; otherwise the copying one.
 */
import { randomBytes } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { BlobStore } from "../../image/store-types.js";
import type { Snapshotter } from "../types.js";
import { CopySnapshotter } from "./copy.js";
import { SnapshotError } from "./errors.js";
import { mountOverlay, unmount } from "./mount.js";
import { OverlaySnapshotter } from "./overlay.js";

export { CopySnapshotter } from "./copy.js";
export { SnapshotError } from "./errors.js";
export { OverlaySnapshotter } from "./overlay.js";

export type SnapshotterPreference = "overlayfs" | "copy" | "auto";

const probes = new Map<string, Promise<boolean>>();

export async function openSnapshotter(
  root: string,
  blobs: BlobStore,
  prefer: SnapshotterPreference = "auto",
): Promise<Snapshotter> {
  if (prefer === "copy") return CopySnapshotter.open(root, blobs);
  const works = await overlayWorks(root);
  if (works) return OverlaySnapshotter.open(root, blobs);
  if (prefer === "overlayfs") {
    throw new SnapshotError("SNAPSHOT_UNSUPPORTED", "overlayfs cannot be mounted here", {
      hint: "overlayfs needs root (or a user namespace) and kernel support; use --snapshotter copy",
    });
  }
  return CopySnapshotter.open(root, blobs);
}

/** Mounts a tiny overlay under the data root once per process and root directory. */
export function overlayWorks(root: string): Promise<boolean> {
  let probe = probes.get(root);
  if (probe === undefined) {
    probe = (async () => {
      const dir = join(root, "snapshots", `probe-${process.pid}-${randomBytes(4).toString("hex")}`);
      try {
        await Promise.all(["l", "u", "w", "m"].map((name) => mkdir(join(dir, name), { recursive: true })));
        await mountOverlay({ cwd: dir, lowers: ["l"], upper: "u", work: "w", target: join(dir, "m") });
        await unmount(join(dir, "m"));
        return true;
      } catch {
        return false;
      } finally {
        await rm(dir, { recursive: true, force: true }).catch(() => {});
      }
    })();
    probes.set(root, probe);
  }
  return probe;
}

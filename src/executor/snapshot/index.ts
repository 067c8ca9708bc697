/**
 * Choosing a snapshotter: `openSnapshotter(root, blobs, prefer)` opens the overlayfs snapshotter when asked
 * for, or with `auto` when a test mount of an overlay succeeds here; otherwise the copying one.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, readFile, rm } from "node:fs/promises";
import { release } from "node:os";
import { join } from "node:path";
import { writeFileAtomic } from "../../image/atomic-file.js";
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

/**
 * Whether overlayfs can be mounted under the data root: a tiny overlay is mounted once per process and
 * root directory, and a success is remembered in `snapshots/overlay-works` for this boot, kernel and
 * user, so later builds skip the probe (two mounts through the host shell).
 */
export function overlayWorks(root: string): Promise<boolean> {
  let probe = probes.get(root);
  if (probe === undefined) {
    probe = (async () => {
      const marker = join(root, "snapshots", "overlay-works");
      const stamp = probeStamp();
      if (stamp !== undefined && (await readFile(marker, "utf8").catch(() => "")) === stamp) return true;
      const dir = join(root, "snapshots", `probe-${process.pid}-${randomBytes(4).toString("hex")}`);
      try {
        await Promise.all(["l", "u", "w", "m"].map((name) => mkdir(join(dir, name), { recursive: true })));
        await mountOverlay({ cwd: dir, lowers: ["l"], upper: "u", work: "w", target: join(dir, "m") });
        await unmount(join(dir, "m"));
        if (stamp !== undefined) await writeFileAtomic(marker, stamp).catch(() => {});
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

/** What a remembered probe result holds for: this boot, this kernel, this user (undefined: never trust). */
function probeStamp(): string | undefined {
  try {
    const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    return `${boot} ${release()} uid=${process.getuid?.() ?? "?"}\n`;
  } catch {
    return undefined;
  }
}

/**
 * Mount helpers for the overlay snapshotter: `mount -t overlay` with relative lowerdir paths (run with
 * `cwd` set, the chdir trick that keeps the option string under the page-size limit), unmounting and the
 * mount table.
 */
import { readFile } from "node:fs/promises";
import { hostCommandOk } from "../../util/host-command.js";
import { SnapshotError } from "./errors.js";

/** The kernel refuses mount data longer than one page. */
export const MOUNT_OPTIONS_LIMIT = 4096 - 1;

export interface OverlayMountSpec {
  /** Directory the relative paths below are relative to (the mount command runs there). */
  cwd: string;
  /** Lower directories, top first. */
  lowers: string[];
  upper?: string;
  work?: string;
  /** Absolute mount point. */
  target: string;
}

export async function mountOverlay(spec: OverlayMountSpec): Promise<void> {
  const options = [`lowerdir=${spec.lowers.join(":")}`];
  if (spec.upper !== undefined) options.push(`upperdir=${spec.upper}`, `workdir=${spec.work}`);
  const data = options.join(",");
  if (data.length > MOUNT_OPTIONS_LIMIT) {
    throw new SnapshotError(
      "SNAPSHOT_MOUNT",
      `too many layers for one overlay mount (${spec.lowers.length})`,
      {
        hint: "squash the base image or use --snapshotter copy",
      },
    );
  }
  try {
    await hostCommandOk(["mount", "-t", "overlay", "overlay", "-o", data, spec.target], { cwd: spec.cwd });
  } catch (error) {
    throw new SnapshotError("SNAPSHOT_MOUNT", `cannot mount overlay at ${spec.target}: ${stderrOf(error)}`, {
      hint: "overlayfs needs root and a kernel with overlay support; --snapshotter copy works everywhere",
      cause: error,
    });
  }
}

/** Unmounts `target`; falls back to a lazy unmount when it is busy. Missing mounts are fine. */
export async function unmount(target: string): Promise<void> {
  if (!(await isMountPoint(target))) return;
  try {
    await hostCommandOk(["umount", target]);
  } catch {
    await hostCommandOk(["umount", "-l", target]).catch((error) => {
      throw new SnapshotError("SNAPSHOT_MOUNT", `cannot unmount ${target}: ${stderrOf(error)}`, {
        cause: error,
      });
    });
  }
}

/** Whether `path` is a mount point in this mount namespace (from /proc/self/mountinfo). */
export async function isMountPoint(path: string): Promise<boolean> {
  return (await mountPoints()).has(path);
}

export async function mountPoints(): Promise<Set<string>> {
  const text = await readFile("/proc/self/mountinfo", "utf8");
  const points = new Set<string>();
  for (const line of text.split("\n")) {
    const field = line.split(" ")[4];
    if (field !== undefined)
      points.add(
        field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8))),
      );
  }
  return points;
}

export function stderrOf(error: unknown): string {
  const e = error as { stderr?: string; message?: string };
  return (e.stderr?.trim() || e.message || String(error)).split("\n")[0] ?? "";
}

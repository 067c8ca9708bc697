/**
 * Writing into a root filesystem (a COPY target, or the directory an archive is extracted into) without
 * ever leaving it: parent directories are resolved within the root (symlinks followed as the container
 * would see them), missing ones created 0755 with the copy's owner (BuildKit's MkdirAll), and each entry
 * is placed with no-follow operations on its final component, replacing what was there. Directory times
 * are set last (`finish`), since writing inside a directory changes its mtime.
 */
import { execFile } from "node:child_process";
import type { Stats } from "node:fs";
import { createWriteStream } from "node:fs";
import { chmod, copyFile, lchown, link, lutimes, mkdir, rmdir, symlink, unlink } from "node:fs/promises";
import { dirname, join, posix, relative } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { CopyError } from "../../context/errors.js";
import { lstatOrUndefined, resolveInRoot } from "../../util/root-path.js";

const run = promisify(execFile);

export interface Ownership {
  uid: number;
  gid: number;
}

/** Metadata of a placed entry. `mtimeNs` undefined keeps the time the write gave it. */
export interface PlaceMeta {
  mode: number;
  uid: number;
  gid: number;
  mtimeNs?: bigint;
}

export type PlaceContent =
  | { kind: "file"; copyFrom: string }
  | { kind: "file"; stream: Readable }
  | { kind: "directory" }
  | { kind: "symlink"; target: string }
  | { kind: "hardlink"; existing: string }
  | { kind: "fifo" | "character-device" | "block-device"; major?: number; minor?: number };

export class TargetTree {
  private readonly dirTimes: Array<{ path: string; mtimeNs: bigint }> = [];

  constructor(
    /** Absolute, symlink-free root. */
    readonly root: string,
  ) {}

  /** The path of a host path inside the root, `/`-separated (`""` = the root). */
  relOf(abs: string): string {
    return relative(this.root, abs).split("/").filter(Boolean).join("/");
  }

  /**
   * Resolves directory `path` (container form) inside the root, creating missing components with mode
   * 0755 and `owner` (default 0:0). Fails when an existing component is not a directory.
   */
  async mkdirAll(path: string, owner?: Ownership): Promise<string> {
    const resolved = await resolveInRoot(this.root, path, true);
    if (resolved.stats?.isDirectory()) return resolved.abs;
    if (resolved.stats !== undefined) {
      throw new CopyError("COPY_INVALID", `cannot create directory /${resolved.rel}: a file is in the way`, {
        path: `/${resolved.rel}`,
        hint: "the destination (or one of its parents) exists in the image as a file",
      });
    }
    const missing: string[] = [];
    let cursor = resolved.abs;
    while (cursor !== this.root && (await lstatOrUndefined(cursor)) === undefined) {
      missing.unshift(cursor);
      cursor = dirname(cursor);
    }
    const existing = await lstatOrUndefined(cursor);
    if (existing !== undefined && !existing.isDirectory()) {
      throw new CopyError("COPY_INVALID", `cannot create directory /${this.relOf(cursor)}: not a directory`, {
        path: `/${this.relOf(cursor)}`,
      });
    }
    for (const dir of missing) {
      await mkdir(dir, { mode: 0o755 });
      await chmod(dir, 0o755);
      if (owner !== undefined) await lchown(dir, owner.uid, owner.gid);
    }
    return resolved.abs;
  }

  /**
   * Places one entry at `parentAbs/name` (parentAbs already resolved inside the root). An existing
   * directory stays (and gets `meta` only when `overwriteMetadata`); a directory symlink is followed
   * within the root when a directory is placed; anything else in the way is replaced. Returns the host
   * path of what was placed (for directories: where children go).
   */
  async place(
    parentAbs: string,
    name: string,
    content: PlaceContent,
    meta: PlaceMeta,
    overwriteMetadata = true,
  ): Promise<string> {
    let target = join(parentAbs, name);
    let existing = await lstatOrUndefined(target);
    if (content.kind === "directory") {
      if (existing?.isSymbolicLink()) {
        const followed = await resolveInRoot(this.root, this.relOf(target), true);
        if (followed.stats?.isDirectory()) {
          target = followed.abs;
          existing = followed.stats;
        }
      }
      if (existing?.isDirectory()) {
        if (overwriteMetadata) await this.applyMeta(target, meta, true);
        return target;
      }
      if (existing !== undefined) await unlink(target);
      await mkdir(target, { mode: 0o700 });
      await this.applyMeta(target, meta, true);
      return target;
    }
    if (existing !== undefined) await this.clear(target, existing);
    switch (content.kind) {
      case "file":
        if ("copyFrom" in content) await copyFile(content.copyFrom, target);
        else await pipeline(content.stream, createWriteStream(target, { flags: "wx", mode: 0o600 }));
        break;
      case "symlink":
        await symlink(content.target, target);
        break;
      case "hardlink":
        await link(content.existing, target);
        return target;
      default: {
        const kind = content.kind === "fifo" ? "p" : content.kind === "character-device" ? "c" : "b";
        const args =
          kind === "p" ? [target, "p"] : [target, kind, String(content.major), String(content.minor)];
        await run("mknod", args).catch((error: Error) => {
          throw new CopyError("COPY_INVALID", `cannot create ${content.kind} /${this.relOf(target)}`, {
            path: `/${this.relOf(target)}`,
            cause: error,
          });
        });
      }
    }
    await this.applyMeta(target, meta, false, content.kind === "symlink");
    return target;
  }

  private async clear(target: string, existing: Stats): Promise<void> {
    if (!existing.isDirectory()) {
      await unlink(target);
      return;
    }
    try {
      await rmdir(target);
    } catch {
      throw new CopyError("COPY_INVALID", `cannot replace directory /${this.relOf(target)} with a file`, {
        path: `/${this.relOf(target)}`,
        hint: "the destination already holds a non-empty directory of that name",
      });
    }
  }

  private async applyMeta(
    target: string,
    meta: PlaceMeta,
    isDirectory: boolean,
    isSymlink = false,
  ): Promise<void> {
    await lchown(target, meta.uid, meta.gid);
    if (!isSymlink) await chmod(target, meta.mode);
    if (meta.mtimeNs === undefined) return;
    if (isDirectory) this.dirTimes.push({ path: target, mtimeNs: meta.mtimeNs });
    else await setTimes(target, meta.mtimeNs);
  }

  /** Sets the recorded directory times, deepest first. */
  async finish(): Promise<void> {
    for (const { path, mtimeNs } of this.dirTimes.reverse()) await setTimes(path, mtimeNs);
    this.dirTimes.length = 0;
  }
}

async function setTimes(path: string, mtimeNs: bigint): Promise<void> {
  const seconds = Number(mtimeNs / 1000n) / 1e6;
  await lutimes(path, seconds, seconds);
}

/** Container path helpers: `/a/b` + `c` and the directory / name split of a container path. */
export function containerJoin(dir: string, rel: string): string {
  return rel === "" ? dir : posix.join(dir, rel);
}

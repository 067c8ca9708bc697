/**
 * Where a TargetTree's placements go: the `WriteRoot` contract (container paths relative to the root,
 * `""` for the root itself) and `DiskWriteRoot`, which writes them into a host directory. The hot path is
 * synchronous (one exclusive create, then owner/mode/time only where they differ from what the create
 * gave); directory times are set last (`finish`). The other implementation, layer-root.ts, only records.
 */
import { execFile } from "node:child_process";
import {
  chmodSync,
  constants,
  copyFileSync,
  createWriteStream,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  readlinkSync,
  rmdirSync,
  type Stats,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { copyFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { CopyError } from "../../context/errors.js";

const run = promisify(execFile);
/** Files up to this size are copied synchronously; larger ones off the event loop. */
const SYNC_COPY_LIMIT = 4 * 1024 * 1024;

export const EUID = process.geteuid?.() ?? 0;
export const EGID = process.getegid?.() ?? 0;

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
  /** `sourceMode`/`size`, when known, let the copy skip a chmod and pick the sync path. */
  | { kind: "file"; copyFrom: string; sourceMode?: number; size?: number }
  | { kind: "file"; stream: Readable }
  | { kind: "file"; data: Buffer }
  | { kind: "directory" }
  | { kind: "symlink"; target: string }
  /** `existing`: the write-root path (relative) of an entry placed earlier. */
  | { kind: "hardlink"; existing: string }
  | { kind: "fifo" | "character-device" | "block-device"; major?: number; minor?: number };

/** What a path holds, as far as placement asks (fs.Stats fits). */
export interface NodeStats {
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
}

export interface WriteRoot {
  /** Host path of `rel` (for writers that need a real directory: archive extraction). */
  hostPath(rel: string): string;
  /** What is at `rel` (not followed); undefined when nothing is (or a component is not a directory). */
  lstat(rel: string): NodeStats | undefined;
  readlink(rel: string): string;
  /** A new directory with the mode, owner and mtime of `below` (overlayfs copy-up). */
  copyUp(rel: string, below: NodeStats): void;
  /** A new 0755 directory owned by `owner`, else by the process with `newGid` (the parent's gid rule). */
  mkdirDefault(rel: string, owner: Ownership | undefined, newGid: number): void;
  /** Creates a new entry; false when something is already there. */
  create(rel: string, content: PlaceContent, meta: PlaceMeta, newGid: number): Promise<boolean>;
  /** Gives the existing directory at `rel` owner, mode and (if set) time of `meta`. */
  update(rel: string, meta: PlaceMeta): void;
  /** Removes a non-directory or an empty directory; false when the directory is not empty. */
  remove(rel: string): boolean;
  /** Called once every entry is placed. */
  finish(): Promise<void>;
}

export function lstatOrNone(path: string): Stats | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOTDIR") return undefined;
    throw error;
  }
}

function isCode(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === code;
}

/** Writes placements into the host directory `root` (absolute, symlink-free). */
export class DiskWriteRoot implements WriteRoot {
  /** Directory host path → the time it gets at `finish` (the last one recorded wins). */
  private readonly dirTimes = new Map<string, bigint>();

  constructor(readonly root: string) {}

  hostPath(rel: string): string {
    return rel === "" ? this.root : join(this.root, rel);
  }

  lstat(rel: string): NodeStats | undefined {
    return rel === "" ? lstatSync(this.root) : lstatOrNone(join(this.root, rel));
  }

  readlink(rel: string): string {
    return readlinkSync(join(this.root, rel));
  }

  copyUp(rel: string, below: NodeStats): void {
    const abs = join(this.root, rel);
    mkdirSync(abs, { mode: 0o700 });
    lchownSync(abs, below.uid, below.gid);
    chmodSync(abs, below.mode & 0o7777);
    this.dirTimes.set(abs, BigInt(Math.round(below.mtimeMs * 1000)) * 1000n);
  }

  mkdirDefault(rel: string, owner: Ownership | undefined): void {
    const abs = join(this.root, rel);
    mkdirSync(abs, { mode: 0o755 });
    chmodSync(abs, 0o755);
    if (owner !== undefined) lchownSync(abs, owner.uid, owner.gid);
  }

  async create(rel: string, content: PlaceContent, meta: PlaceMeta, newGid: number): Promise<boolean> {
    const abs = join(this.root, rel);
    try {
      switch (content.kind) {
        case "directory":
          mkdirSync(abs, { mode: 0o700 });
          this.applyMeta(abs, meta, "directory", newGid);
          return true;
        case "file":
          if ("copyFrom" in content) {
            if ((content.size ?? Number.POSITIVE_INFINITY) <= SYNC_COPY_LIMIT) {
              copyFileSync(content.copyFrom, abs, constants.COPYFILE_EXCL);
            } else await copyFile(content.copyFrom, abs, constants.COPYFILE_EXCL);
            this.applyMeta(abs, meta, "file", newGid, content.sourceMode);
          } else if ("data" in content) {
            writeFileSync(abs, content.data, { flag: "wx", mode: 0o600 });
            this.applyMeta(abs, meta, "file", newGid);
          } else {
            // Checked first: a failed exclusive open would leave the stream half consumed.
            if (lstatOrNone(abs) !== undefined) return false;
            await pipeline(content.stream, createWriteStream(abs, { flags: "wx", mode: 0o600 }));
            this.applyMeta(abs, meta, "file", newGid);
          }
          return true;
        case "symlink":
          symlinkSync(content.target, abs);
          this.applyMeta(abs, meta, "symlink", newGid);
          return true;
        case "hardlink":
          linkSync(join(this.root, content.existing), abs);
          return true;
        default:
          if (lstatOrNone(abs) !== undefined) return false;
          await this.mknod(abs, rel, content);
          this.applyMeta(abs, meta, "file", newGid);
          return true;
      }
    } catch (error) {
      if (isCode(error, "EEXIST")) return false;
      throw error;
    }
  }

  update(rel: string, meta: PlaceMeta): void {
    this.applyMeta(this.hostPath(rel), meta, "directory", EGID, undefined, true);
  }

  remove(rel: string): boolean {
    const abs = join(this.root, rel);
    if (!lstatSync(abs).isDirectory()) {
      unlinkSync(abs);
      return true;
    }
    try {
      rmdirSync(abs);
      return true;
    } catch {
      return false;
    }
  }

  private async mknod(
    abs: string,
    rel: string,
    content: { kind: "fifo" | "character-device" | "block-device"; major?: number; minor?: number },
  ): Promise<void> {
    const kind = content.kind === "fifo" ? "p" : content.kind === "character-device" ? "c" : "b";
    const args = kind === "p" ? [abs, "p"] : [abs, kind, String(content.major), String(content.minor)];
    await run("mknod", args).catch((error: Error) => {
      throw new CopyError("COPY_INVALID", `cannot create ${content.kind} /${rel}`, {
        path: `/${rel}`,
        cause: error,
      });
    });
  }

  /**
   * Owner, mode and time of a just-made entry, each only where it differs from what the create gave it
   * (owner: euid and `newGid`; mode: the source's, which copyFile keeps). A chown clears setuid/setgid,
   * so the mode is set again after one. Directory times wait for `finish`.
   */
  private applyMeta(
    abs: string,
    meta: PlaceMeta,
    kind: "file" | "directory" | "symlink",
    newGid: number,
    createdMode?: number,
    existing = false,
  ): void {
    const chown = existing || meta.uid !== EUID || meta.gid !== newGid;
    if (chown) lchownSync(abs, meta.uid, meta.gid);
    if (kind !== "symlink") {
      const modeDiffers = createdMode === undefined || (createdMode & 0o7777) !== meta.mode;
      if (modeDiffers || (chown && (meta.mode & 0o6000) !== 0)) chmodSync(abs, meta.mode);
    }
    if (meta.mtimeNs === undefined) return;
    if (kind === "directory") this.dirTimes.set(abs, meta.mtimeNs);
    else setTimes(abs, meta.mtimeNs);
  }

  /** Sets the recorded directory times (after every write, since a write inside changes them). */
  async finish(): Promise<void> {
    for (const [path, mtimeNs] of this.dirTimes) setTimes(path, mtimeNs);
    this.dirTimes.clear();
  }
}

function setTimes(path: string, mtimeNs: bigint): void {
  const seconds = Number(mtimeNs / 1000n) / 1e6;
  lutimesSync(path, seconds, seconds);
}

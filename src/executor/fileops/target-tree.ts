/**
 * Writing a COPY/ADD result without ever leaving the target root. The tree is a WRITE root (the directory
 * that becomes the layer) over an optional read-only LOWER root (the layers below, as one view): every
 * path question — does it exist, is it a directory, is a component a symlink (followed within the root,
 * as the container would see it) — is answered from the union, write root first; writes follow overlayfs
 * copy-up semantics: a parent directory that exists below is created in the write root with the same
 * mode/owner/mtime, a missing one 0755 with the copy's owner (BuildKit's MkdirAll), a path reached through
 * a symlink below is written at the link's resolved path, and an entry that exists below is simply
 * written (the layer's entry replaces it). Entries are placed with no-follow operations on their final
 * component. The hot path is synchronous (one exclusive create, then owner/mode/time only where they
 * differ from what the create gave); directory times are set last (`finish`).
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
  readdirSync,
  readlinkSync,
  rmdirSync,
  type Stats,
  symlinkSync,
  unlinkSync,
} from "node:fs";
import { copyFile } from "node:fs/promises";
import { join, posix } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { CopyError } from "../../context/errors.js";
import { RootPathError } from "../../util/root-path.js";

const run = promisify(execFile);
const MAX_LINKS = 255;
/** Files up to this size are copied synchronously; larger ones off the event loop. */
const SYNC_COPY_LIMIT = 4 * 1024 * 1024;
const S_ISGID = 0o2000;

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
  | { kind: "directory" }
  | { kind: "symlink"; target: string }
  | { kind: "hardlink"; existing: string }
  | { kind: "fifo" | "character-device" | "block-device"; major?: number; minor?: number };

/** A directory of the tree, ready to receive entries. */
export interface TreeDir {
  /** Container path relative to the root, `/`-separated, `""` for the root. */
  rel: string;
  /** Host path in the write root. */
  abs: string;
  /** Host path of the same directory in the lower root, when there is one (its entries show through). */
  lower: string | undefined;
  /** The gid a new entry gets from the kernel (the directory's own with setgid, else the process's). */
  newGid: number;
}

/** A path resolved in the union: where it lives in the write root, and what is there (write root first). */
export interface TreePath {
  rel: string;
  abs: string;
  stats: Stats | undefined;
  /** The entry seen is the lower root's (nothing at `abs` yet). */
  inLower: boolean;
}

/** A placed entry: its host path (for hard links) and, for a directory, where its children go. */
export interface Placed {
  abs: string;
  dir?: TreeDir;
}

const EUID = process.geteuid?.() ?? 0;
const EGID = process.getegid?.() ?? 0;

function lstatOrNone(path: string): Stats | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOTDIR") return undefined;
    throw error;
  }
}

function components(path: string): string[] {
  return path.split("/").filter((part) => part !== "" && part !== ".");
}

function isCode(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === code;
}

export class TargetTree {
  /** Directory host path → the time it gets at `finish` (the last one recorded wins). */
  private readonly dirTimes = new Map<string, bigint>();

  constructor(
    /** Absolute, symlink-free directory the entries are written into. */
    readonly root: string,
    /** Absolute, symlink-free read-only root of what is below (none: the write root is all there is). */
    readonly lowerRoot?: string,
  ) {}

  /**
   * Resolves `path` (container form) in the union of both roots. Symlinks in the middle are always
   * followed, the last component only when `followFinal`; missing components are kept literally.
   */
  resolve(path: string, followFinal = false): TreePath {
    const pending = components(path);
    const resolved: string[] = [];
    // Per resolved component: its stats, whether it came from below, whether the lower root has a directory there.
    const stack: Array<{ stats: Stats; inLower: boolean; lowerDir: boolean }> = [];
    let links = 0;
    const top = () => stack[stack.length - 1];
    while (pending.length > 0) {
      const part = pending.shift()!;
      if (part === "..") {
        resolved.pop();
        stack.pop();
        continue;
      }
      const lowerValid = this.lowerRoot !== undefined && (top()?.lowerDir ?? true);
      const written = lstatOrNone(join(this.root, ...resolved, part));
      const below = lowerValid ? lstatOrNone(join(this.lowerRoot!, ...resolved, part)) : undefined;
      const stats = written ?? below;
      if (stats?.isSymbolicLink() && (pending.length > 0 || followFinal)) {
        if (++links > MAX_LINKS)
          throw new RootPathError(`too many levels of symbolic links in ${path}`, path);
        const target = readlinkSync(join(written ? this.root : this.lowerRoot!, ...resolved, part));
        if (target.startsWith("/")) {
          resolved.length = 0;
          stack.length = 0;
        }
        pending.unshift(...components(target));
        continue;
      }
      resolved.push(part);
      if (stats === undefined) {
        for (const rest of pending) {
          if (rest === "..") resolved.pop();
          else resolved.push(rest);
        }
        const rel = resolved.join("/");
        return { rel, abs: join(this.root, rel), stats: undefined, inLower: false };
      }
      const lowerDir = below?.isDirectory() === true && (written === undefined || written.isDirectory());
      stack.push({ stats, inLower: written === undefined, lowerDir });
    }
    const rel = resolved.join("/");
    const last = top();
    if (last === undefined) {
      return { rel, abs: this.root, stats: lstatSync(this.root), inLower: false };
    }
    return { rel, abs: join(this.root, rel), stats: last.stats, inLower: last.inLower };
  }

  /**
   * Resolves directory `path` (container form), creating it and its parents in the write root: copied
   * up with their metadata where they exist below, else 0755 owned by `owner` (default 0:0). Fails when
   * an existing component is not a directory.
   */
  async mkdirAll(path: string, owner?: Ownership): Promise<TreeDir> {
    const resolved = this.resolve(path, true);
    if (resolved.stats !== undefined && !resolved.stats.isDirectory()) {
      throw new CopyError("COPY_INVALID", `cannot create directory /${resolved.rel}: a file is in the way`, {
        path: `/${resolved.rel}`,
        hint: "the destination (or one of its parents) exists in the image as a file",
      });
    }
    return this.ensureDirs(resolved.rel, owner);
  }

  /** Makes every component of the symlink-free `rel` a directory of the write root. */
  private ensureDirs(rel: string, owner: Ownership | undefined): TreeDir {
    let dir = this.rootDir();
    for (const part of components(rel)) {
      const childRel = dir.rel === "" ? part : `${dir.rel}/${part}`;
      const abs = join(dir.abs, part);
      const lower = dir.lower === undefined ? undefined : join(dir.lower, part);
      const written = lstatOrNone(abs);
      const below = lower === undefined ? undefined : lstatOrNone(lower);
      const existing = written ?? below;
      if (existing !== undefined && !existing.isDirectory()) {
        throw new CopyError("COPY_INVALID", `cannot create directory /${childRel}: not a directory`, {
          path: `/${childRel}`,
        });
      }
      const lowerDir = below?.isDirectory() && (written === undefined || written.isDirectory());
      if (written === undefined) {
        if (below !== undefined) this.copyUp(abs, below);
        else {
          mkdirSync(abs, { mode: 0o755 });
          chmodSync(abs, 0o755);
          if (owner !== undefined) lchownSync(abs, owner.uid, owner.gid);
        }
      }
      const stats = written ?? lstatSync(abs);
      dir = { rel: childRel, abs, lower: lowerDir ? lower : undefined, newGid: gidForChildren(stats) };
    }
    return dir;
  }

  private rootDir(): TreeDir {
    return {
      rel: "",
      abs: this.root,
      lower: this.lowerRoot,
      newGid: gidForChildren(lstatSync(this.root)),
    };
  }

  /** Creates directory `abs` as a copy-up of `below` (same mode, owner and, at `finish`, mtime). */
  private copyUp(abs: string, below: Stats): void {
    mkdirSync(abs, { mode: 0o700 });
    lchownSync(abs, below.uid, below.gid);
    chmodSync(abs, below.mode & 0o7777);
    this.dirTimes.set(abs, BigInt(Math.round(below.mtimeMs * 1000)) * 1000n);
  }

  /**
   * Places one entry named `name` in `parent`. An existing directory stays (and gets `meta` only when
   * `overwriteMetadata`); a directory symlink is followed within the root when a directory is placed;
   * anything else in the way is replaced.
   */
  async place(
    parent: TreeDir,
    name: string,
    content: PlaceContent,
    meta: PlaceMeta,
    overwriteMetadata = true,
  ): Promise<Placed> {
    const abs = join(parent.abs, name);
    // Fast path: nothing below, so an exclusive create either succeeds or tells us something is there.
    if (parent.lower === undefined || lstatOrNone(join(parent.lower, name)) === undefined) {
      const placed = await this.create(parent, name, abs, content, meta);
      if (placed !== undefined) return placed;
    }
    return this.replace(parent, name, content, meta, overwriteMetadata);
  }

  /** Creates a new entry at `abs`; undefined when something already exists there. */
  private async create(
    parent: TreeDir,
    name: string,
    abs: string,
    content: PlaceContent,
    meta: PlaceMeta,
  ): Promise<Placed | undefined> {
    try {
      switch (content.kind) {
        case "directory": {
          mkdirSync(abs, { mode: 0o700 });
          this.applyMeta(abs, meta, "directory", parent.newGid);
          const rel = parent.rel === "" ? name : `${parent.rel}/${name}`;
          const newGid = (meta.mode & S_ISGID) !== 0 ? meta.gid : EGID;
          return { abs, dir: { rel, abs, lower: undefined, newGid } };
        }
        case "file":
          if ("copyFrom" in content) {
            if ((content.size ?? Number.POSITIVE_INFINITY) <= SYNC_COPY_LIMIT) {
              copyFileSync(content.copyFrom, abs, constants.COPYFILE_EXCL);
            } else await copyFile(content.copyFrom, abs, constants.COPYFILE_EXCL);
            this.applyMeta(abs, meta, "file", parent.newGid, content.sourceMode);
          } else {
            // Checked first: a failed exclusive open would leave the stream half consumed.
            if (lstatOrNone(abs) !== undefined) return undefined;
            await pipeline(content.stream, createWriteStream(abs, { flags: "wx", mode: 0o600 }));
            this.applyMeta(abs, meta, "file", parent.newGid);
          }
          return { abs };
        case "symlink":
          symlinkSync(content.target, abs);
          this.applyMeta(abs, meta, "symlink", parent.newGid);
          return { abs };
        case "hardlink":
          linkSync(content.existing, abs);
          return { abs };
        default:
          if (lstatOrNone(abs) !== undefined) return undefined;
          await this.mknod(abs, content);
          this.applyMeta(abs, meta, "file", parent.newGid);
          return { abs };
      }
    } catch (error) {
      if (isCode(error, "EEXIST")) return undefined;
      throw error;
    }
  }

  /** The general path: something exists at the name (in the write root, below, or both). */
  private async replace(
    parent: TreeDir,
    name: string,
    content: PlaceContent,
    meta: PlaceMeta,
    overwriteMetadata: boolean,
  ): Promise<Placed> {
    const rel = parent.rel === "" ? name : `${parent.rel}/${name}`;
    const abs = join(parent.abs, name);
    const lower = parent.lower === undefined ? undefined : join(parent.lower, name);
    const written = lstatOrNone(abs);
    const below = lower === undefined ? undefined : lstatOrNone(lower);
    if (content.kind === "directory") {
      if ((written ?? below)?.isSymbolicLink()) {
        const followed = this.resolve(rel, true);
        if (followed.stats?.isDirectory()) {
          const dir = this.ensureDirs(followed.rel, undefined);
          if (overwriteMetadata) this.applyMeta(dir.abs, meta, "directory", EGID, undefined, true);
          return { abs: dir.abs, dir };
        }
      }
      if ((written ?? below)?.isDirectory()) {
        const dir = this.ensureDirs(rel, undefined);
        if (overwriteMetadata) this.applyMeta(dir.abs, meta, "directory", EGID, undefined, true);
        return { abs: dir.abs, dir };
      }
      if (written !== undefined) unlinkSync(abs);
      const placed = await this.create(parent, name, abs, content, meta);
      return placed!;
    }
    // A non-empty directory below shows through an emptied one: refuse as the merged tree would.
    if (below?.isDirectory() && (written === undefined || written.isDirectory())) {
      if (readdirSync(lower!).length > 0) throw this.notEmpty(rel);
    }
    if (written !== undefined) this.clear(abs, rel, written);
    const placed = await this.create(parent, name, abs, content, meta);
    if (placed === undefined) throw new CopyError("COPY_INVALID", `cannot create /${rel}: it exists`);
    return placed;
  }

  private clear(abs: string, rel: string, written: Stats): void {
    if (!written.isDirectory()) {
      unlinkSync(abs);
      return;
    }
    try {
      rmdirSync(abs);
    } catch {
      throw this.notEmpty(rel);
    }
  }

  private notEmpty(rel: string): CopyError {
    return new CopyError("COPY_INVALID", `cannot replace directory /${rel} with a file`, {
      path: `/${rel}`,
      hint: "the destination already holds a non-empty directory of that name",
    });
  }

  private async mknod(
    abs: string,
    content: { kind: "fifo" | "character-device" | "block-device"; major?: number; minor?: number },
  ): Promise<void> {
    const kind = content.kind === "fifo" ? "p" : content.kind === "character-device" ? "c" : "b";
    const args = kind === "p" ? [abs, "p"] : [abs, kind, String(content.major), String(content.minor)];
    await run("mknod", args).catch((error: Error) => {
      const rel = posix.normalize(abs.slice(this.root.length)) || "/";
      throw new CopyError("COPY_INVALID", `cannot create ${content.kind} ${rel}`, {
        path: rel,
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

function gidForChildren(stats: Stats): number {
  return (stats.mode & S_ISGID) !== 0 ? stats.gid : EGID;
}

function setTimes(path: string, mtimeNs: bigint): void {
  const seconds = Number(mtimeNs / 1000n) / 1e6;
  lutimesSync(path, seconds, seconds);
}

/** Container path helpers: `/a/b` + `c` and the directory / name split of a container path. */
export function containerJoin(dir: string, rel: string): string {
  return rel === "" ? dir : posix.join(dir, rel);
}

/**
 * Writing a COPY/ADD result without ever leaving the target root. The tree is a WRITE root (what becomes
 * the layer: a host directory, DiskWriteRoot, or an in-memory entry list, LayerWriteRoot — see
 * write-root.ts) over an optional read-only LOWER root (the layers below, as one view): every path
 * question — does it exist, is it a directory, is a component a symlink (followed within the root, as
 * the container would see it) — is answered from the union, write root first; writes follow overlayfs
 * copy-up semantics: a parent directory that exists below is created in the write root with the same
 * mode/owner/mtime, a missing one 0755 with the copy's owner (BuildKit's MkdirAll), a path reached through
 * a symlink below is written at the link's resolved path, and an entry that exists below is simply
 * written (the layer's entry replaces it). Entries are placed with no-follow operations on their final
 * component. These placement rules live here only; the write root decides what a placement does.
 */
import { readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { CopyError } from "../../context/errors.js";
import { RootPathError } from "../../util/root-path.js";
import {
  DiskWriteRoot,
  EGID,
  lstatOrNone,
  type NodeStats,
  type Ownership,
  type PlaceContent,
  type PlaceMeta,
  type WriteRoot,
} from "./write-root.js";

export type { NodeStats, Ownership, PlaceContent, PlaceMeta, WriteRoot } from "./write-root.js";

const MAX_LINKS = 255;
const S_ISGID = 0o2000;

/** A directory of the tree, ready to receive entries. */
export interface TreeDir {
  /** Container path relative to the root, `/`-separated, `""` for the root. */
  rel: string;
  /** Host path in the write root (virtual for a write root that is not a directory). */
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
  stats: NodeStats | undefined;
  /** The entry seen is the lower root's (nothing at `abs` yet). */
  inLower: boolean;
}

/** A placed entry: its write-root path (for hard links) and, for a directory, where its children go. */
export interface Placed {
  rel: string;
  dir?: TreeDir;
}

function components(path: string): string[] {
  return path.split("/").filter((part) => part !== "" && part !== ".");
}

function childOf(parentRel: string, name: string): string {
  return parentRel === "" ? name : `${parentRel}/${name}`;
}

export class TargetTree {
  readonly write: WriteRoot;

  constructor(
    /** Where entries go: a WriteRoot, or an absolute symlink-free host directory (a DiskWriteRoot). */
    write: WriteRoot | string,
    /** Absolute, symlink-free read-only root of what is below (none: the write root is all there is). */
    readonly lowerRoot?: string,
  ) {
    this.write = typeof write === "string" ? new DiskWriteRoot(write) : write;
  }

  /**
   * Resolves `path` (container form) in the union of both roots. Symlinks in the middle are always
   * followed, the last component only when `followFinal`; missing components are kept literally.
   */
  resolve(path: string, followFinal = false): TreePath {
    const pending = components(path);
    const resolved: string[] = [];
    // Per resolved component: its stats, whether it came from below, whether the lower root has a directory there.
    const stack: Array<{ stats: NodeStats; inLower: boolean; lowerDir: boolean }> = [];
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
      const rel = resolved.length === 0 ? part : `${resolved.join("/")}/${part}`;
      const written = this.write.lstat(rel);
      const below = lowerValid ? lstatOrNone(join(this.lowerRoot!, rel)) : undefined;
      const stats = written ?? below;
      if (stats?.isSymbolicLink() && (pending.length > 0 || followFinal)) {
        if (++links > MAX_LINKS)
          throw new RootPathError(`too many levels of symbolic links in ${path}`, path);
        const target = written ? this.write.readlink(rel) : readlinkSync(join(this.lowerRoot!, rel));
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
        const missing = resolved.join("/");
        return { rel: missing, abs: this.write.hostPath(missing), stats: undefined, inLower: false };
      }
      const lowerDir = below?.isDirectory() === true && (written === undefined || written.isDirectory());
      stack.push({ stats, inLower: written === undefined, lowerDir });
    }
    const rel = resolved.join("/");
    const last = top();
    if (last === undefined) {
      return { rel, abs: this.write.hostPath(""), stats: this.write.lstat(""), inLower: false };
    }
    return { rel, abs: this.write.hostPath(rel), stats: last.stats, inLower: last.inLower };
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
      const childRel = childOf(dir.rel, part);
      const lower = dir.lower === undefined ? undefined : join(dir.lower, part);
      const written = this.write.lstat(childRel);
      const below = lower === undefined ? undefined : lstatOrNone(lower);
      const existing = written ?? below;
      if (existing !== undefined && !existing.isDirectory()) {
        throw new CopyError("COPY_INVALID", `cannot create directory /${childRel}: not a directory`, {
          path: `/${childRel}`,
        });
      }
      const lowerDir = below?.isDirectory() && (written === undefined || written.isDirectory());
      if (written === undefined) {
        if (below !== undefined) this.write.copyUp(childRel, below);
        else this.write.mkdirDefault(childRel, owner, dir.newGid);
      }
      const stats = written ?? this.write.lstat(childRel)!;
      dir = {
        rel: childRel,
        abs: this.write.hostPath(childRel),
        lower: lowerDir ? lower : undefined,
        newGid: gidForChildren(stats),
      };
    }
    return dir;
  }

  private rootDir(): TreeDir {
    return {
      rel: "",
      abs: this.write.hostPath(""),
      lower: this.lowerRoot,
      newGid: gidForChildren(this.write.lstat("")!),
    };
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
    // Fast path: nothing below, so an exclusive create either succeeds or tells us something is there.
    if (parent.lower === undefined || lstatOrNone(join(parent.lower, name)) === undefined) {
      const placed = await this.create(parent, name, content, meta);
      if (placed !== undefined) return placed;
    }
    return this.replace(parent, name, content, meta, overwriteMetadata);
  }

  /** Creates a new entry; undefined when something already exists there. */
  private async create(
    parent: TreeDir,
    name: string,
    content: PlaceContent,
    meta: PlaceMeta,
  ): Promise<Placed | undefined> {
    const rel = childOf(parent.rel, name);
    if (!(await this.write.create(rel, content, meta, parent.newGid))) return undefined;
    if (content.kind !== "directory") return { rel };
    const newGid = (meta.mode & S_ISGID) !== 0 ? meta.gid : EGID;
    return { rel, dir: { rel, abs: this.write.hostPath(rel), lower: undefined, newGid } };
  }

  /** The general path: something exists at the name (in the write root, below, or both). */
  private async replace(
    parent: TreeDir,
    name: string,
    content: PlaceContent,
    meta: PlaceMeta,
    overwriteMetadata: boolean,
  ): Promise<Placed> {
    const rel = childOf(parent.rel, name);
    const lower = parent.lower === undefined ? undefined : join(parent.lower, name);
    const written = this.write.lstat(rel);
    const below = lower === undefined ? undefined : lstatOrNone(lower);
    if (content.kind === "directory") {
      if ((written ?? below)?.isSymbolicLink()) {
        const followed = this.resolve(rel, true);
        if (followed.stats?.isDirectory()) return this.existingDir(followed.rel, meta, overwriteMetadata);
      }
      if ((written ?? below)?.isDirectory()) return this.existingDir(rel, meta, overwriteMetadata);
      if (written !== undefined) this.write.remove(rel);
      const placed = await this.create(parent, name, content, meta);
      return placed!;
    }
    // A non-empty directory below shows through an emptied one: refuse as the merged tree would.
    if (below?.isDirectory() && (written === undefined || written.isDirectory())) {
      if (readdirSync(lower!).length > 0) throw this.notEmpty(rel);
    }
    if (written !== undefined && !this.write.remove(rel)) throw this.notEmpty(rel);
    const placed = await this.create(parent, name, content, meta);
    if (placed === undefined) throw new CopyError("COPY_INVALID", `cannot create /${rel}: it exists`);
    return placed;
  }

  private existingDir(rel: string, meta: PlaceMeta, overwriteMetadata: boolean): Placed {
    const dir = this.ensureDirs(rel, undefined);
    if (overwriteMetadata) this.write.update(dir.rel, meta);
    return { rel: dir.rel, dir };
  }

  private notEmpty(rel: string): CopyError {
    return new CopyError("COPY_INVALID", `cannot replace directory /${rel} with a file`, {
      path: `/${rel}`,
      hint: "the destination already holds a non-empty directory of that name",
    });
  }

  /** Completes the write root (a directory's recorded times). */
  finish(): Promise<void> {
    return this.write.finish();
  }
}

function gidForChildren(stats: NodeStats): number {
  return (stats.mode & S_ISGID) !== 0 ? stats.gid : EGID;
}

/**
 * `LayerWriteRoot`: a WriteRoot that writes nothing. Each placement becomes a node in an in-memory map
 * (so later resolution in the same COPY sees what it placed), and `entries()` turns the map into the
 * layer's LayerEntry list in canonical order, file content read straight from the sources. It mirrors
 * what DiskWriteRoot + the scratch differ would produce: copy-ups keep the lower directory's metadata,
 * hard links share one inode (the first path in canonical order carries the content), symlinks are 0777,
 * entries without a time (heredocs, new parent directories) get the current time, and a 0/0 character
 * device is a whiteout.
 */
import { createReadStream, readFileSync, statSync } from "node:fs";
import { posix } from "node:path";
import { Readable } from "node:stream";
import { type LayerEntry, type LayerEntryType, whiteoutEntry } from "../../image/layer/entry.js";
import { READ_CHUNK_BYTES } from "../../util/read-chunk.js";
import {
  EGID,
  EUID,
  type NodeStats,
  type Ownership,
  type PlaceContent,
  type PlaceMeta,
  type WriteRoot,
} from "./write-root.js";

/** One inode: several paths share it after a hard link. */
interface Inode {
  type: Exclude<LayerEntryType, "link">;
  mode: number;
  uid: number;
  gid: number;
  /** Whole seconds. */
  mtime: number;
  size: number;
  open?: () => Readable;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
}

/**
 * Files up to this size are read in one synchronous call when the layer is written: a stream per small
 * file costs three thread-pool round trips (open, read, close), which dominates a many-file COPY.
 */
const SYNC_READ_LIMIT = 256 * 1024;

function openSource(path: string, size: number): Readable {
  if (size <= SYNC_READ_LIMIT) return Readable.from([readFileSync(path)]);
  return createReadStream(path, { start: 0, end: Math.max(0, size - 1), highWaterMark: READ_CHUNK_BYTES });
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function statsOf(inode: Inode): NodeStats {
  return {
    isDirectory: () => inode.type === "directory",
    isSymbolicLink: () => inode.type === "symlink",
    mode: inode.type === "directory" ? inode.mode | 0o040000 : inode.mode,
    uid: inode.uid,
    gid: inode.gid,
    mtimeMs: inode.mtime * 1000,
  };
}

export class LayerWriteRoot implements WriteRoot {
  private readonly nodes = new Map<string, Inode>();
  /** The layer's root directory (never an entry): a fresh 0755 directory, as a scratch dir would be. */
  private readonly root: Inode = { type: "directory", mode: 0o755, uid: EUID, gid: EGID, mtime: 0, size: 0 };

  hostPath(rel: string): string {
    return posix.join("/", rel);
  }

  lstat(rel: string): NodeStats | undefined {
    const inode = rel === "" ? this.root : this.nodes.get(rel);
    return inode === undefined ? undefined : statsOf(inode);
  }

  readlink(rel: string): string {
    return this.nodes.get(rel)?.linkname ?? "";
  }

  copyUp(rel: string, below: NodeStats): void {
    this.nodes.set(rel, {
      type: "directory",
      mode: below.mode & 0o7777,
      uid: below.uid,
      gid: below.gid,
      mtime: Math.floor(below.mtimeMs / 1000),
      size: 0,
    });
  }

  mkdirDefault(rel: string, owner: Ownership | undefined, newGid: number): void {
    const ids = owner ?? { uid: EUID, gid: newGid };
    this.nodes.set(rel, { type: "directory", mode: 0o755, ...ids, mtime: nowSeconds(), size: 0 });
  }

  async create(rel: string, content: PlaceContent, meta: PlaceMeta): Promise<boolean> {
    if (this.nodes.has(rel)) return false;
    if (content.kind === "hardlink") {
      const existing = this.nodes.get(content.existing);
      if (existing === undefined) throw new Error(`hard link target ${content.existing} was not placed`);
      this.nodes.set(rel, existing);
      return true;
    }
    const mtime = meta.mtimeNs === undefined ? nowSeconds() : Number(meta.mtimeNs / 1_000_000_000n);
    const base = { mode: meta.mode & 0o7777, uid: meta.uid, gid: meta.gid, mtime, size: 0 };
    switch (content.kind) {
      case "directory":
        this.nodes.set(rel, { ...base, type: "directory" });
        return true;
      case "symlink":
        this.nodes.set(rel, { ...base, type: "symlink", mode: 0o777, linkname: content.target });
        return true;
      case "file": {
        if ("stream" in content) throw new Error("a streamed file cannot be placed into a layer list");
        if ("data" in content) {
          const data = content.data;
          this.nodes.set(rel, {
            ...base,
            type: "file",
            size: data.length,
            open: () => Readable.from([data]),
          });
          return true;
        }
        const source = content.copyFrom;
        const size = content.size ?? statSync(source).size;
        const open = () => openSource(source, size);
        this.nodes.set(rel, { ...base, type: "file", size, open });
        return true;
      }
      default: {
        const inode: Inode = { ...base, type: content.kind };
        if (content.kind !== "fifo") {
          inode.devmajor = content.major ?? 0;
          inode.devminor = content.minor ?? 0;
        }
        this.nodes.set(rel, inode);
        return true;
      }
    }
  }

  update(rel: string, meta: PlaceMeta): void {
    const inode = rel === "" ? this.root : this.nodes.get(rel);
    if (inode === undefined) return;
    inode.uid = meta.uid;
    inode.gid = meta.gid;
    inode.mode = meta.mode & 0o7777;
    if (meta.mtimeNs !== undefined) inode.mtime = Number(meta.mtimeNs / 1_000_000_000n);
  }

  remove(rel: string): boolean {
    const inode = this.nodes.get(rel);
    if (inode?.type === "directory") {
      const prefix = `${rel}/`;
      for (const path of this.nodes.keys()) if (path.startsWith(prefix)) return false;
    }
    this.nodes.delete(rel);
    return true;
  }

  async finish(): Promise<void> {}

  /** Number of entries placed. */
  get size(): number {
    return this.nodes.size;
  }

  /** The layer: every placed path in canonical order, hard links to the first path of their inode. */
  entries(): LayerEntry[] {
    const keyed = [...this.nodes.keys()].map((path) => ({
      path,
      key: Buffer.from(path.replaceAll("/", "\0"), "utf8"),
    }));
    keyed.sort((a, b) => Buffer.compare(a.key, b.key));
    const firstPath = new Map<Inode, string>();
    const out: LayerEntry[] = [];
    for (const { path } of keyed) {
      const inode = this.nodes.get(path)!;
      const entry: LayerEntry = {
        path,
        type: inode.type,
        mode: inode.mode,
        uid: inode.uid,
        gid: inode.gid,
        size: 0,
        mtime: inode.mtime,
      };
      if (inode.type !== "directory") {
        const first = firstPath.get(inode);
        if (first !== undefined) {
          out.push({ ...entry, type: "link", linkname: first });
          continue;
        }
        firstPath.set(inode, path);
      }
      if (inode.type === "character-device" && inode.devmajor === 0 && inode.devminor === 0) {
        out.push(whiteoutEntry(path, inode.mtime));
        continue;
      }
      if (inode.type === "file") {
        entry.size = inode.size;
        if (inode.open !== undefined) entry.open = inode.open;
      } else if (inode.linkname !== undefined) entry.linkname = inode.linkname;
      if (inode.devmajor !== undefined) {
        entry.devmajor = inode.devmajor;
        entry.devminor = inode.devminor;
      }
      out.push(entry);
    }
    return out;
  }
}

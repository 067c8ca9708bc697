/**
 * Walks a directory tree into `LayerEntry`s in canonical order (depth-first, names in byte order), one
 * `lstat` per entry and file content opened lazily, so any tree streams in constant memory apart from the
 * hard-link table. Hard links (same dev+ino, nlink > 1) become `link` entries to the first path seen;
 * sockets cannot be archived and are skipped.
 *
 * TODO(xattrs): Node 20 has no getxattr without a native addon, so `user.*` / `security.capability` are
 * not read from disk; `LayerEntry.xattrs` is written when a caller supplies it.
 */
import { createReadStream, type Stats } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";
import { READ_CHUNK_BYTES } from "../../util/read-chunk.js";
import { compareNames, type LayerEntry, type LayerEntryType } from "./entry.js";
import { LayerError } from "./errors.js";

export interface WalkOptions {
  /** Record every entry as owned by this uid/gid instead of the file's own (e.g. a rootless import). */
  owner?: { uid: number; gid: number };
  /** Called for files that cannot be archived (sockets). */
  onSkip?: (path: string, reason: string) => void;
}

export async function* walkDirectory(root: string, options: WalkOptions = {}): AsyncIterable<LayerEntry> {
  const top = await lstat(root);
  if (!top.isDirectory()) {
    throw new LayerError("LAYER_ENTRY_INVALID", `${root} is not a directory`, { path: root });
  }
  const links = new Map<string, string>();
  yield* walkInto(root, "", links, options);
}

async function* walkInto(
  dir: string,
  prefix: string,
  links: Map<string, string>,
  options: WalkOptions,
): AsyncIterable<LayerEntry> {
  const names = await readdir(dir);
  names.sort(compareNames);
  for (const name of names) {
    if (name.includes("\uFFFD")) {
      throw new LayerError("LAYER_ENTRY_INVALID", `file name in ${dir} is not valid UTF-8`, {
        path: join(dir, name),
        hint: "rename the file; non-UTF-8 names are not supported yet",
      });
    }
    const abs = join(dir, name);
    const path = prefix === "" ? name : `${prefix}/${name}`;
    const info = await lstat(abs);
    const entry = await entryFor(abs, path, info, links, options);
    if (entry === undefined) continue;
    yield entry;
    if (entry.type === "directory") yield* walkInto(abs, path, links, options);
  }
}

async function entryFor(
  abs: string,
  path: string,
  info: Stats,
  links: Map<string, string>,
  options: WalkOptions,
): Promise<LayerEntry | undefined> {
  const type = typeOf(info);
  if (type === undefined) {
    options.onSkip?.(path, "sockets cannot be stored in a layer");
    return undefined;
  }
  const base: LayerEntry = {
    path,
    type,
    mode: info.mode & 0o7777,
    uid: options.owner?.uid ?? info.uid,
    gid: options.owner?.gid ?? info.gid,
    size: 0,
    mtime: Math.floor(info.mtimeMs / 1000),
  };
  if (type !== "directory" && info.nlink > 1) {
    const key = `${info.dev}:${info.ino}`;
    const first = links.get(key);
    if (first !== undefined) return { ...base, type: "link", linkname: first };
    links.set(key, path);
  }
  switch (type) {
    case "file": {
      const size = info.size;
      return {
        ...base,
        size,
        open: () =>
          createReadStream(abs, { start: 0, end: Math.max(0, size - 1), highWaterMark: READ_CHUNK_BYTES }),
      };
    }
    case "symlink":
      return { ...base, linkname: await readlink(abs) };
    case "character-device":
    case "block-device":
      return { ...base, devmajor: deviceMajor(info.rdev), devminor: deviceMinor(info.rdev) };
    default:
      return base;
  }
}

function typeOf(info: Stats): LayerEntryType | undefined {
  if (info.isFile()) return "file";
  if (info.isDirectory()) return "directory";
  if (info.isSymbolicLink()) return "symlink";
  if (info.isFIFO()) return "fifo";
  if (info.isCharacterDevice()) return "character-device";
  if (info.isBlockDevice()) return "block-device";
  return undefined;
}

/** Linux `dev_t` encoding (glibc gnu_dev_major / gnu_dev_minor). */
export function deviceMajor(rdev: number): number {
  const high = Math.floor(rdev / 2 ** 32);
  return ((rdev >>> 8) & 0xfff) | ((high & 0xfffff000) >>> 0);
}

export function deviceMinor(rdev: number): number {
  const low = rdev >>> 0;
  const high = Math.floor(rdev / 2 ** 32);
  return ((low & 0xff) | ((low >>> 12) & 0xfff00) | ((high & 0xfff) << 20)) >>> 0;
}

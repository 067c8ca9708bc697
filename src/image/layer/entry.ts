/**
 * The unit of a layer: `LayerEntry`, one tar member described independently of where its bytes come
 * from (a file on disk, a range of another tar, a buffer), plus the rules every layer shares: canonical
 * relative paths, the canonical order of entries, timestamp clamping and OCI whiteouts
 * (`.wh.<name>` deletes `<name>`, `.wh..wh..opq` makes its directory opaque).
 */
import type { Readable } from "node:stream";
import { LayerError } from "./errors.js";

export type LayerEntryType =
  | "file"
  | "directory"
  | "symlink"
  /** A hard link: `linkname` is the path of an earlier entry in the same layer. */
  | "link"
  | "fifo"
  | "character-device"
  | "block-device";

export interface LayerEntry {
  /** Relative path inside the layer, `/`-separated, no leading `./` or `/`, no trailing `/`. */
  path: string;
  type: LayerEntryType;
  /** Permission bits including setuid/setgid/sticky (`& 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  /** Content length; only regular files have content (0 for every other type). */
  size: number;
  /** Modification time in whole seconds since the epoch. atime/ctime are never recorded. */
  mtime: number;
  /** Target of a symlink (any text) or a hard link (a layer path). */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extended attributes written as PAX `SCHILY.xattr.<name>` records (UTF-8 values only). */
  xattrs?: Record<string, string>;
  /** Opens the content of a regular file; must yield exactly `size` bytes. */
  open?(): Readable;
}

export const WHITEOUT_PREFIX = ".wh.";
export const OPAQUE_WHITEOUT = ".wh..wh..opq";

/**
 * Canonical form of a path inside a layer: strips `./` and leading `/`, collapses `//` and `.`, drops
 * a trailing `/`. Rejects `..`, NUL and the empty path (the layer root itself is never an entry).
 */
export function normalizeLayerPath(raw: string): string {
  if (raw.includes("\0")) throw new LayerError("LAYER_ENTRY_INVALID", "path contains NUL", { path: raw });
  const parts: string[] = [];
  for (const part of raw.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      throw new LayerError("LAYER_ENTRY_INVALID", `path ${JSON.stringify(raw)} contains ".."`, { path: raw });
    }
    parts.push(part);
  }
  return parts.join("/");
}

/**
 * The canonical order: bytewise on the UTF-8 path with `/` sorting before every other byte, i.e.
 * component by component. A directory comes right before its contents (depth-first, each directory's
 * names in byte order: the order of Go's filepath.Walk and GNU tar --sort=name).
 */
export function compareLayerPaths(a: string, b: string): number {
  return Buffer.compare(orderKey(a), orderKey(b));
}

function orderKey(path: string): Buffer {
  return Buffer.from(path.replaceAll("/", "\0"), "utf8");
}

/** Bytewise comparison of two names (no `/` inside). */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** `min(seconds, clamp)` as whole seconds, never negative. */
export function clampTime(seconds: number, clamp: number | undefined): number {
  const whole = Math.max(0, Math.floor(seconds));
  return clamp === undefined ? whole : Math.min(whole, Math.max(0, Math.floor(clamp)));
}

/** An entry that deletes `path` from the layers below (`dir/.wh.name`). */
export function whiteoutEntry(path: string, mtime = 0): LayerEntry {
  const clean = normalizeLayerPath(path);
  const slash = clean.lastIndexOf("/");
  const dir = slash < 0 ? "" : `${clean.slice(0, slash)}/`;
  const name = clean.slice(slash + 1);
  return emptyMarker(`${dir}${WHITEOUT_PREFIX}${name}`, mtime);
}

/** An entry that hides everything below `dir` in the layers below (`dir/.wh..wh..opq`). */
export function opaqueWhiteoutEntry(dir: string, mtime = 0): LayerEntry {
  const clean = normalizeLayerPath(dir);
  return emptyMarker(clean === "" ? OPAQUE_WHITEOUT : `${clean}/${OPAQUE_WHITEOUT}`, mtime);
}

function emptyMarker(path: string, mtime: number): LayerEntry {
  return { path, type: "file", mode: 0, uid: 0, gid: 0, size: 0, mtime };
}

export type WhiteoutInfo = { kind: "whiteout"; target: string } | { kind: "opaque"; directory: string };

/** Classifies a layer path as a whiteout (with the path it deletes) or an opaque marker, else undefined. */
export function parseWhiteout(path: string): WhiteoutInfo | undefined {
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "" : path.slice(0, slash);
  const name = path.slice(slash + 1);
  if (name === OPAQUE_WHITEOUT) return { kind: "opaque", directory: dir };
  if (name.startsWith(WHITEOUT_PREFIX) && name.length > WHITEOUT_PREFIX.length) {
    const target = name.slice(WHITEOUT_PREFIX.length);
    return { kind: "whiteout", target: dir === "" ? target : `${dir}/${target}` };
  }
  return undefined;
}

/**
 * Collects entries and yields them in canonical order. Only metadata is held (content is opened lazily
 * through `open`), so this suits callers whose source order is not canonical (e.g. an arbitrary tar).
 */
export async function* sortLayerEntries(entries: AsyncIterable<LayerEntry>): AsyncIterable<LayerEntry> {
  const all: LayerEntry[] = [];
  for await (const entry of entries) all.push(entry);
  const keyed = all.map((entry) => ({ entry, key: orderKey(entry.path) }));
  keyed.sort((a, b) => Buffer.compare(a.key, b.key));
  for (const { entry } of keyed) yield entry;
}

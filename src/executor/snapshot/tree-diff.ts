/**
 * The tree differ of the copying snapshotter: `recordTree` takes a manifest of a directory (path → type,
 * mode, owner, size, mtime/ctime and inode as content identity) before a step; `diffTree` walks the tree
 * afterwards and yields, in canonical order, what a layer needs to turn the old tree into the new one:
 * new and changed entries, whiteouts for deletions, a directory replaced by a new one as opaque, and the
 * parent directories of everything emitted.
 */
import { createReadStream, type Stats } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import {
  type LayerEntry,
  opaqueWhiteoutEntry,
  sortLayerEntries,
  whiteoutEntry,
} from "../../image/layer/entry.js";
import { walkDirectory } from "../../image/layer/walk.js";
import { readChunkFor } from "../../util/read-chunk.js";

export interface TreeRecord {
  kind: "directory" | "other";
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  rdev: number;
}

export type TreeManifest = Map<string, TreeRecord>;

export async function recordTree(root: string): Promise<TreeManifest> {
  const manifest: TreeManifest = new Map();
  async function visit(dir: string, prefix: string): Promise<void> {
    for (const name of await readdir(dir)) {
      const abs = join(dir, name);
      const path = prefix === "" ? name : `${prefix}/${name}`;
      const info = await lstat(abs);
      manifest.set(path, recordOf(info));
      if (info.isDirectory()) await visit(abs, path);
    }
  }
  await visit(root, "");
  return manifest;
}

function recordOf(info: Stats): TreeRecord {
  return {
    kind: info.isDirectory() ? "directory" : "other",
    mode: info.mode,
    uid: info.uid,
    gid: info.gid,
    size: info.size,
    mtimeMs: info.mtimeMs,
    ctimeMs: info.ctimeMs,
    ino: info.ino,
    rdev: info.rdev,
  };
}

function changed(before: TreeRecord, after: TreeRecord): boolean {
  if (before.kind !== after.kind || before.mode !== after.mode || before.uid !== after.uid) return true;
  if (before.gid !== after.gid || before.mtimeMs !== after.mtimeMs) return true;
  // Directories change ctime whenever their content does; that alone is not a change of the directory.
  if (after.kind === "directory") return false;
  return (
    before.size !== after.size ||
    before.ctimeMs !== after.ctimeMs ||
    before.ino !== after.ino ||
    before.rdev !== after.rdev
  );
}

export async function* diffTree(root: string, before: TreeManifest): AsyncIterable<LayerEntry> {
  const emitted: LayerEntry[] = [];
  const emittedPaths = new Set<string>();
  const seen = new Set<string>();
  const replacedDirs: string[] = [];
  const needed = new Set<string>();
  const all = new Map<string, LayerEntry>();

  for await (const entry of walkDirectory(root)) {
    seen.add(entry.path);
    all.set(entry.path, entry);
    const after = recordOf(await lstat(join(root, entry.path)));
    const old = before.get(entry.path);
    const insideReplaced = replacedDirs.some((dir) => entry.path.startsWith(`${dir}/`));
    const replaced =
      old !== undefined && old.kind === "directory" && after.kind === "directory" && old.ino !== after.ino;
    if (old === undefined || insideReplaced || replaced || changed(old, after)) {
      emitted.push(entry);
      emittedPaths.add(entry.path);
      markAncestors(needed, entry.path);
    }
    if (replaced) {
      replacedDirs.push(entry.path);
      emitted.push(opaqueWhiteoutEntry(entry.path, entry.mtime));
    }
  }

  for (const path of before.keys()) {
    if (seen.has(path)) continue;
    const slash = path.lastIndexOf("/");
    const parent = slash < 0 ? "" : path.slice(0, slash);
    // Covered by a deleted or replaced parent, or the parent is no longer a directory.
    if (parent !== "" && (!seen.has(parent) || all.get(parent)?.type !== "directory")) continue;
    if (replacedDirs.includes(parent)) continue;
    emitted.push(whiteoutEntry(path, 0));
    markAncestors(needed, path);
  }

  for (const path of needed) {
    if (!emittedPaths.has(path)) {
      const dir = all.get(path);
      if (dir !== undefined) emitted.push(dir);
    }
  }

  // A hard link to a file that is not in this layer must carry the content itself.
  const result = emitted.map((entry) => {
    if (entry.type !== "link" || emittedPaths.has(entry.linkname ?? "")) return entry;
    const abs = join(root, entry.path);
    const size = before.get(entry.path)?.size ?? 0;
    return {
      ...entry,
      type: "file" as const,
      linkname: undefined,
      size: sizeOf(all, entry, size),
      open: () => createReadStream(abs, { highWaterMark: readChunkFor(size) }),
    };
  });
  yield* sortLayerEntries(fromArray(result));
}

function sizeOf(all: Map<string, LayerEntry>, entry: LayerEntry, fallback: number): number {
  return all.get(entry.linkname ?? "")?.size ?? fallback;
}

function markAncestors(needed: Set<string>, path: string): void {
  let at = path.lastIndexOf("/");
  while (at > 0) {
    const parent = path.slice(0, at);
    if (needed.has(parent)) return;
    needed.add(parent);
    at = parent.lastIndexOf("/");
  }
}

async function* fromArray(entries: LayerEntry[]): AsyncIterable<LayerEntry> {
  yield* entries;
}

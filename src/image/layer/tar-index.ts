/**
 * Turns an arbitrary uncompressed tar file (a root filesystem exported by some other tool) into
 * canonical `LayerEntry`s: paths normalised, later duplicates replacing earlier ones (tar semantics),
 * sorted, hard links re-pointed so the first path in canonical order carries the content. Only headers
 * are kept in memory; each file's content is read back from its byte range of the tar when written.
 */
import { createReadStream } from "node:fs";
import { READ_CHUNK_BYTES } from "../../util/read-chunk.js";
import { compareLayerPaths, type LayerEntry, normalizeLayerPath } from "./entry.js";
import { LayerError } from "./errors.js";
import { readTar } from "./tar-reader.js";

interface Indexed {
  entry: LayerEntry;
  /** Content offset in the tar (files only). */
  offset: number;
}

/** Indexes the tar at `path` (one sequential read) and returns its entries in canonical order. */
export async function indexTarFile(path: string): Promise<LayerEntry[]> {
  const byPath = new Map<string, Indexed>();
  for await (const { entry, dataOffset } of readTar(
    createReadStream(path, { highWaterMark: READ_CHUNK_BYTES }),
  )) {
    const clean = normalizeLayerPath(entry.path);
    if (clean === "") continue; // the root directory itself
    // The same file archived twice (GNU tar links the second copy to the first): keep the first.
    if (entry.type === "link" && normalizeLayerPath(entry.linkname ?? "") === clean && byPath.has(clean))
      continue;
    byPath.delete(clean); // a later member replaces an earlier one, and takes its place in the order
    byPath.set(clean, { entry: { ...entry, path: clean }, offset: dataOffset });
  }
  repointHardLinks(byPath);
  const sorted = [...byPath.values()].sort((a, b) => compareLayerPaths(a.entry.path, b.entry.path));
  return sorted.map(({ entry, offset }) => {
    if (entry.type !== "file" || entry.size === 0) return entry;
    const size = entry.size;
    return {
      ...entry,
      open: () =>
        createReadStream(path, { start: offset, end: offset + size - 1, highWaterMark: READ_CHUNK_BYTES }),
    };
  });
}

/**
 * Hard links must point at an earlier entry. For every group of paths sharing one file, the first in
 * canonical order becomes the regular file (with the original's content and metadata) and all others
 * link to it.
 */
function repointHardLinks(byPath: Map<string, Indexed>): void {
  const groups = new Map<string, string[]>();
  for (const [path, { entry }] of byPath) {
    if (entry.type !== "link") continue;
    const target = resolveTarget(byPath, path);
    const members = groups.get(target) ?? [target];
    members.push(path);
    groups.set(target, members);
  }
  for (const [target, members] of groups) {
    const found = byPath.get(target)!;
    const original = { entry: found.entry, offset: found.offset };
    members.sort(compareLayerPaths);
    const first = members[0]!;
    for (const member of members) {
      const indexed = byPath.get(member)!;
      if (member === first) {
        indexed.entry = { ...original.entry, path: member };
        indexed.offset = original.offset;
      } else {
        indexed.entry = { ...original.entry, path: member, type: "link", size: 0, linkname: first };
      }
    }
  }
}

function resolveTarget(byPath: Map<string, Indexed>, path: string): string {
  let current = path;
  for (let hops = 0; hops < 64; hops++) {
    const indexed = byPath.get(current);
    if (indexed === undefined) {
      throw new LayerError("TAR_INVALID", `hard link ${path} points to missing ${current}`, { path });
    }
    if (indexed.entry.type !== "link") return current;
    current = normalizeLayerPath(indexed.entry.linkname ?? "");
  }
  throw new LayerError("TAR_INVALID", `hard link ${path}: too many levels`, { path });
}

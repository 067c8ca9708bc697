/**
 * The overlay differ: an overlayfs upper directory → layer entries in canonical order. A 0/0 character
 * device is a whiteout (`.wh.<name>`); a directory with `trusted.overlay.opaque=y` (read with one
 * `getfattr -R` call for the whole tree, through the host shell) is emitted followed by `.wh..wh..opq`. Directories that were
 * only copied up (same mode, owner and mtime as in the layers below, nothing changed inside) are left out,
 * so mount points created and removed again leave no trace.
 */
import { lstat } from "node:fs/promises";
import { join } from "node:path";
import {
  type LayerEntry,
  opaqueWhiteoutEntry,
  sortLayerEntries,
  whiteoutEntry,
} from "../../image/layer/entry.js";
import { walkDirectory } from "../../image/layer/walk.js";
import { hostCommand } from "../../util/host-command.js";

/**
 * Entries of `upper` as a layer. `lowers` (top first, absolute) are consulted to drop directories that
 * were only copied up.
 */
export async function* diffUpper(upper: string, lowers: string[]): AsyncIterable<LayerEntry> {
  // Over no layers (COPY's scratch directory, a RUN on scratch) nothing can be opaque: overlayfs marks a
  // directory opaque only when it replaces one a lower layer has. That spares a getfattr per COPY.
  const opaque = lowers.length === 0 ? new Set<string>() : await opaqueDirectories(upper);
  const entries: LayerEntry[] = [];
  // Whiteouts may share one inode (the kernel hard-links them), so later ones arrive as `link` entries.
  const whiteouts = new Set<string>();
  for await (const entry of walkDirectory(upper)) {
    const isWhiteout =
      (entry.type === "character-device" && entry.devmajor === 0 && entry.devminor === 0) ||
      (entry.type === "link" && whiteouts.has(entry.linkname ?? ""));
    if (isWhiteout) whiteouts.add(entry.path);
    entries.push(entry);
  }
  const needed = new Set<string>();
  const kept: LayerEntry[] = [];
  // Reverse canonical order visits children before their directory.
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries[i]!;
    const isOpaque = entry.type === "directory" && opaque.has(entry.path);
    if (entry.type === "directory" && !isOpaque && !needed.has(entry.path)) {
      if (await sameAsBelow(entry, lowers)) continue;
    }
    markParent(needed, entry.path);
    if (whiteouts.has(entry.path)) {
      // When a file was deleted is not part of the layer (the copying differ cannot know it either): a
      // whiteout has mtime 0, so both snapshotters write the same bytes for the same change.
      kept.push(whiteoutEntry(entry.path, 0));
      continue;
    }
    kept.push(entry);
    if (isOpaque) kept.push(opaqueWhiteoutEntry(entry.path, entry.mtime));
  }
  yield* sortLayerEntries(fromArray(kept));
}

async function* fromArray(entries: LayerEntry[]): AsyncIterable<LayerEntry> {
  yield* entries;
}

function markParent(needed: Set<string>, path: string): void {
  const slash = path.lastIndexOf("/");
  if (slash > 0) needed.add(path.slice(0, slash));
}

/** Whether the topmost lower layer holding `entry.path` has it as a directory with the same metadata. */
async function sameAsBelow(entry: LayerEntry, lowers: string[]): Promise<boolean> {
  for (const lower of lowers) {
    const info = await lstat(join(lower, entry.path)).catch(() => undefined);
    if (info === undefined) continue;
    return (
      info.isDirectory() &&
      (info.mode & 0o7777) === entry.mode &&
      info.uid === entry.uid &&
      info.gid === entry.gid &&
      Math.floor(info.mtimeMs / 1000) === entry.mtime
    );
  }
  return false;
}

/** Relative paths of the directories under `root` marked opaque, from one `getfattr -R` call. */
export async function opaqueDirectories(root: string): Promise<Set<string>> {
  // Exit status 1 only means some files lack the attribute.
  const { stdout: output } = await hostCommand([
    "getfattr",
    "-R",
    "-P",
    "--absolute-names",
    "-n",
    "trusted.overlay.opaque",
    "-e",
    "text",
    root,
  ]);
  const result = new Set<string>();
  let file: string | undefined;
  for (const line of output.split("\n")) {
    if (line.startsWith("# file: ")) file = unescapeOctal(line.slice(8));
    else if (file !== undefined && line === 'trusted.overlay.opaque="y"') {
      if (file.startsWith(`${root}/`)) result.add(file.slice(root.length + 1));
      else if (file === root) result.add("");
    }
  }
  return result;
}

/** getfattr escapes unusual bytes in names as `\ooo`. */
function unescapeOctal(text: string): string {
  if (!text.includes("\\")) return text;
  const bytes: number[] = [];
  const raw = Buffer.from(text, "utf8");
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x5c && i + 3 < raw.length && /^[0-7]{3}$/.test(raw.subarray(i + 1, i + 4).toString())) {
      bytes.push(Number.parseInt(raw.subarray(i + 1, i + 4).toString(), 8));
      i += 3;
    } else bytes.push(raw[i]!);
  }
  return Buffer.from(bytes).toString("utf8");
}

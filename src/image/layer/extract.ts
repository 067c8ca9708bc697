/**
 * Hardened, streaming extraction of a layer blob (gzip, zstd or plain tar, detected by magic bytes) into a
 * directory. Every path is resolved inside the root component by component with lstat: entry names may not
 * be absolute or contain `..`; a symlink met in a parent path is followed with chroot semantics (absolute
 * targets and `..` stay inside the root, as they would inside the container); the final component is never
 * followed; hard links may only point inside the root. Ownership, mode and mtime are applied (directories'
 * mtimes after their content); device nodes need root. OCI whiteouts are either applied (flattening layers
 * into one tree) or turned into overlayfs whiteouts (0/0 char devices, `trusted.overlay.opaque=y`).
 * Metadata calls (lstat, mkdir, symlink, chown, utimes…) are synchronous: a few microseconds each, where a
 * thread-pool round trip costs 50-150 µs, which made a 290-entry busybox layer take ~400 ms to unpack.
 * Small files are gathered and written with one synchronous write; large ones stream.
 */
import {
  chmodSync,
  closeSync,
  constants as fsConstants,
  lchownSync,
  linkSync,
  lutimesSync,
  mkdirSync,
  openSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeSync,
} from "node:fs";
import { open, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { GantryError, type GantryErrorOptions } from "../../errors.js";
import { hostCommandOk } from "../../util/host-command.js";
import { lstatSyncOrUndefined, resolveInRootSync } from "../../util/root-path.js";
import type { Compression } from "./compress.js";
import { type LayerEntry, parseWhiteout } from "./entry.js";
import { readLayer } from "./tar-reader.js";

const run = (command: string, args: string[]) => hostCommandOk([command, ...args]);

export type ExtractErrorCode =
  /** An entry name is absolute, contains `..`, or resolves outside the root. */
  | "LAYER_UNSAFE_PATH"
  /** A hard link points outside the root or at nothing extracted. */
  | "LAYER_UNSAFE_LINK"
  /** A filesystem operation failed while extracting. */
  | "LAYER_EXTRACT_FAILED";

export class LayerExtractError extends GantryError {
  declare readonly code: ExtractErrorCode;
  readonly path?: string;
  constructor(code: ExtractErrorCode, message: string, options: GantryErrorOptions & { path?: string } = {}) {
    super(code, message, { hint: "the layer is malformed or malicious; it was not extracted", ...options });
    this.path = options.path;
  }
}

export interface ExtractOptions {
  /** `apply`: delete whiteout targets (flatten into one tree); `overlay`: write overlayfs whiteouts. */
  whiteouts: "apply" | "overlay";
  /** Create device nodes (default: only when running as root). Skipped with a warning otherwise. */
  allowDevices?: boolean;
  /** Apply the entries' uid/gid (default: when running as root). */
  preserveOwnership?: boolean;
  /** Apply PAX `SCHILY.xattr.*` records with setfattr (default true; failures become warnings). */
  xattrs?: boolean;
  onWarning?: (message: string) => void;
}

export interface ExtractStats {
  entries: number;
  bytes: number;
  whiteouts: number;
  skipped: number;
  compression: Compression;
}

const isRoot = process.getuid?.() === 0;

/** Streams the layer `source` into `root` (which must exist). */
export async function extractLayer(
  source: Readable,
  root: string,
  options: ExtractOptions,
): Promise<ExtractStats> {
  const ctx: Context = {
    root,
    options,
    created: new Set(),
    dirTimes: [],
    parents: new Map(),
    stats: { entries: 0, bytes: 0, whiteouts: 0, skipped: 0, compression: "none" },
  };
  const opaque: string[] = [];
  for await (const { entry, body } of readLayer(source, {
    onCompression: (c) => {
      ctx.stats.compression = c;
    },
  })) {
    ctx.stats.entries++;
    const path = checkEntryPath(entry.path);
    if (path === "") {
      // The root directory itself ("./"): only its metadata.
      if (entry.type === "directory") ctx.dirTimes.push({ abs: root, mtime: entry.mtime });
      continue;
    }
    const whiteout = parseWhiteout(path);
    if (whiteout?.kind === "opaque") {
      // Applied after the stream: entries of this layer inside the directory must survive.
      opaque.push(whiteout.directory);
      ctx.stats.whiteouts++;
      continue;
    }
    if (whiteout?.kind === "whiteout") {
      await applyWhiteout(ctx, whiteout.target);
      ctx.stats.whiteouts++;
      continue;
    }
    ctx.created.add(await writeEntry(ctx, path, entry, body));
  }
  for (const dir of opaque) await applyOpaque(ctx, dir);
  // Deepest first, so setting a child's mtime does not disturb its parent's.
  for (const { abs, mtime } of ctx.dirTimes.reverse()) {
    try {
      utimesSync(abs, mtime, mtime);
    } catch {
      // a directory removed by a later entry
    }
  }
  return ctx.stats;
}

interface Context {
  root: string;
  options: ExtractOptions;
  /** Paths written by this extraction (kept when their directory is made opaque). */
  created: Set<string>;
  dirTimes: Array<{ abs: string; mtime: number }>;
  stats: ExtractStats;
  /** Entry directory → the root-relative directory it resolved to (see parentDir). */
  parents: Map<string, string>;
}

/** Normalises an entry name; absolute names and `..` are refused. */
export function checkEntryPath(raw: string): string {
  if (raw.includes("\0")) throw unsafe(raw, "contains NUL");
  if (raw.startsWith("/")) throw unsafe(raw, "is absolute");
  const parts: string[] = [];
  for (const part of raw.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") throw unsafe(raw, 'contains ".."');
    parts.push(part);
  }
  return parts.join("/");
}

function unsafe(path: string, why: string): LayerExtractError {
  return new LayerExtractError("LAYER_UNSAFE_PATH", `layer entry ${JSON.stringify(path)} ${why}`, { path });
}

/**
 * Resolves the parent of `path` inside the root and makes sure it is a directory (creating it). Resolved
 * parents are remembered (a layer puts many entries in the same directory) until something is replaced or
 * deleted; creating entries never changes how an existing directory resolves.
 */
function parentDir(ctx: Context, path: string): { abs: string; rel: string } {
  const slash = path.lastIndexOf("/");
  const name = path.slice(slash + 1);
  let parent: { rel: string } = { rel: "" };
  if (slash >= 0) {
    const dir = path.slice(0, slash);
    const known = ctx.parents.get(dir);
    if (known !== undefined) parent = { rel: known };
    else {
      parent = resolveInRootSync(ctx.root, dir, true);
      if (parent.rel !== "") mkdirInRoot(ctx.root, parent.rel);
      ctx.parents.set(dir, parent.rel);
    }
  }
  const rel = parent.rel === "" ? name : `${parent.rel}/${name}`;
  return { abs: join(ctx.root, rel), rel };
}

/** mkdir -p inside the root, never through a symlink (a non-directory in the way is an error). */
function mkdirInRoot(root: string, rel: string): void {
  let abs = root;
  for (const part of rel.split("/")) {
    abs = join(abs, part);
    const info = lstatSyncOrUndefined(abs);
    if (info === undefined) mkdirSync(abs, { mode: 0o755 });
    else if (!info.isDirectory()) {
      throw new LayerExtractError("LAYER_UNSAFE_PATH", `${rel}: ${part} is not a directory`, { path: rel });
    }
  }
}

/** Files up to this size are gathered in memory and written with one synchronous write. */
const SMALL_FILE_BYTES = 256 * 1024;

async function writeFileEntry(abs: string, entry: LayerEntry, body: Readable): Promise<void> {
  const flags = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW;
  if (entry.size > SMALL_FILE_BYTES) {
    const handle = await open(abs, flags, 0o600);
    await pipeline(body, handle.createWriteStream());
    return;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  const fd = openSync(abs, flags, 0o600);
  try {
    for (const chunk of chunks) {
      for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off);
    }
  } finally {
    closeSync(fd);
  }
}

/** Writes one entry; returns the root-relative path it landed on. */
async function writeEntry(ctx: Context, path: string, entry: LayerEntry, body: Readable): Promise<string> {
  const { abs, rel } = parentDir(ctx, path);
  const existing = lstatSyncOrUndefined(abs);
  if (existing !== undefined && !(existing.isDirectory() && entry.type === "directory")) {
    ctx.parents.clear(); // a replaced directory or symlink may be a resolved parent
    rmSync(abs, { recursive: true, force: true });
  }
  switch (entry.type) {
    case "directory":
      if (existing === undefined || !existing.isDirectory()) mkdirSync(abs, { mode: 0o700 });
      break;
    case "file":
      await writeFileEntry(abs, entry, body);
      ctx.stats.bytes += entry.size;
      break;
    case "symlink":
      symlinkSync(entry.linkname ?? "", abs);
      break;
    case "link": {
      linkSync(linkTarget(ctx, entry), abs);
      return rel; // A hard link shares its target's metadata.
    }
    case "fifo":
      await run("mknod", ["-m", "0600", abs, "p"]);
      break;
    case "character-device":
    case "block-device":
      if (!(ctx.options.allowDevices ?? isRoot)) {
        ctx.stats.skipped++;
        ctx.options.onWarning?.(`skipped device node ${path}: creating devices needs root`);
        return rel;
      }
      await run("mknod", [
        "-m",
        "0600",
        abs,
        entry.type === "character-device" ? "c" : "b",
        String(entry.devmajor ?? 0),
        String(entry.devminor ?? 0),
      ]);
      break;
  }
  await applyMetadata(ctx, abs, entry);
  return rel;
}

function linkTarget(ctx: Context, entry: LayerEntry): string {
  const raw = entry.linkname ?? "";
  let target: string;
  try {
    target = checkEntryPath(raw);
  } catch {
    throw new LayerExtractError(
      "LAYER_UNSAFE_LINK",
      `hard link ${entry.path} -> ${raw} points outside the layer`,
      {
        path: entry.path,
      },
    );
  }
  const slash = target.lastIndexOf("/");
  const parent = slash < 0 ? { rel: "" } : resolveInRootSync(ctx.root, target.slice(0, slash), true);
  const rel = parent.rel === "" ? target.slice(slash + 1) : `${parent.rel}/${target.slice(slash + 1)}`;
  const abs = join(ctx.root, rel);
  const info = lstatSyncOrUndefined(abs);
  if (info === undefined || info.isDirectory()) {
    throw new LayerExtractError(
      "LAYER_UNSAFE_LINK",
      `hard link ${entry.path} -> ${raw}: target is missing or a directory`,
      {
        path: entry.path,
      },
    );
  }
  return abs;
}

async function applyMetadata(ctx: Context, abs: string, entry: LayerEntry): Promise<void> {
  if (ctx.options.preserveOwnership ?? isRoot) lchownSync(abs, entry.uid, entry.gid);
  if (entry.type !== "symlink") chmodSync(abs, entry.mode & 0o7777);
  if (entry.xattrs !== undefined && ctx.options.xattrs !== false) await applyXattrs(ctx, abs, entry.xattrs);
  if (entry.type === "directory") ctx.dirTimes.push({ abs, mtime: entry.mtime });
  else if (entry.type === "symlink") lutimesSync(abs, entry.mtime, entry.mtime);
  else utimesSync(abs, entry.mtime, entry.mtime);
}

async function applyXattrs(ctx: Context, abs: string, xattrs: Record<string, string>): Promise<void> {
  for (const [name, value] of Object.entries(xattrs)) {
    try {
      await run("setfattr", [
        "-h",
        "-n",
        name,
        "-v",
        `0s${Buffer.from(value, "utf8").toString("base64")}`,
        abs,
      ]);
    } catch (error) {
      ctx.options.onWarning?.(
        `cannot set xattr ${name} on ${abs}: ${(error as Error).message.split("\n")[0]}`,
      );
    }
  }
}

async function applyWhiteout(ctx: Context, target: string): Promise<void> {
  ctx.parents.clear(); // something is deleted: a resolved parent may be gone
  if (ctx.options.whiteouts === "apply") {
    // Nothing is created for a deletion: resolve without making parents.
    const { abs, rel } = resolveInRootSync(ctx.root, target, false);
    if (rel !== "") rmSync(abs, { recursive: true, force: true });
    return;
  }
  const { abs } = parentDir(ctx, target);
  rmSync(abs, { recursive: true, force: true });
  await makeOverlayWhiteout(abs);
}

/** An overlayfs whiteout: a 0/0 character device (Node has no mknod). */
export async function makeOverlayWhiteout(abs: string): Promise<void> {
  await run("mknod", ["-m", "0000", abs, "c", "0", "0"]);
}

/** Marks a directory opaque for overlayfs (`trusted.overlay.opaque=y`, needs the `attr` package). */
export async function markOverlayOpaque(abs: string): Promise<void> {
  try {
    await run("setfattr", ["-n", "trusted.overlay.opaque", "-v", "y", abs]);
  } catch (error) {
    throw new LayerExtractError(
      "LAYER_EXTRACT_FAILED",
      `cannot mark ${abs} opaque: ${(error as Error).message}`,
      {
        hint: "install the attr package (setfattr) and run as root on a filesystem with trusted xattrs",
      },
    );
  }
}

async function applyOpaque(ctx: Context, dir: string): Promise<void> {
  const { abs, rel } = dir === "" ? { abs: ctx.root, rel: "" } : resolveInRootSync(ctx.root, dir, true);
  if (rel !== "") mkdirInRoot(ctx.root, rel);
  if (ctx.options.whiteouts === "overlay") {
    await markOverlayOpaque(abs);
    return;
  }
  for (const name of await readdir(abs)) {
    const child = rel === "" ? name : `${rel}/${name}`;
    if (ctx.created.has(child)) continue;
    await rm(join(abs, name), { recursive: true, force: true });
  }
}

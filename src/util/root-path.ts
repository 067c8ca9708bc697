/**
 * Paths inside a root directory (a build context, a stage's rootfs, a COPY target, a layer being
 * extracted, a container's rootfs) resolved the way a
 * process chrooted into that root would see them: every symlink is followed within the root (an absolute
 * target starts again at the root, `..` stops at the root), so a resolved path never leaves the root.
 */
import { lstatSync, readlinkSync, type Stats } from "node:fs";
import { join } from "node:path";
import { GantryError } from "../errors.js";

const MAX_LINKS = 255;

/** A path could not be resolved inside its root (a symlink loop). */
export class RootPathError extends GantryError {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super("PATH_SYMLINK_LOOP", message, {
      hint: "a symbolic link in the path points back at itself; fix the link",
    });
  }
}

export interface RootPath {
  /** Host path (inside `root`). */
  abs: string;
  /** The same path relative to the root, `/`-separated, `""` for the root itself. */
  rel: string;
  /** lstat of `abs` (or undefined when the path does not exist). */
  stats: Stats | undefined;
}

/** Splits a slash path into its components, dropping empty ones and `.`. */
function components(path: string): string[] {
  return path.split("/").filter((part) => part !== "" && part !== ".");
}

/**
 * Resolves `path` (relative to the root, or absolute meaning the same) inside `root`. Symlinks in the
 * middle are always followed; the last component only when `followFinal`. Components that do not exist
 * are kept literally (`stats` is then undefined).
 */
export async function resolveInRoot(root: string, path: string, followFinal = false): Promise<RootPath> {
  return resolveInRootSync(root, path, followFinal);
}

/** `resolveInRoot` without the promise, for callers that are synchronous themselves. */
export function resolveInRootSync(root: string, path: string, followFinal = false): RootPath {
  const pending = components(path);
  const resolved: string[] = [];
  let links = 0;
  let stats: Stats | undefined = lstatSync(root);
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === "..") {
      resolved.pop();
      stats = lstatSyncOrUndefined(join(root, ...resolved));
      continue;
    }
    const host = join(root, ...resolved, part);
    stats = lstatSyncOrUndefined(host);
    if (stats?.isSymbolicLink() && (pending.length > 0 || followFinal)) {
      if (++links > MAX_LINKS) {
        throw new RootPathError(`too many levels of symbolic links in ${path}`, path);
      }
      const target = readlinkSync(host);
      if (target.startsWith("/")) resolved.length = 0;
      pending.unshift(...components(target));
      stats = lstatSyncOrUndefined(join(root, ...resolved));
      continue;
    }
    resolved.push(part);
    if (stats === undefined) {
      // The rest cannot exist either; keep it literally (it may be created later).
      for (const rest of pending) {
        if (rest === "..") resolved.pop();
        else resolved.push(rest);
      }
      break;
    }
  }
  return { abs: join(root, ...resolved), rel: resolved.join("/"), stats };
}

export async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  return lstatSyncOrUndefined(path);
}

/** lstat, or undefined when the path (or a parent) does not exist. */
export function lstatSyncOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw error;
  }
}

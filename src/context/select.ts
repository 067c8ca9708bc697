/**
 * What a COPY/ADD selects from a source root (the build context, or a stage's or image's rootfs), found
 * in one walk that both the content digest and the copy itself use. Each `path` source is resolved as
 * BuildKit does: cleaned and clamped to the root, wildcards matched component by component, a final
 * symlink followed (within the root), a directory standing for its contents. `.dockerignore` (context
 * only) and `--exclude` are applied while walking; an excluded directory is skipped unread unless an
 * exception may re-include something below it.
 */
import { type BigIntStats, lstatSync, readdirSync } from "node:fs";
import { lstat, readdir, readlink, realpath } from "node:fs/promises";
import { join } from "node:path";
import { IgnoreMatcher, type IgnoreMatchState, parseDockerignore } from "../frontend/dockerignore.js";
import type { CopyOp } from "../graph/types.js";
import { compareNames } from "../image/layer/entry.js";
import { resolveInRoot } from "../util/root-path.js";
import { noSourceFiles, sourceNotFound } from "./errors.js";
import { parseSourcePattern, type SourcePattern } from "./wildcard.js";

export type SourceEntryType = "file" | "directory" | "symlink" | "fifo" | "character-device" | "block-device";

/** The metadata of one source entry (from lstat, with ns times). */
export interface SourceInfo {
  type: SourceEntryType;
  /** Permission bits with setuid/setgid/sticky. */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
  ino: bigint;
  dev: bigint;
  nlink: number;
  rdev: number;
}

export interface SelectedEntry {
  /** Path below where the item lands (`""` = the item itself), `/`-separated. */
  rel: string;
  /** Path relative to the source root (what `.dockerignore` and the stat cache see). */
  sourcePath: string;
  /** Host path. */
  abs: string;
  info: SourceInfo;
  /** Target of a symlink. */
  linkTarget?: string;
}

/** One match of one `path` source. */
export interface SelectedItem {
  /** Index of the source in `op.sources`. */
  sourceIndex: number;
  /** The matched path relative to the source root, as matched (before following a final symlink). */
  matchedPath: string;
  /**
   * Where the item lands relative to the destination directory: a directory's contents land at `""`
   * (or, with `--parents`, at its parent path), a file at its name (or its parent path + name).
   */
  destPath: string;
  isDirectory: boolean;
  /** With `--parents`: the source's parent directories that are re-created above it (outermost first). */
  parents: SelectedEntry[];
  /** The item (rel `""`) and, for a directory, everything below it, parents first, names in byte order. */
  entries: SelectedEntry[];
}

export interface SelectOptions {
  /** The context's `.dockerignore` (only for the context). */
  ignore?: IgnoreMatcher;
  /** Shown in the not-found hint when `.dockerignore` is why a source is missing. */
  ignoreFile?: string;
}

/** Walks what every `path` source of `op` selects. Heredoc, URL and git sources are not looked at here. */
export async function selectSources(
  op: CopyOp,
  sourceRoot: string,
  options: SelectOptions = {},
): Promise<SelectedItem[]> {
  // The root itself may be reached through a symlink (e.g. a context given as /work/ctx -> /srv/ctx).
  const walker = new SourceWalker(await realpath(sourceRoot), options, compileExcludes(op.excludes));
  const items: SelectedItem[] = [];
  for (const [sourceIndex, source] of op.sources.entries()) {
    if (source.kind !== "path") continue;
    const pattern = parseSourcePattern(source.pattern);
    const matches = pattern.hasWildcards ? await walker.matchWildcards(pattern) : [pattern.path];
    if (matches.length === 0) throw noSourceFiles(source.pattern);
    let found = 0;
    for (const matchedPath of matches) {
      const item = await walker.item(sourceIndex, pattern, matchedPath, op.parents, !pattern.hasWildcards);
      if (item === undefined) continue;
      found++;
      if (item.entries.length > 0) items.push(item);
    }
    if (found === 0) throw noSourceFiles(source.pattern);
  }
  return items;
}

function compileExcludes(excludes: readonly string[]): IgnoreMatcher | undefined {
  if (excludes.length === 0) return undefined;
  return new IgnoreMatcher(parseDockerignore(excludes.join("\n"), "--exclude"));
}

/** ns-precision lstat, or undefined when the path does not exist. */
async function lstatBig(path: string): Promise<BigIntStats | undefined> {
  try {
    return await lstat(path, { bigint: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw error;
  }
}

function lstatSyncBig(path: string): BigIntStats | undefined {
  return lstatSync(path, { bigint: true, throwIfNoEntry: false });
}

export function sourceInfoOf(stats: BigIntStats): SourceInfo | undefined {
  const type: SourceEntryType | undefined = stats.isFile()
    ? "file"
    : stats.isDirectory()
      ? "directory"
      : stats.isSymbolicLink()
        ? "symlink"
        : stats.isFIFO()
          ? "fifo"
          : stats.isCharacterDevice()
            ? "character-device"
            : stats.isBlockDevice()
              ? "block-device"
              : undefined;
  if (type === undefined) return undefined; // sockets cannot be copied
  return {
    type,
    mode: Number(stats.mode & 0o7777n),
    uid: Number(stats.uid),
    gid: Number(stats.gid),
    size: type === "file" ? Number(stats.size) : 0,
    mtimeNs: stats.mtimeNs,
    ctimeNs: stats.ctimeNs,
    ino: stats.ino,
    dev: stats.dev,
    nlink: Number(stats.nlink),
    rdev: Number(stats.rdev),
  };
}

function joinRel(dir: string, name: string): string {
  return dir === "" ? name : `${dir}/${name}`;
}

class SourceWalker {
  constructor(
    private readonly root: string,
    private readonly options: SelectOptions,
    private readonly excludes: IgnoreMatcher | undefined,
  ) {}

  private ignored(sourcePath: string): boolean {
    return sourcePath !== "" && this.options.ignore !== undefined && this.options.ignore.matches(sourcePath);
  }

  /** Paths (relative to the root, as matched) that a wildcard pattern selects, in byte order. */
  async matchWildcards(pattern: SourcePattern): Promise<string[]> {
    let candidates = [""];
    for (const part of pattern.parts) {
      const next: string[] = [];
      for (const candidate of candidates) {
        if (part.kind === "literal") {
          next.push(joinRel(candidate, part.name));
          continue;
        }
        const dir = await resolveInRoot(this.root, candidate, true);
        if (!dir.stats?.isDirectory()) continue;
        const names = (await readdir(dir.abs))
          .filter((name) => part.matcher.matches(name))
          .sort(compareNames);
        for (const name of names) {
          const path = joinRel(candidate, name);
          if (!this.ignored(path) || this.options.ignore!.mayHaveIncludedDescendants(path)) next.push(path);
        }
      }
      candidates = next;
    }
    const existing: string[] = [];
    for (const candidate of candidates) {
      if ((await resolveInRoot(this.root, candidate, true)).stats !== undefined) existing.push(candidate);
    }
    return existing;
  }

  /**
   * The item for one matched path; undefined when it does not exist (for a literal path: an error) or is
   * wholly excluded by `.dockerignore`.
   */
  async item(
    sourceIndex: number,
    pattern: SourcePattern,
    matchedPath: string,
    keepParents: boolean,
    literal: boolean,
  ): Promise<SelectedItem | undefined> {
    const resolved = await resolveInRoot(this.root, matchedPath, true);
    const stats = resolved.stats === undefined ? undefined : await lstatBig(resolved.abs);
    const info = stats === undefined ? undefined : sourceInfoOf(stats);
    const missing = () => {
      if (!literal) return undefined;
      throw sourceNotFound(pattern.original, this.ignored(matchedPath) ? this.options.ignoreFile : undefined);
    };
    if (info === undefined) return missing();
    const names = matchedPath === "" ? [] : matchedPath.split("/");
    const base = names[names.length - 1] ?? "";
    const parentNames = keepParents ? names.slice(pattern.pivot, -1) : [];
    const isDirectory = info.type === "directory";
    const destPath = isDirectory
      ? keepParents
        ? names.slice(pattern.pivot).join("/")
        : ""
      : [...parentNames, base].join("/");
    const entries: SelectedEntry[] = [];
    const rootEntry: SelectedEntry = { rel: "", sourcePath: resolved.rel, abs: resolved.abs, info };
    if (isDirectory) {
      const ignore = this.options.ignore?.matchWithParent(resolved.rel || ".");
      const ignoredItself = this.ignored(matchedPath) || ignore?.excluded === true;
      entries.push(rootEntry);
      const any = await this.walk(resolved.abs, resolved.rel, "", ignore?.state, undefined, entries);
      if (ignoredItself && !any) return missing();
    } else {
      if (this.ignored(matchedPath)) return missing();
      if (this.excludes?.matches(base))
        return { sourceIndex, matchedPath, destPath, isDirectory, parents: [], entries };
      if (info.type === "symlink") rootEntry.linkTarget = await readlink(resolved.abs);
      entries.push(rootEntry);
    }
    const parents: SelectedEntry[] = [];
    for (let i = pattern.pivot; i < names.length - 1; i++) {
      const sourcePath = names.slice(0, i + 1).join("/");
      const dir = await resolveInRoot(this.root, sourcePath, true);
      const dirStats = await lstatBig(dir.abs);
      const dirInfo = dirStats === undefined ? undefined : sourceInfoOf(dirStats);
      if (dirInfo === undefined) continue;
      parents.push({
        rel: names.slice(pattern.pivot, i + 1).join("/"),
        sourcePath: dir.rel,
        abs: dir.abs,
        info: dirInfo,
      });
    }
    return { sourceIndex, matchedPath, destPath, isDirectory, parents: keepParents ? parents : [], entries };
  }

  /** Appends the entries below `abs`; returns whether any was appended. */
  private async walk(
    abs: string,
    sourceDir: string,
    relDir: string,
    ignoreState: IgnoreMatchState | undefined,
    excludeState: IgnoreMatchState | undefined,
    out: SelectedEntry[],
  ): Promise<boolean> {
    // Synchronous on purpose: a context walk is tens of thousands of tiny lstat calls, which the libuv
    // thread pool makes ~5x slower than direct calls; one directory at a time keeps the loop responsive.
    const names = readdirSync(abs).sort(compareNames);
    const stats = names.map((name) => lstatSyncBig(join(abs, name)));
    let any = false;
    for (const [i, name] of names.entries()) {
      const childStats = stats[i];
      const info = childStats === undefined ? undefined : sourceInfoOf(childStats);
      if (info === undefined) continue;
      const sourcePath = joinRel(sourceDir, name);
      const rel = joinRel(relDir, name);
      const childAbs = join(abs, name);
      const ignore = this.options.ignore?.matchWithParent(sourcePath, ignoreState);
      const exclude = this.excludes?.matchWithParent(rel, excludeState);
      const ignored = ignore?.excluded === true;
      const excluded = exclude?.excluded === true;
      if (info.type === "directory") {
        if (ignored && !this.options.ignore!.mayHaveIncludedDescendants(sourcePath)) continue;
        if (excluded && !this.excludes!.mayHaveIncludedDescendants(rel)) continue;
        const at = out.length;
        out.push({ rel, sourcePath, abs: childAbs, info });
        const below = await this.walk(childAbs, sourcePath, rel, ignore?.state, exclude?.state, out);
        if ((ignored || excluded) && !below) out.length = at;
        else any = true;
        continue;
      }
      if (ignored || excluded) continue;
      const entry: SelectedEntry = { rel, sourcePath, abs: childAbs, info };
      if (info.type === "symlink") entry.linkTarget = await readlink(childAbs);
      out.push(entry);
      any = true;
    }
    return any;
  }
}

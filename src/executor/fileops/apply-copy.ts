/**
 * COPY and ADD with BuildKit's semantics, writing into a layer directory over a read-only view of the
 * layers below (`lowerRoot`; none for `--link` or a plain target directory, see target-tree.ts): sources in order; a directory copies its contents; a file lands inside a destination that
 * ends with `/` or is an existing directory, else at the destination path; several sources need a
 * directory destination; the destination (relative to WORKDIR) is created with its parents 0755 owned by
 * the `--chown` user. Modes, mtimes, symlinks and (within one COPY) hard links are kept; owners too for
 * stage/image sources, while context files become 0:0. `--chmod` applies to every file and directory
 * copied. ADD extracts local tar archives and downloads URLs. Nothing is written outside the target.
 */
import { realpath } from "node:fs/promises";
import { posix } from "node:path";
import { normalizedMode } from "../../context/digest.js";
import { CopyError } from "../../context/errors.js";
import { checkoutGit, resolveGitCommit } from "../../context/git-source.js";
import { type SelectedEntry, type SelectedItem, selectSources } from "../../context/select.js";
import type { IgnoreMatcher } from "../../frontend/dockerignore.js";
import type { CopyOp } from "../../graph/types.js";
import { deviceMajor, deviceMinor } from "../../image/layer/walk.js";
import { detectArchive, extractArchive } from "./archive.js";
import { type ModeFunction, parseChmod } from "./chmod.js";
import { downloadUrl, type FetchLike } from "./fetch-url.js";
import {
  type Ownership,
  type PlaceContent,
  type Placed,
  type PlaceMeta,
  TargetTree,
  type TreeDir,
} from "./target-tree.js";
import { resolveChown } from "./user-db.js";

export interface ApplyCopyInput {
  /** Where `path` sources are read: the context dir, or a stage/image rootfs. */
  sourceRoot: string;
  /** The context's `.dockerignore` (context only). */
  ignore?: IgnoreMatcher;
  ignoreFile?: string;
  /** The directory written into: the new layer's (or a writable rootfs). */
  targetRoot: string;
  /**
   * Read-only view of the layers below the target: paths are resolved through it (symlinks, existing
   * directories) and existing parents are copied up from it. None: the target root is the whole tree.
   */
  lowerRoot?: string;
  /** Root whose /etc/passwd and /etc/group resolve `--chown` names (the image being built). */
  userDbRoot: string;
  /** `--link`: targetRoot is an empty directory that becomes a layer on its own. */
  link?: boolean;
  /** Copy modes as git would store them (0644/0755). */
  normalizePermissions?: boolean;
  /** Keep source uid/gid when there is no --chown (default: yes unless the source is the context). */
  preserveOwnership?: boolean;
  /** HTTP client for ADD <url> (default undici's fetch). */
  fetch?: FetchLike;
  /** Where downloads are staged (default the OS temp dir). */
  tempDir?: string;
  /** A selection made earlier by digestSources, to avoid walking the sources twice. */
  selection?: SelectedItem[];
  signal?: AbortSignal;
}

/** Whether a COPY destination names a directory by its form (`dir/`, `.`). */
export function isDirectoryForm(dest: string): boolean {
  return dest === "" || dest === "." || dest.endsWith("/") || dest.endsWith("/.");
}

export async function applyCopy(op: CopyOp, input: ApplyCopyInput): Promise<void> {
  const lowerRoot = input.lowerRoot === undefined ? undefined : await realpath(input.lowerRoot);
  await placeCopy(op, input, new TargetTree(await realpath(input.targetRoot), lowerRoot));
}

/** The sources `op` selects (the earlier selection when there is one). */
export async function copySelection(op: CopyOp, input: PlaceCopyInput): Promise<SelectedItem[]> {
  return (
    input.selection ??
    (await selectSources(op, input.sourceRoot, { ignore: input.ignore, ignoreFile: input.ignoreFile }))
  );
}

/** What placing needs: the input without the target directory (the tree carries its write root). */
export type PlaceCopyInput = Omit<ApplyCopyInput, "targetRoot">;

/** Places what `op` copies into `tree` (whose lower root is `input.lowerRoot`'s real path). */
export async function placeCopy(op: CopyOp, input: PlaceCopyInput, tree: TargetTree): Promise<void> {
  const owner =
    op.chown === undefined || op.chown === "" ? undefined : await resolveChown(op.chown, input.userDbRoot);
  const modeOf = op.chmod === undefined || op.chmod === "" ? undefined : parseChmod(op.chmod);
  const items = await copySelection(op, input);
  const dest = posix.resolve(op.workdir || "/", op.dest);
  const directoryForm = isDirectoryForm(op.dest);
  const count = items.length + op.sources.filter((source) => source.kind !== "path").length;
  if (count > 1 && !directoryForm) {
    throw new CopyError(
      "COPY_DEST_NOT_DIR",
      `When using ${op.instruction} with more than one source file, the destination must be a directory and end with a /`,
      { path: op.dest, hint: `write the destination as ${op.dest}/` },
    );
  }
  await tree.mkdirAll(directoryForm ? dest : posix.dirname(dest), owner);
  const copier = new Copier(op, input, tree, dest, directoryForm, owner, modeOf);
  for (const [index, source] of op.sources.entries()) {
    input.signal?.throwIfAborted();
    if (source.kind === "path") {
      for (const item of items) if (item.sourceIndex === index) await copier.copyItem(item);
    } else if (source.kind === "heredoc") {
      const data = Buffer.from(source.content);
      await copier.placeFile(source.name, { kind: "file", data }, copier.fileMeta(0o644));
    } else if (source.kind === "url") {
      await copier.copyUrl(source.url);
    } else {
      // A repository: its checkout (or `:subdir`) is copied like a directory's contents.
      const commit = await resolveGitCommit(source);
      const checkout = await checkoutGit(source, commit, {
        keepGitDir: op.keepGitDir,
        tempDir: input.tempDir,
      });
      try {
        const asPath: CopyOp = { ...op, sources: [{ kind: "path", pattern: "." }] };
        for (const item of await selectSources(asPath, checkout.dir)) await copier.copyItem(item);
      } finally {
        await checkout.release();
      }
    }
  }
  await tree.finish();
}

/** Entries placed between two turns of the event loop. */
const YIELD_EVERY = 256;

class Copier {
  /** dev:ino → write-root path of the first copy, so hard links stay hard links within this COPY. */
  private readonly links = new Map<string, string>();

  constructor(
    private readonly op: CopyOp,
    private readonly input: PlaceCopyInput,
    private readonly tree: TargetTree,
    private readonly dest: string,
    private readonly directoryForm: boolean,
    private readonly owner: Ownership | undefined,
    private readonly modeOf: ModeFunction | undefined,
  ) {}

  private get preserveOwnership(): boolean {
    return this.input.preserveOwnership ?? this.op.from.kind !== "context";
  }

  /** Metadata of a copied source entry after --chown / --chmod / normalisation. */
  private meta(entry: SelectedEntry): PlaceMeta {
    const { info } = entry;
    const isDirectory = info.type === "directory";
    let mode = info.mode;
    if (this.modeOf !== undefined && info.type !== "symlink") mode = this.modeOf(info.mode, isDirectory);
    else if (this.input.normalizePermissions) mode = normalizedMode(info.type, info.mode);
    const ids =
      this.owner ?? (this.preserveOwnership ? { uid: info.uid, gid: info.gid } : { uid: 0, gid: 0 });
    return { mode, uid: ids.uid, gid: ids.gid, mtimeNs: info.mtimeNs };
  }

  /** Metadata of a file ADD/COPY makes itself (heredoc, download). */
  fileMeta(defaultMode: number, mtimeNs?: bigint): PlaceMeta {
    const mode = this.modeOf === undefined ? defaultMode : this.modeOf(defaultMode, false);
    const meta: PlaceMeta = { mode, uid: this.owner?.uid ?? 0, gid: this.owner?.gid ?? 0 };
    if (mtimeNs !== undefined) meta.mtimeNs = mtimeNs;
    return meta;
  }

  private content(entry: SelectedEntry): PlaceContent {
    const { info } = entry;
    switch (info.type) {
      case "file":
        return { kind: "file", copyFrom: entry.abs, sourceMode: info.mode, size: info.size };
      case "directory":
        return { kind: "directory" };
      case "symlink":
        return { kind: "symlink", target: entry.linkTarget ?? "" };
      default:
        return { kind: info.type, major: deviceMajor(info.rdev), minor: deviceMinor(info.rdev) };
    }
  }

  /** Where a file named `name` goes: inside the destination directory, or at the destination path. */
  private async fileTarget(name: string): Promise<string> {
    if (this.directoryForm) return posix.join(this.dest, name);
    const existing = this.tree.resolve(this.dest, true);
    return existing.stats?.isDirectory() ? posix.join(this.dest, name) : this.dest;
  }

  /** Places one entry at container path `path`, its parent created as needed. */
  private async placeAt(
    path: string,
    content: PlaceContent,
    meta: PlaceMeta,
    overwrite: boolean,
  ): Promise<Placed> {
    if (path === "/") {
      const root = await this.tree.mkdirAll("/");
      return { rel: "", dir: root };
    }
    const parent = await this.tree.mkdirAll(posix.dirname(path), this.owner);
    return this.tree.place(parent, posix.basename(path), content, meta, overwrite);
  }

  async placeFile(name: string, content: PlaceContent, meta: PlaceMeta): Promise<void> {
    await this.placeAt(await this.fileTarget(name), content, meta, true);
  }

  /** `--parents`: the source's parent directories, created with their source metadata where missing. */
  private async placeParents(item: SelectedItem, base: string): Promise<void> {
    for (const parent of item.parents) {
      await this.placeAt(posix.join(base, parent.rel), { kind: "directory" }, this.meta(parent), false);
    }
  }

  async copyItem(item: SelectedItem): Promise<void> {
    const top = item.entries[0]!;
    if (!item.isDirectory) {
      if (this.op.instruction === "ADD" && this.op.unpack !== false && top.info.type === "file") {
        const compression = await detectArchive(top.abs);
        if (compression !== undefined) {
          const dir = await this.tree.mkdirAll(this.dest, this.owner);
          await extractArchive(top.abs, compression, dir.abs, { owner: this.owner, lowerDir: dir.lower });
          return;
        }
      }
      const target = await this.fileTarget(item.destPath);
      if (target !== this.dest || this.directoryForm) await this.placeParents(item, this.dest);
      const placed = await this.placeAt(
        target,
        this.hardLinkOr(top, this.content(top)),
        this.meta(top),
        true,
      );
      this.remember(top, placed.rel);
      return;
    }
    await this.placeParents(item, this.dest);
    const dirs = new Map<string, TreeDir>();
    const rootPath = posix.join(this.dest, item.destPath);
    const placedRoot = await this.placeAt(rootPath, { kind: "directory" }, this.meta(top), false);
    if (placedRoot.dir !== undefined) dirs.set("", placedRoot.dir);
    let sinceYield = 0;
    for (const entry of item.entries) {
      if (entry.rel === "") continue;
      // The copy loop is mostly synchronous: let progress, timers and cancellation in now and then.
      if (++sinceYield === YIELD_EVERY) {
        sinceYield = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
      this.input.signal?.throwIfAborted();
      const slash = entry.rel.lastIndexOf("/");
      const parent = dirs.get(slash < 0 ? "" : entry.rel.slice(0, slash));
      if (parent === undefined) continue;
      const placed = await this.tree.place(
        parent,
        entry.rel.slice(slash + 1),
        this.hardLinkOr(entry, this.content(entry)),
        this.meta(entry),
      );
      if (placed.dir !== undefined) dirs.set(entry.rel, placed.dir);
      else this.remember(entry, placed.rel);
    }
  }

  private hardLinkOr(entry: SelectedEntry, content: PlaceContent): PlaceContent {
    if (entry.info.type === "directory" || entry.info.nlink < 2) return content;
    const first = this.links.get(`${entry.info.dev}:${entry.info.ino}`);
    return first === undefined ? content : { kind: "hardlink", existing: first };
  }

  private remember(entry: SelectedEntry, rel: string): void {
    if (entry.info.type === "directory" || entry.info.nlink < 2) return;
    const key = `${entry.info.dev}:${entry.info.ino}`;
    if (!this.links.has(key)) this.links.set(key, rel);
  }

  async copyUrl(url: string): Promise<void> {
    const downloaded = await downloadUrl(url, {
      checksum: this.op.checksum,
      fetch: this.input.fetch,
      tempDir: this.input.tempDir,
      signal: this.input.signal,
    });
    try {
      if (this.op.unpack === true) {
        const compression = await detectArchive(downloaded.path);
        if (compression !== undefined) {
          const dir = await this.tree.mkdirAll(this.dest, this.owner);
          await extractArchive(downloaded.path, compression, dir.abs, {
            owner: this.owner,
            lowerDir: dir.lower,
          });
          return;
        }
      }
      await this.placeFile(
        downloaded.filename,
        { kind: "file", copyFrom: downloaded.path },
        this.fileMeta(0o600, downloaded.mtimeNs),
      );
    } finally {
      await downloaded.cleanup();
    }
  }
}

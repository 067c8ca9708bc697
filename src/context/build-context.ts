/**
 * The build context: a directory, the `.dockerignore` that applies to it (`<Dockerfile>.dockerignore`
 * first, as the frontend's loader decides) and its persistent stat cache. `digestSources` digests what
 * a COPY/ADD selects from it; `save` writes the stat cache back (atomically) after a build.
 */
import { realpath, stat } from "node:fs/promises";
import { type IgnoreMatcher, loadDockerignore } from "../frontend/dockerignore.js";
import type { CopyOp } from "../graph/types.js";
import { type DigestOptions, digestSources, type SourcesDigest } from "./digest.js";
import { ContextError } from "./errors.js";
import { type HashCounters, newHashCounters } from "./file-hash.js";
import { StatCache } from "./stat-cache.js";

export interface BuildContextOptions {
  /** The Dockerfile path (relative to the context or absolute); default `Dockerfile`. */
  dockerfile?: string;
  /** Where the stat cache is kept; e.g. `StatCache.pathFor(dataRoot, dir)`. Without it: memory only. */
  statCachePath?: string;
}

export class BuildContext {
  /** What was read to hash files, over the lifetime of this object. */
  readonly counters: HashCounters = newHashCounters();

  private constructor(
    /** Absolute, symlink-free path of the context directory. */
    readonly dir: string,
    readonly ignore: IgnoreMatcher,
    /** The `.dockerignore` file in effect, if any. */
    readonly ignoreFile: string | undefined,
    readonly statCache: StatCache,
  ) {}

  static async open(dir: string, options: BuildContextOptions = {}): Promise<BuildContext> {
    let real: string;
    try {
      real = await realpath(dir);
      if (!(await stat(real)).isDirectory()) throw new Error("not a directory");
    } catch (error) {
      throw new ContextError(`build context ${dir} is not a readable directory`, {
        hint: "pass the directory to build from (usually `.`)",
        cause: error,
      });
    }
    const { file, matcher } = await loadDockerignore(real, options.dockerfile ?? "Dockerfile");
    const statCache =
      options.statCachePath === undefined
        ? StatCache.memory(real)
        : await StatCache.load(options.statCachePath, real);
    return new BuildContext(real, matcher, file, statCache);
  }

  /** Convenience: the stat cache file for `dir` under a data root. */
  static statCachePathFor(dataRoot: string, dir: string): string {
    return StatCache.pathFor(dataRoot, dir);
  }

  /** The content digest of what `op` selects from the context (ignore rules and stat cache applied). */
  digestSources(
    op: CopyOp,
    options: Pick<DigestOptions, "normalizePermissions" | "concurrency"> = {},
  ): Promise<SourcesDigest> {
    return digestSources(op, this.dir, {
      ...options,
      ignore: this.ignore,
      ignoreFile: this.ignoreFile,
      statCache: this.statCache,
      counters: this.counters,
    });
  }

  /** Writes the stat cache (if it changed). */
  save(): Promise<void> {
    return this.statCache.save();
  }
}

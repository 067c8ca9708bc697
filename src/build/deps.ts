/**
 * The executor's parts for one build, opened from the data root and the build flags: the snapshotter
 * (overlayfs, or copying), the runtime (runc/crun, or chroot), COPY/ADD over the build context (with its
 * .dockerignore and persistent stat cache) and RUN --mount preparation (secrets, ssh sockets).
 */
import { BuildContext } from "../context/build-context.js";
import { digestSources } from "../context/digest.js";
import { applyCopy } from "../executor/fileops/index.js";
import { prepareExecMounts } from "../executor/mounts.js";
import { openRuntime, type RuntimePreference } from "../executor/runtime/index.js";
import { openSnapshotter, type SnapshotterPreference } from "../executor/snapshot/index.js";
import type { FileOps, MountPreparer } from "../executor/solver.js";
import type { Runtime, Snapshotter } from "../executor/types.js";
import type { BlobStore } from "../image/store-types.js";

export interface BuildDepsOptions {
  secrets?: Map<string, { src?: string; env?: string }>;
  ssh?: Map<string, string>;
  snapshotter?: SnapshotterPreference;
  isolation?: RuntimePreference;
  /** Hash and copy context files with git's modes (644/755), so runners with other umasks share keys. */
  normalizePermissions?: boolean;
}

export interface BuildDeps {
  snapshotter: Snapshotter;
  runtime: Runtime;
  files: FileOps;
  mounts: MountPreparer;
  context: BuildContext;
}

export async function openBuildDeps(
  root: string,
  blobs: BlobStore,
  contextDir: string,
  dockerfile: string,
  options: BuildDepsOptions,
): Promise<BuildDeps> {
  const context = await BuildContext.open(contextDir, {
    dockerfile,
    statCachePath: BuildContext.statCachePathFor(root, contextDir),
  });
  const [snapshotter, runtime] = await Promise.all([
    openSnapshotter(root, blobs, options.snapshotter ?? "auto"),
    openRuntime(root, options.isolation ?? "auto"),
  ]);
  const normalizePermissions = options.normalizePermissions ?? false;
  const files: FileOps = {
    async digest(op, source) {
      const selected = source.isContext
        ? await context.digestSources(op, { normalizePermissions })
        : await digestSources(op, source.root);
      const byPath: Record<string, string> = {};
      for (const file of selected.files) byPath[file.path] = file.contentDigest ?? file.digest;
      return { digest: selected.digest, files: byPath };
    },
    async apply(op, source, targetRoot, userDbRoot) {
      await applyCopy(op, {
        sourceRoot: source.root,
        ignore: source.isContext ? context.ignore : undefined,
        ignoreFile: source.isContext ? context.ignoreFile : undefined,
        targetRoot,
        userDbRoot,
        normalizePermissions: source.isContext && normalizePermissions,
      });
    },
  };
  const mounts: MountPreparer = (specs, rootfs, resolveFrom) =>
    prepareExecMounts(specs, {
      root,
      rootfs,
      secrets: options.secrets ?? new Map(),
      sshSockets: options.ssh ?? new Map(),
      resolveFrom,
    });
  return { snapshotter, runtime, files, mounts, context };
}

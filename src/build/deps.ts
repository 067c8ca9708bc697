/**
 * The executor's parts for one build, opened from the data root and the build flags: the snapshotter
 * (overlayfs, or copying), the runtime (runc/crun, or chroot), COPY/ADD over the build context (with its
 * .dockerignore and persistent stat cache) and RUN --mount preparation (secrets, ssh sockets).
 */
import { existsSync } from "node:fs";
import { BuildContext } from "../context/build-context.js";
import { createFileOps } from "../executor/fileops/file-ops.js";
import { prepareExecMounts } from "../executor/mounts.js";
import { openRuntime, type RuntimePreference } from "../executor/runtime/index.js";
import { openSnapshotter, type SnapshotterPreference } from "../executor/snapshot/index.js";
import { LayerStore } from "../executor/snapshot/layer-store.js";
import type { FileOps, MountPreparer } from "../executor/solver.js";
import { hasBlob, type LayerRef, type Runtime, type Snapshotter } from "../executor/types.js";
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
  /**
   * A head start for a build that is pulling a base image: opens the snapshotter now (the overlayfs probe
   * runs while the image downloads) and starts unpacking `layers` in the background. Failures are left to
   * the step that needs them.
   */
  warm(layers?: LayerRef[]): void;
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
  // Opened on first use: a fully cached build never probes overlayfs or the runtime.
  let opened: Snapshotter | undefined;
  const openedSnapshotter = once(async () => {
    opened = await openSnapshotter(root, blobs, options.snapshotter ?? "auto");
    return opened;
  });
  const openedRuntime = once(() => openRuntime(root, options.isolation ?? "auto"));
  const snapshotter: Snapshotter = {
    kind: options.snapshotter === "copy" ? "copy" : "overlayfs",
    // Asked only after a prepare or scratch, which open it.
    get keepsSnapshots() {
      return opened?.keepsSnapshots ?? false;
    },
    // A layer with its blob in the store needs no snapshotter; only a step's kept snapshot does.
    available: async (layer) => {
      if (hasBlob(layer) && (await blobs.stat(layer.digest)) !== undefined) return true;
      if (options.snapshotter === "copy") return false;
      if (!hasBlob(layer) && !existsSync(LayerStore.layerPathIn(root, layer.snapshot))) return false;
      return (await openedSnapshotter()).available(layer);
    },
    snapshotEntries: async (layer, below) => (await openedSnapshotter()).snapshotEntries(layer, below),
    prepare: async (layers) => (await openedSnapshotter()).prepare(layers),
    view: async (layers) => (await openedSnapshotter()).view(layers),
    scratch: async () => (await openedSnapshotter()).scratch(),
  };
  const runtime: Runtime = {
    name: options.isolation === "chroot" ? "chroot" : options.isolation === "crun" ? "crun" : "runc",
    run: async (request) => (await openedRuntime()).run(request),
  };
  const files = createFileOps(context, { normalizePermissions: options.normalizePermissions ?? false });
  const mounts: MountPreparer = (specs, rootfs, resolveFrom) =>
    prepareExecMounts(specs, {
      root,
      rootfs,
      secrets: options.secrets ?? new Map(),
      sshSockets: options.ssh ?? new Map(),
      resolveFrom,
    });
  const warm = (layers: LayerRef[] = []) => {
    if (options.snapshotter === "copy") return;
    void openedSnapshotter()
      .then((ready) => ready.unpack?.(layers))
      .catch(() => {});
  };
  return { snapshotter, runtime, files, mounts, context, warm };
}

function once<T>(open: () => Promise<T>): () => Promise<T> {
  let opened: Promise<T> | undefined;
  return () => {
    opened ??= open();
    return opened;
  };
}

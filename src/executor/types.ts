/**
 * Contracts between the solver (executor/solver.ts) and the parts it drives: the snapshotter (layers →
 * mounted root filesystems, and back), the runtime (a RUN in runc), and the file ops (COPY/ADD). The
 * solver owns ordering, caching and image assembly; these parts own the filesystem work.
 */
import type { ResolvedImage } from "../graph/types.js";
import type { LayerEntry } from "../image/layer/entry.js";
import type { StoredLayer } from "../image/store-types.js";

/** A step's or base image's layer as a blob in the content store, with its diffID. */
export type LayerBlob = StoredLayer;

/** The layers of a base image, bottom first. */
export function imageLayers(image: ResolvedImage): LayerBlob[] {
  return image.layers.map((layer, i) => ({
    digest: layer.digest,
    size: layer.size,
    mediaType: layer.mediaType,
    diffId: image.diffIds[i]!,
  }));
}

/**
 * How a layer kept as a snapshot is turned into layer entries again: against the layers below it (RUN,
 * WORKDIR: directories only copied up are left out) or on its own (COPY's scratch directory).
 */
export type SnapshotDiffBase = "below" | "none";

/** Where a layer's unpacked form lives in the snapshot store, when it is not simply named by its diffID. */
export interface SnapshotName {
  /** Directory name in the snapshot store (`s-<key and random hex>` for a step's layer). */
  snapshot: string;
  diffBase: SnapshotDiffBase;
}

/** A step's layer kept only as a snapshot: its blob is written when something needs it (snapshot-blobs.ts). */
export interface SnapshotOnlyLayer extends SnapshotName {
  /** Bytes of file content in the layer (what `gantry prune --keep-storage` counts for it). */
  contentSize: number;
  digest?: undefined;
  diffId?: undefined;
  size?: undefined;
  mediaType?: undefined;
}

/**
 * A layer as the executor knows it: a blob (unpacked on demand, under its diffID unless `snapshot` names
 * the directory the step left), or, on a snapshotter that keeps snapshots, only the snapshot a step left.
 */
export type LayerRef = (LayerBlob & Partial<SnapshotName>) | SnapshotOnlyLayer;

/** Whether the layer's blob is known (written, or pulled). */
export function hasBlob(layer: LayerRef): layer is LayerBlob & Partial<SnapshotName> {
  return layer.digest !== undefined;
}

/** A writable root filesystem on top of some layers (an overlay mount, or a copied tree). */
export interface ActiveSnapshot {
  /** The mounted root filesystem (absolute host path). */
  readonly rootfs: string;
  /**
   * What changed since `prepare`, as layer entries in canonical order (overlay whiteouts and opaque
   * directories turned into OCI `.wh.` entries). Content is read from the snapshot, so it must be
   * consumed before `release`.
   */
  diff(): AsyncIterable<LayerEntry>;
  /**
   * Keeps the changes in the snapshot store under `name` (a diffID's hex, or a step's `s-<key hex>`), so a
   * later step that has this layer below it need not extract a blob. Call at most once, before `release`.
   */
  commit(name: string): Promise<void>;
  /** Unmounts and removes everything not committed. Idempotent. */
  release(): Promise<void>;
}

/** A read-only view of some layers (for `COPY --from`, bind mounts of stages). */
export interface ReadonlyView {
  readonly rootfs: string;
  release(): Promise<void>;
}

export interface Snapshotter {
  readonly kind: "overlayfs" | "copy";
  /**
   * Whether committed snapshots outlive the build (overlayfs: the snapshot store). Only then may a step's
   * layer stay a snapshot whose blob is written later, or never.
   */
  readonly keepsSnapshots: boolean;
  /** Whether `layer` can be mounted: its snapshot is there, or its blob is in the content store. */
  available(layer: LayerRef): Promise<boolean>;
  /**
   * The entries of a committed snapshot as a layer, `below` being the layers under it (bottom first), the
   * same entries its `diff()` gave when it was committed.
   */
  snapshotEntries(layer: SnapshotOnlyLayer, below: LayerRef[]): Promise<AsyncIterable<LayerEntry>>;
  /**
   * Extracts the layers not unpacked yet (a head start: `prepare` and `view` would extract them anyway).
   * Snapshotters that keep no unpacked layers have none.
   */
  unpack?(layers: LayerRef[]): Promise<void>;
  /** A writable rootfs over `layers` (bottom first). Layers not yet unpacked are extracted first. */
  prepare(layers: LayerRef[]): Promise<ActiveSnapshot>;
  /** A read-only rootfs of `layers`. */
  view(layers: LayerRef[]): Promise<ReadonlyView>;
  /** An empty writable directory whose content becomes a layer on its own (`COPY --link`). */
  scratch(): Promise<ActiveSnapshot>;
}

export interface RuntimeMount {
  type: "bind" | "tmpfs";
  /** Absolute path in the container. */
  target: string;
  /** Host path (bind). */
  source?: string;
  readonly?: boolean;
  /** tmpfs size in bytes. */
  size?: number;
  /** tmpfs mode. */
  mode?: number;
}

export interface RunRequest {
  rootfs: string;
  args: string[];
  env: string[];
  cwd: string;
  /** USER as written (`""`, `1000`, `demo`, `demo:staff`, `1000:1000`); resolved through the rootfs. */
  user: string;
  network: "default" | "none" | "host";
  security: "sandbox" | "insecure";
  mounts: RuntimeMount[];
  hostname?: string;
  /** Output chunks as they arrive (stdout and stderr interleaved). */
  onOutput?: (chunk: Buffer, stream: "stdout" | "stderr") => void;
  /** Called once the container's process has been started (its set-up done). */
  onStarted?: () => void;
  signal?: AbortSignal;
}

export interface RunResult {
  exitCode: number;
  /** Last lines of combined output (for error messages). */
  tail: string[];
}

export interface Runtime {
  readonly name: "runc" | "crun" | "chroot";
  run(request: RunRequest): Promise<RunResult>;
}

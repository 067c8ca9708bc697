/**
 * Contracts between the solver (executor/solver.ts) and the parts it drives: the snapshotter (layers →
 * mounted root filesystems, and back), the runtime (a RUN in runc), and the file ops (COPY/ADD). The
 * solver owns ordering, caching and image assembly; these parts own the filesystem work.
 */
import type { LayerEntry } from "../image/layer/entry.js";
import type { Digest } from "../image/store-types.js";

/** A layer as the executor knows it: its blob in the content store and its uncompressed diffID. */
export interface LayerRef {
  digest: Digest;
  diffId: Digest;
  size: number;
  mediaType: string;
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
   * Keeps the changes as the unpacked form of the layer `diffId` was written from, so a later step that
   * has this layer below it need not extract the blob again. Call at most once, before `release`.
   */
  commit(diffId: Digest): Promise<void>;
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

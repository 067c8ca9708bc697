/**
 * The solver's contracts: what it needs from the rest of the executor (`SolverDeps`: stores, snapshotter,
 * runtime, COPY/ADD file ops, RUN mount preparation, imported caches), how it is told to run
 * (`SolveOptions`), and what it returns (`StageResult` per stage, `SolveResult`).
 */
import type { CacheKey } from "../cache/key.js";
import type { CacheRecord, CacheRecordStore } from "../cache/records.js";
import type { CacheSource } from "../cache/remote.js";
import type { SourceMemoStore } from "../cache/source-memo.js";
import type { SourceLocation } from "../errors.js";
import type { SourceRange } from "../frontend/ast.js";
import type { CopyOp, ExecMount, SourceRef } from "../graph/types.js";
import type { Compression } from "../image/layer/compress.js";
import type { LayerEntry } from "../image/layer/entry.js";
import type { ContainerConfig, HistoryEntry, Platform } from "../image/oci-types.js";
import type { BlobStore, Digest } from "../image/store-types.js";
import type { ProgressSink } from "./progress.js";
import type { LayerBlob, LayerRef, Runtime, RuntimeMount, Snapshotter } from "./types.js";

/** A directory COPY reads from, with the ignore rules that apply to it (the context's .dockerignore). */
export interface CopySourceRoot {
  root: string;
  /** True for the build context (its .dockerignore applies). */
  isContext: boolean;
}

/** COPY/ADD, provided by src/context + src/executor/fileops. */
export interface FileOps {
  /** Content digest of what `op` selects from `source`, and per-file digests (for explaining misses). */
  digest(op: CopyOp, source: CopySourceRoot): Promise<{ digest: Digest; files: Record<string, string> }>;
  /**
   * Writes what `op` selects into `targetRoot` (the new layer's directory); names in --chown resolve in
   * `userDbRoot`. With `lowerRoot` (a read-only view of the layers below) paths are resolved through it
   * and existing parent directories are copied up from it, as overlayfs would.
   */
  apply(
    op: CopyOp,
    source: CopySourceRoot,
    targetRoot: string,
    userDbRoot: string,
    lowerRoot?: string,
  ): Promise<void>;
  /**
   * The layer `apply` would produce, as entries in canonical order that read the sources directly (no
   * file is copied); undefined when `op` is not eligible (ADD of an archive or URL) and `apply` must run.
   * The entries must be written before `source` is released.
   */
  layer?(
    op: CopyOp,
    source: CopySourceRoot,
    userDbRoot: string,
    lowerRoot?: string,
  ): Promise<AsyncIterable<LayerEntry> | undefined>;
}

/** RUN --mount, provided by src/executor/mounts.ts. */
export type MountPreparer = (
  mounts: ExecMount[],
  rootfs: string,
  resolveFrom: (from: SourceRef) => Promise<{ rootfs: string; release(): Promise<void> }>,
) => Promise<{ mounts: RuntimeMount[]; env: string[]; release(): Promise<void> }>;

export interface SolverDeps {
  blobs: BlobStore;
  records: CacheRecordStore;
  snapshotter: Snapshotter;
  runtime: Runtime;
  files: FileOps;
  mounts: MountPreparer;
  /** Absolute path of the build context. */
  contextDir: string;
  /** Imported caches (`--cache-from`), asked after the local records, in order. */
  remote?: CacheSource[];
  /** COPY --from source digests by source state + op (src/cache/source-memo.ts); none: always hash. */
  sourceMemos?: SourceMemoStore;
}

export interface SolveOptions {
  noCache: boolean;
  compression: Compression;
  compressionLevel?: number;
  sourceDateEpoch?: number;
  /** Prefix of step identities in the cache (which Dockerfile/target), for explaining misses. */
  identity: string;
  progress: ProgressSink;
  /** Concurrent RUN steps (default: 2). */
  runLimit?: number;
  signal?: AbortSignal;
  /** Maps a step's source range to a location for error messages (file, line, caret). */
  locate?: (range: SourceRange) => SourceLocation;
  /**
   * Write the blob of every stage's layers (for `--cache-to … mode=max`), not only of the image's own
   * chain of stages (snapshot-blobs.ts).
   */
  blobsForAllStages?: boolean;
}

/** The filesystem and metadata a stage ends with. */
export interface StageResult {
  index: number;
  layers: LayerRef[];
  key: CacheKey;
  config: ContainerConfig;
  history: HistoryEntry[];
  platform: Platform;
  /** MAINTAINER, when the build set one. */
  author?: string;
}

export interface SolveResult {
  /** The target stage, its layers all with their blobs written. */
  target: Omit<StageResult, "layers"> & { layers: Array<Extract<LayerRef, LayerBlob>> };
  stages: Map<number, StageResult>;
  steps: number;
  cached: number;
  /** Every cache record this build used or made, with its stage (for `--cache-to`). */
  records: Array<{ stage: number; record: CacheRecord }>;
}

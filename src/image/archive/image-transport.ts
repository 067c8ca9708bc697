/**
 * The two sides of an image copy, whatever holds the image: a source that yields manifests and blobs, and
 * a destination that takes blobs first, then manifests (children before their index), then the tag. The
 * data root, a registry, an OCI layout directory or tar and a Docker archive each implement them; the
 * copy loop (src/client/copy.ts) knows none of them.
 */
import type { Readable } from "node:stream";
import type { ParsedManifest } from "../oci-types.js";
import type { ByteRange, Descriptor, Digest } from "../store-types.js";

/** A manifest's exact bytes, with the media type and digest it is stored under. */
export interface ManifestBytes {
  bytes: Buffer;
  mediaType: string;
  digest: Digest;
}

export interface ImageSource {
  /** How the source is named in messages (`docker://127.0.0.1:5000/app:1`, `oci:/tmp/x:app`). */
  readonly description: string;
  /** The manifest the address names (its tag or digest). */
  resolve(): Promise<ManifestBytes>;
  /** A manifest by digest (children of an index). */
  getManifest(descriptor: Descriptor): Promise<ManifestBytes>;
  /** A blob's bytes, or a byte range of them (inclusive). */
  openBlob(descriptor: Descriptor, range?: ByteRange): Promise<Readable>;
  /** Where this source's blobs can be mounted from on `host` (cross-repository mount), if anywhere. */
  mountableFrom?(host: string): string | undefined;
  /**
   * Reads one of this source's manifests. Default: full validation (oci-schemas.ts); a source whose
   * documents were validated when they were stored (a data root) needs only a shape check, and spares the
   * copy loading zod.
   */
  parseManifest?(manifest: ManifestBytes): ParsedManifest;
  close(): Promise<void>;
}

export type BlobOpen = (range?: ByteRange) => Promise<Readable>;

export interface ImageDestination {
  readonly description: string;
  /** True when the destination already holds the blob (it is then not copied). */
  hasBlob(descriptor: Descriptor): Promise<boolean>;
  /** Tries to get the blob without copying it (registry cross-repository mount). */
  tryMount?(descriptor: Descriptor, source: ImageSource): Promise<boolean>;
  /** Stores a blob; `onBytes` reports bytes written so far. */
  putBlob(descriptor: Descriptor, open: BlobOpen, onBytes: (bytes: number) => void): Promise<void>;
  /** Stores a manifest after everything it references; `tag` is given for the top manifest only. */
  putManifest(manifest: ManifestBytes, tag: string | undefined): Promise<void>;
  /** Finishes (writes an archive, an index.json). Called once after the top manifest. */
  commit(): Promise<void>;
  /** Releases resources; after a failed copy, removes partial output. */
  close(): Promise<void>;
  /** Whether the destination holds one platform only (a Docker archive): an index is then narrowed. */
  readonly singlePlatform?: boolean;
}

export type TransferStatus =
  /** The destination already had the blob. */
  | "skipped"
  /** The registry mounted it from another repository. */
  | "mounted"
  /** Bytes are moving. */
  | "uploading"
  | "downloading"
  | "done";

/** Progress of one blob of a copy. */
export interface TransferEvent {
  digest: Digest;
  mediaType: string;
  /** Bytes transferred so far. */
  done: number;
  /** Size of the blob. */
  total: number;
  status: TransferStatus;
}

export type TransferListener = (event: TransferEvent) => void;

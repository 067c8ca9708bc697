/**
 * The contracts of the data root's two stores, shared by the builder, the cache and the registry:
 * `BlobStore` (content-addressed blobs under blobs/sha256/, each stored once) and `RepositoryStore`
 * (which manifests, tags and blobs belong to which repository, and referrers). Implementations live in
 * content-store.ts and repository-store.ts. Every write is atomic (temp file, fsync, rename) and a blob is
 * visible only after its digest has been verified.
 */
import type { Readable } from "node:stream";

/** `sha256:<64 lowercase hex>` (other algorithms may be accepted on input but are stored as given). */
export type Digest = `${string}:${string}`;

export interface BlobInfo {
  digest: Digest;
  size: number;
}

/** A layer blob in the content store and its uncompressed diffID: what an image manifest and config list. */
export interface StoredLayer {
  digest: Digest;
  diffId: Digest;
  size: number;
  mediaType: string;
}

/** An OCI descriptor (image-spec v1.1). */
export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  data?: string;
  platform?: {
    architecture: string;
    os: string;
    "os.version"?: string;
    "os.features"?: string[];
    variant?: string;
    features?: string[];
  };
  artifactType?: string;
}

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive (HTTP Range semantics). */
  end: number;
}

export interface ExpectedBlob {
  /** When given, the written bytes must hash to it, else DigestMismatchError and nothing is kept. */
  digest?: Digest;
  /** When given, the written size must equal it, else SizeMismatchError and nothing is kept. */
  size?: number;
}

/** Content-addressed blob storage. */
export interface BlobStore {
  readonly root: string;
  stat(digest: Digest): Promise<BlobInfo | undefined>;
  /** Streams the blob (or a byte range of it). Throws BlobUnknownError if absent. */
  openRead(digest: Digest, range?: ByteRange): Promise<Readable>;
  /** Streams `source` into a temp file while hashing, verifies, fsyncs and renames into place. */
  write(source: Readable | AsyncIterable<Uint8Array>, expected?: ExpectedBlob): Promise<BlobInfo>;
  writeBytes(bytes: Uint8Array, expected?: ExpectedBlob): Promise<BlobInfo>;
  /**
   * Moves an already-written temp file (e.g. a finished upload session's data) into the store after
   * verifying it has `expected.digest`. The temp file must be on the same filesystem as the store.
   */
  commitFile(tempPath: string, expected: Required<ExpectedBlob> | { digest: Digest }): Promise<BlobInfo>;
  delete(digest: Digest): Promise<boolean>;
  list(): AsyncIterable<BlobInfo>;
}

/** A manifest as the repository knows it. */
export interface ManifestRecord extends Descriptor {
  /** The `subject` digest when the manifest refers to another (referrers API). */
  subject?: Digest;
  /** Time it was pushed (ms since epoch). */
  pushedAt: number;
}

/** Per-repository metadata: tags, linked manifests and blobs, referrers. */
export interface RepositoryStore {
  listRepositories(): Promise<string[]>;
  /** Tags in lexical order. */
  listTags(repo: string): Promise<string[]>;
  resolveTag(repo: string, tag: string): Promise<Descriptor | undefined>;
  /** Points `tag` at a manifest already linked into `repo`. Atomic. */
  setTag(repo: string, tag: string, manifest: Descriptor): Promise<void>;
  deleteTag(repo: string, tag: string): Promise<boolean>;

  linkManifest(repo: string, record: ManifestRecord): Promise<void>;
  getManifest(repo: string, digest: Digest): Promise<ManifestRecord | undefined>;
  /** Removes the manifest from the repository, with every tag that points at it. */
  unlinkManifest(repo: string, digest: Digest): Promise<boolean>;
  listManifests(repo: string): Promise<ManifestRecord[]>;

  linkBlob(repo: string, digest: Digest): Promise<void>;
  isBlobLinked(repo: string, digest: Digest): Promise<boolean>;
  unlinkBlob(repo: string, digest: Digest): Promise<boolean>;

  /** Manifests in `repo` whose `subject` is `digest`, as descriptors (with artifactType and annotations). */
  listReferrers(repo: string, subject: Digest): Promise<Descriptor[]>;
}

/**
 * Typed errors of the image layer (digests, blobs, manifests, repository names and tags). Each `code` is the
 * distribution-spec v1.1 error code, so the registry maps `code` → HTTP status and JSON body once, at its edge.
 */
import { GantryError, type GantryErrorOptions } from "../errors.js";

/** Distribution-spec error codes raised by this layer. */
export type DistributionErrorCode =
  | "BLOB_UNKNOWN"
  | "DIGEST_INVALID"
  | "SIZE_INVALID"
  | "MANIFEST_INVALID"
  | "MANIFEST_UNKNOWN"
  | "MANIFEST_BLOB_UNKNOWN"
  | "NAME_INVALID"
  | "NAME_UNKNOWN"
  | "TAG_INVALID"
  | "RANGE_NOT_SATISFIABLE";

/** Base of the image-layer errors; `detail` is the distribution-spec error `detail` field. */
export class DistributionError extends GantryError {
  declare readonly code: DistributionErrorCode;
  readonly detail?: unknown;
  constructor(
    code: DistributionErrorCode,
    message: string,
    options: GantryErrorOptions & { detail?: unknown } = {},
  ) {
    super(code, message, options);
    this.detail = options.detail;
  }
}

/** The blob is not in the store (or not linked into the repository). */
export class BlobUnknownError extends DistributionError {
  readonly digest: string;
  constructor(digest: string, options: GantryErrorOptions = {}) {
    super("BLOB_UNKNOWN", `blob unknown: ${digest}`, { ...options, detail: { digest } });
    this.digest = digest;
  }
}

/** A string that should be a digest is not one (bad algorithm, length or characters). */
export class DigestInvalidError extends DistributionError {
  readonly value: string;
  constructor(value: string, reason: string, options: GantryErrorOptions = {}) {
    super("DIGEST_INVALID", `invalid digest ${JSON.stringify(value)}: ${reason}`, {
      ...options,
      detail: { digest: value, reason },
    });
    this.value = value;
  }
}

/** Content does not hash to the digest it was announced with. Nothing was kept. */
export class DigestMismatchError extends DistributionError {
  readonly expected: string;
  readonly actual: string;
  constructor(expected: string, actual: string, options: GantryErrorOptions = {}) {
    super("DIGEST_INVALID", `digest mismatch: expected ${expected}, content is ${actual}`, {
      ...options,
      detail: { expected, actual },
    });
    this.expected = expected;
    this.actual = actual;
  }
}

/** Content does not have the size it was announced with. Nothing was kept. */
export class SizeMismatchError extends DistributionError {
  readonly expected: number;
  readonly actual: number;
  constructor(expected: number, actual: number, options: GantryErrorOptions = {}) {
    super("SIZE_INVALID", `size mismatch: expected ${expected} bytes, got ${actual}`, {
      ...options,
      detail: { expected, actual },
    });
    this.expected = expected;
    this.actual = actual;
  }
}

/** A manifest document is malformed or fails validation. */
export class ManifestInvalidError extends DistributionError {
  constructor(message: string, options: GantryErrorOptions & { detail?: unknown } = {}) {
    super("MANIFEST_INVALID", `manifest invalid: ${message}`, options);
  }
}

/** No manifest with that tag or digest in the repository. */
export class ManifestUnknownError extends DistributionError {
  readonly reference: string;
  constructor(reference: string, options: GantryErrorOptions = {}) {
    super("MANIFEST_UNKNOWN", `manifest unknown: ${reference}`, { ...options, detail: { reference } });
    this.reference = reference;
  }
}

/** A manifest references a blob (config, layer, child manifest) the repository does not have. */
export class ManifestBlobUnknownError extends DistributionError {
  readonly digest: string;
  constructor(digest: string, options: GantryErrorOptions = {}) {
    super("MANIFEST_BLOB_UNKNOWN", `manifest references unknown blob ${digest}`, {
      ...options,
      detail: { digest },
    });
    this.digest = digest;
  }
}

/** The repository name does not match the distribution-spec grammar. */
export class NameInvalidError extends DistributionError {
  readonly repositoryName: string;
  constructor(name: string, reason: string, options: GantryErrorOptions = {}) {
    super("NAME_INVALID", `invalid repository name ${JSON.stringify(name)}: ${reason}`, {
      ...options,
      detail: { name, reason },
    });
    this.repositoryName = name;
  }
}

/** The repository does not exist. */
export class NameUnknownError extends DistributionError {
  readonly repositoryName: string;
  constructor(name: string, options: GantryErrorOptions = {}) {
    super("NAME_UNKNOWN", `repository name not known to registry: ${name}`, { ...options, detail: { name } });
    this.repositoryName = name;
  }
}

/** The tag does not match `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`. */
export class TagInvalidError extends DistributionError {
  readonly tag: string;
  constructor(tag: string, reason: string, options: GantryErrorOptions = {}) {
    super("TAG_INVALID", `invalid tag ${JSON.stringify(tag)}: ${reason}`, {
      ...options,
      detail: { tag, reason },
    });
    this.tag = tag;
  }
}

/** A requested byte range lies outside the blob (HTTP 416; not a distribution-spec code). */
export class RangeNotSatisfiableError extends DistributionError {
  readonly size: number;
  constructor(start: number, end: number, size: number, options: GantryErrorOptions = {}) {
    super("RANGE_NOT_SATISFIABLE", `range ${start}-${end} not satisfiable for a blob of ${size} bytes`, {
      ...options,
      detail: { start, end, size },
    });
    this.size = size;
  }
}

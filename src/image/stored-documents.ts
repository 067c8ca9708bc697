/**
 * Reading Gantry's own documents back from the data root without the zod schemas: tag files, manifest
 * records, and the manifests and configs of stored images. Everything in the store was validated on its
 * way in (registry PUT, pull, import, archive read) or written by Gantry, and blobs are content-addressed,
 * so reading needs the JSON, its kind and a shape check that keeps a torn or foreign file from being
 * trusted — not a full validation. This keeps zod's start-up cost (~25 ms) out of every build.
 */
import { parseDigest } from "./digest.js";
import { ManifestInvalidError } from "./errors.js";
import * as mt from "./media-types.js";
import type { ImageConfig, ParsedManifest } from "./oci-types.js";
import type { Descriptor, Digest, ManifestRecord } from "./store-types.js";

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === "object" && !Array.isArray(value);

function isDigest(value: unknown): value is Digest {
  if (typeof value !== "string") return false;
  try {
    parseDigest(value);
    return true;
  } catch {
    return false;
  }
}

/** A descriptor (tag file) as stored, or undefined when the file is not one. */
export function storedDescriptor(value: unknown): Descriptor | undefined {
  if (!isObject(value)) return undefined;
  const { mediaType, digest, size } = value;
  if (typeof mediaType !== "string" || !isDigest(digest)) return undefined;
  if (typeof size !== "number" || !Number.isInteger(size) || size < 0) return undefined;
  return value as unknown as Descriptor;
}

/** A manifest record (revision file) as stored, or undefined when the file is not one. */
export function storedManifestRecord(value: unknown): ManifestRecord | undefined {
  if (storedDescriptor(value) === undefined) return undefined;
  const record = value as Json;
  if (typeof record.pushedAt !== "number") return undefined;
  if (record.subject !== undefined && !isDigest(record.subject)) return undefined;
  return record as unknown as ManifestRecord;
}

function decode(bytes: Uint8Array | string, what: string): Json {
  let document: unknown;
  try {
    document = JSON.parse(typeof bytes === "string" ? bytes : Buffer.from(bytes).toString("utf8"));
  } catch (error) {
    throw new ManifestInvalidError(`stored ${what} is not JSON: ${(error as Error).message}`);
  }
  if (!isObject(document)) throw new ManifestInvalidError(`stored ${what} is not a JSON object`);
  return document;
}

/** A stored manifest of any kind: its kind from its mediaType (or the descriptor's, or its shape). */
export function readStoredManifest(bytes: Uint8Array | string, mediaType?: string): ParsedManifest {
  const document = decode(bytes, "manifest");
  const declared = typeof document.mediaType === "string" ? document.mediaType : mediaType || undefined;
  const kind = declared ?? (Array.isArray(document.manifests) ? mt.OCI_INDEX : mt.OCI_MANIFEST);
  const images = (): void => {
    if (!isObject(document.config) || !Array.isArray(document.layers)) {
      throw new ManifestInvalidError(`stored ${kind} has no config or layers`);
    }
  };
  const indexes = (): void => {
    if (!Array.isArray(document.manifests)) throw new ManifestInvalidError(`stored ${kind} has no manifests`);
  };
  switch (kind) {
    case mt.OCI_MANIFEST:
      images();
      return { kind: "oci-manifest", mediaType: kind, manifest: document as never };
    case mt.DOCKER_MANIFEST_V2:
      images();
      return { kind: "docker-manifest", mediaType: kind, manifest: document as never };
    case mt.OCI_INDEX:
      indexes();
      return { kind: "oci-index", mediaType: kind, manifest: document as never };
    case mt.DOCKER_MANIFEST_LIST:
      indexes();
      return { kind: "docker-manifest-list", mediaType: kind, manifest: document as never };
    default:
      throw new ManifestInvalidError(`unsupported manifest media type ${JSON.stringify(kind)}`);
  }
}

/** A stored image config. */
export function readStoredConfig(bytes: Uint8Array | string): ImageConfig {
  const document = decode(bytes, "image config");
  const rootfs = document.rootfs;
  if (!isObject(rootfs) || !Array.isArray(rootfs.diff_ids)) {
    throw new ManifestInvalidError("stored image config has no rootfs.diff_ids");
  }
  return document as unknown as ImageConfig;
}

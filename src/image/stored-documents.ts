/**
 * Reading Gantry's own documents back from the data root without the zod schemas: tag files, manifest
 * records, and the manifests and configs of stored images. Everything in the store was validated on its
 * way in (registry PUT, pull, import, archive read) or written by Gantry, and blobs are content-addressed,
 * so reading needs the JSON, its kind and a shape check that keeps a torn or foreign file from being
 * trusted — not a full validation. This keeps zod's start-up cost (~25 ms) out of every build.
 */
import { isDigest } from "./digest.js";
import { ManifestInvalidError } from "./errors.js";
import * as mt from "./media-types.js";
import type { ImageConfig, ParsedManifest } from "./oci-types.js";
import type { Descriptor, ManifestRecord } from "./store-types.js";

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === "object" && !Array.isArray(value);

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
  const kindOf = KINDS[kind];
  if (kindOf === undefined) {
    throw new ManifestInvalidError(`unsupported manifest media type ${JSON.stringify(kind)}`);
  }
  const complete = kindOf.index
    ? Array.isArray(document.manifests)
    : isObject(document.config) && Array.isArray(document.layers);
  if (!complete) {
    throw new ManifestInvalidError(
      `stored ${kind} has no ${kindOf.index ? "manifests" : "config or layers"}`,
    );
  }
  return { kind: kindOf.kind, mediaType: kind, manifest: document } as unknown as ParsedManifest;
}

/** The manifest kinds by media type, and whether each is an index. */
const KINDS: Record<string, { kind: ParsedManifest["kind"]; index: boolean }> = {
  [mt.OCI_MANIFEST]: { kind: "oci-manifest", index: false },
  [mt.DOCKER_MANIFEST_V2]: { kind: "docker-manifest", index: false },
  [mt.OCI_INDEX]: { kind: "oci-index", index: true },
  [mt.DOCKER_MANIFEST_LIST]: { kind: "docker-manifest-list", index: true },
};

/** A stored image config. */
export function readStoredConfig(bytes: Uint8Array | string): ImageConfig {
  const document = decode(bytes, "image config");
  const rootfs = document.rootfs;
  if (!isObject(rootfs) || !Array.isArray(rootfs.diff_ids)) {
    throw new ManifestInvalidError("stored image config has no rootfs.diff_ids");
  }
  return document as unknown as ImageConfig;
}

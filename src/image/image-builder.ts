/**
 * Assembling an image from layers already in the content store: writes the OCI image config
 * (platform, `rootfs.diff_ids`, history, `created` clamped by SOURCE_DATE_EPOCH, the container config)
 * and the OCI image manifest as blobs, links every blob and the manifest into the repository and sets
 * the tag, so the image is served by the embedded registry and listed in the data root's index.json for
 * skopeo/umoci. Documents are serialised with a fixed key order, so the same inputs give the same digests.
 */
import { UsageError } from "../errors.js";
import { BlobUnknownError } from "./errors.js";
import { OCI_CONFIG, OCI_MANIFEST } from "./media-types.js";
import { validateRepositoryName, validateTag } from "./names.js";
import type { ContainerConfig, HistoryEntry, ImageConfig, ImageManifest, Platform } from "./oci-types.js";
import type { BlobStore, Descriptor, Digest, RepositoryStore } from "./store-types.js";

export interface ImageLayerInput {
  digest: Digest;
  size: number;
  diffId: Digest;
  mediaType: string;
  /** `created_by` of this layer's history entry. */
  createdBy?: string;
  comment?: string;
}

export interface WriteImageInput {
  repository: string;
  /** Tag to set; without one the manifest is only linked (addressable by digest). */
  tag?: string;
  layers: ImageLayerInput[];
  platform: Platform;
  config?: ContainerConfig;
  /** Creation time; default now. Clamped to `sourceDateEpoch` when that is given. */
  created?: Date;
  /** SOURCE_DATE_EPOCH in seconds: upper bound of every time written. */
  sourceDateEpoch?: number;
  author?: string;
  /** Manifest annotations. */
  annotations?: Record<string, string>;
}

export interface WrittenImage {
  repository: string;
  tag?: string;
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
  imageConfig: ImageConfig;
}

/** Reads SOURCE_DATE_EPOCH (whole seconds); undefined when unset or empty. */
export function readSourceDateEpoch(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw.trim() === "") return undefined;
  if (!/^\d+$/.test(raw.trim())) {
    throw new UsageError(
      `SOURCE_DATE_EPOCH must be whole seconds since the epoch, got ${JSON.stringify(raw)}`,
    );
  }
  return Number(raw.trim());
}

/** RFC 3339 in UTC, without fractional seconds when they are zero. */
export function formatCreated(date: Date): string {
  return date.toISOString().replace(".000Z", "Z");
}

export function clampDate(date: Date, sourceDateEpoch: number | undefined): Date {
  if (sourceDateEpoch === undefined) return date;
  return new Date(Math.min(date.getTime(), sourceDateEpoch * 1000));
}

/** Builds the image config document (not yet stored). */
export function buildImageConfig(input: WriteImageInput): ImageConfig {
  const created = formatCreated(clampDate(input.created ?? new Date(), input.sourceDateEpoch));
  const history: HistoryEntry[] = input.layers.map((layer) => {
    const entry: HistoryEntry = { created };
    if (layer.createdBy !== undefined) entry.created_by = layer.createdBy;
    if (layer.comment !== undefined) entry.comment = layer.comment;
    return entry;
  });
  // Fixed key order: the serialisation (and so the digest) depends only on the values.
  const config: ImageConfig = {
    created,
    ...(input.author === undefined ? {} : { author: input.author }),
    architecture: input.platform.architecture,
    ...(input.platform.variant === undefined ? {} : { variant: input.platform.variant }),
    os: input.platform.os,
    config: input.config ?? {},
    rootfs: { type: "layers", diff_ids: input.layers.map((layer) => layer.diffId) },
    history,
  };
  return config;
}

/** Writes config + manifest, links everything into `input.repository` and sets `input.tag`. */
export async function writeImage(
  blobs: BlobStore,
  repositories: RepositoryStore,
  input: WriteImageInput,
): Promise<WrittenImage> {
  validateRepositoryName(input.repository);
  if (input.tag !== undefined) validateTag(input.tag);
  for (const layer of input.layers) {
    const info = await blobs.stat(layer.digest);
    if (info === undefined || info.size !== layer.size) throw new BlobUnknownError(layer.digest);
  }
  const imageConfig = buildImageConfig(input);
  const layers: Descriptor[] = input.layers.map((layer) => ({
    mediaType: layer.mediaType,
    digest: layer.digest,
    size: layer.size,
  }));
  const stored = await storeImageDocuments(blobs, imageConfig, layers, input.annotations);
  await linkStoredImage(repositories, stored, input.repository, input.tag);
  return { repository: input.repository, tag: input.tag, ...stored, imageConfig };
}

export interface StoredImageDocuments {
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
}

/** Stores an image config and its OCI manifest as blobs (nothing is linked into a repository yet). */
export async function storeImageDocuments(
  blobs: BlobStore,
  imageConfig: ImageConfig,
  layers: Descriptor[],
  annotations?: Record<string, string>,
): Promise<StoredImageDocuments> {
  const configInfo = await blobs.writeBytes(Buffer.from(JSON.stringify(imageConfig)));
  const config: Descriptor = { mediaType: OCI_CONFIG, digest: configInfo.digest, size: configInfo.size };
  const manifestDocument: ImageManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config,
    layers,
    ...(annotations === undefined ? {} : { annotations: sortedRecord(annotations) }),
  };
  const manifestInfo = await blobs.writeBytes(Buffer.from(JSON.stringify(manifestDocument)));
  return {
    manifest: { mediaType: OCI_MANIFEST, digest: manifestInfo.digest, size: manifestInfo.size },
    config,
    layers,
  };
}

/**
 * Links a stored image into `repository` and sets `tag`: blobs first, then the manifest, then the tag, so
 * a reader never sees a tag whose content is missing.
 */
export async function linkStoredImage(
  repositories: RepositoryStore,
  image: StoredImageDocuments,
  repository: string,
  tag?: string,
): Promise<void> {
  // The blob links at once (each is its own file), all before the manifest's.
  await Promise.all(
    [image.config, ...image.layers].map((descriptor) => repositories.linkBlob(repository, descriptor.digest)),
  );
  await repositories.linkManifest(repository, { ...image.manifest, pushedAt: Date.now() });
  if (tag !== undefined) await repositories.setTag(repository, tag, image.manifest);
}

function sortedRecord(record: Record<string, string>): Record<string, string> {
  const sorted: Record<string, string> = {};
  for (const key of Object.keys(record).sort()) sorted[key] = record[key]!;
  return sorted;
}

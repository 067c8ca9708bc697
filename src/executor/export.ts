/**
 * The image exporter: turns the target stage's result (layers, config, history) into an OCI image config
 * and manifest in the content store, links them into each destination repository and sets the tags, in the
 * order readers rely on (blobs → manifest → tag). Documents are serialised with a fixed key order and every
 * timestamp comes from the cache records (clamped by SOURCE_DATE_EPOCH), so a fully cached rebuild gives
 * the same digest.
 */
import { linkStoredImage, storeImageDocuments } from "../image/image-builder.js";
import type { ContainerConfig, HistoryEntry, ImageConfig } from "../image/oci-types.js";
import type { BlobStore, Descriptor, RepositoryStore } from "../image/store-types.js";
import type { StageResult } from "./solver.js";
import type { LayerBlob } from "./types.js";

export interface ExportTarget {
  repository: string;
  tag?: string;
}

export interface ExportOptions {
  /** Extra labels (`--label`), merged over the Dockerfile's. */
  labels?: Record<string, string>;
  author?: string;
  annotations?: Record<string, string>;
}

export interface ExportedImage {
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
  imageConfig: ImageConfig;
}

/** Builds the config + manifest documents and stores them as blobs (nothing is linked yet). */
export async function writeImageDocuments(
  blobs: BlobStore,
  result: Omit<StageResult, "layers"> & { layers: LayerBlob[] },
  options: ExportOptions = {},
): Promise<ExportedImage> {
  const containerConfig: ContainerConfig = { ...result.config };
  if (options.labels !== undefined && Object.keys(options.labels).length > 0) {
    containerConfig.Labels = { ...(containerConfig.Labels ?? {}), ...options.labels };
  }
  const history: HistoryEntry[] = result.history.map((entry) => orderedHistory(entry));
  const created = history.reduce<string | undefined>((latest, entry) => {
    if (entry.created === undefined) return latest;
    return latest === undefined || entry.created > latest ? entry.created : latest;
  }, undefined);
  const imageConfig: ImageConfig = {
    ...(created === undefined ? {} : { created }),
    ...((options.author ?? result.author) === undefined ? {} : { author: options.author ?? result.author }),
    architecture: result.platform.architecture,
    ...(result.platform.variant === undefined ? {} : { variant: result.platform.variant }),
    os: result.platform.os,
    config: containerConfig,
    rootfs: { type: "layers", diff_ids: result.layers.map((layer) => layer.diffId) },
    history,
  };
  const layers: Descriptor[] = result.layers.map((layer) => ({
    mediaType: layer.mediaType,
    digest: layer.digest,
    size: layer.size,
  }));
  const stored = await storeImageDocuments(blobs, imageConfig, layers, options.annotations);
  return { ...stored, imageConfig };
}

/** Links the image into `target.repository` and sets the tag. */
export async function linkImage(
  repositories: RepositoryStore,
  image: ExportedImage,
  target: ExportTarget,
): Promise<void> {
  await linkStoredImage(repositories, image, target.repository, target.tag);
}

function orderedHistory(entry: HistoryEntry): HistoryEntry {
  const out: HistoryEntry = {};
  if (entry.created !== undefined) out.created = entry.created;
  if (entry.author !== undefined) out.author = entry.author;
  if (entry.created_by !== undefined) out.created_by = entry.created_by;
  if (entry.comment !== undefined) out.comment = entry.comment;
  if (entry.empty_layer) out.empty_layer = true;
  return out;
}

/**
 * The programmatic pull and push the build command and the CLI call: `pullImage` (a registry reference →
 * the data root, narrowed to one platform, tagged under the repository path without the host) and
 * `pushImage` (a local image → a registry reference, every platform of an index). Both record where blobs
 * live on the registry so later pushes can mount them across repositories.
 */
import type { ManifestBytes } from "../image/archive/image-transport.js";
import type { ContentStore } from "../image/content-store.js";
import { parseDigest } from "../image/digest.js";
import type { Platform } from "../image/oci-types.js";
import { hostPlatform } from "../image/platform.js";
import { type ImageReference, parseImageReference } from "../image/reference.js";
import type { Digest, StoredLayer } from "../image/store-types.js";
import { readStoredConfig, readStoredManifest } from "../image/stored-documents.js";
import { BlobOrigins } from "./blob-origins.js";
import type { UploadOptions } from "./blob-upload.js";
import { copyImage } from "./copy.js";
import type { TransferListener } from "./events.js";
import { RegistryClient, type RegistryClientOptions } from "./registry-client.js";
import { DataRootDestination, DataRootSource, openDataRoot } from "./transports/data-root.js";
import { RegistryDestination, RegistrySource } from "./transports/registry.js";

export interface PullImageOptions {
  /** The data root. */
  root: string;
  /** `127.0.0.1:5000/team/app:1`, `busybox`, `name@sha256:…`. */
  ref: string;
  /** Platform to pick from an index (default: this host's). */
  platform?: Platform;
  /** Allow plain HTTP / unverified TLS for a non-loopback registry. */
  insecure?: boolean;
  onProgress?: TransferListener;
  /**
   * Called with an image's layers (bottom first, with their diffIDs) as soon as its blobs are in the data
   * root, before its manifest and tag are written: a build starts unpacking them then.
   */
  onLayersStored?: (layers: StoredLayer[]) => void;
  /** Client settings (credentials, retries) for tests and embedding. */
  client?: Partial<RegistryClientOptions>;
}

export interface PulledImage {
  /** The local repository (the reference's path without the host). */
  repository: string;
  /** The tag set, when the reference had one (a digest-only pull sets none). */
  tag?: string;
  /** The platform-specific manifest's digest. */
  manifestDigest: Digest;
}

export async function pullImage(opts: PullImageOptions): Promise<PulledImage> {
  const ref = parseImageReference(opts.ref);
  const store = await openDataRoot(opts.root);
  const origins = new BlobOrigins(opts.root);
  const client = new RegistryClient({ ...opts.client, host: ref.domain, insecure: opts.insecure });
  try {
    const source = new RegistrySource(client, ref.repository, ref.digest ?? ref.tag ?? "latest");
    const destination = new DataRootDestination(store, ref.repository);
    const tag = ref.digest === undefined ? ref.tag : undefined;
    const recorded: Array<Promise<void>> = [];
    const result = await copyImage(source, destination, {
      platform: opts.platform ?? hostPlatform(),
      tag,
      onProgress: (event) => {
        if (event.status === "done" || event.status === "skipped") {
          recorded.push(origins.record(ref.domain, ref.repository, event.digest));
        }
        opts.onProgress?.(event);
      },
      onBlobsCopied:
        opts.onLayersStored === undefined
          ? undefined
          : async (manifest) => {
              // Only a head start: the pull goes on whatever happens here.
              const layers = await storedLayers(store.blobs, manifest).catch(() => undefined);
              if (layers !== undefined) opts.onLayersStored!(layers);
            },
    });
    await Promise.all(recorded);
    const pulled: PulledImage = { repository: ref.repository, manifestDigest: result.manifest.digest };
    if (tag !== undefined) pulled.tag = tag;
    return pulled;
  } finally {
    await client.close();
  }
}

/** The layers of an image manifest whose blobs (config included) are in `blobs`; none for an index. */
async function storedLayers(blobs: ContentStore, manifest: ManifestBytes): Promise<StoredLayer[]> {
  const parsed = readStoredManifest(manifest.bytes, manifest.mediaType);
  if (parsed.kind !== "oci-manifest" && parsed.kind !== "docker-manifest") return [];
  const { config, layers } = parsed.manifest;
  const diffIds = readStoredConfig(await blobs.readBytes(config.digest)).rootfs.diff_ids;
  return layers.map((layer, i) => ({
    digest: layer.digest,
    diffId: diffIds[i]!,
    size: layer.size,
    mediaType: layer.mediaType,
  }));
}

export interface PushImageOptions {
  root: string;
  /** Local reference, e.g. `app:1` (repository `library/app`) or `127.0.0.1:5000/app:1` (repository `app`). */
  source: string;
  /** Registry reference, e.g. `127.0.0.1:5000/app:1`; default: `source` itself. */
  destination?: string;
  insecure?: boolean;
  onProgress?: TransferListener;
  client?: Partial<RegistryClientOptions>;
  /** Chunk size and attempts of blob uploads. */
  upload?: UploadOptions;
}

export async function pushImage(opts: PushImageOptions): Promise<{ digest: Digest; size: number }> {
  const src = parseImageReference(opts.source);
  const dst = destinationReference(src, opts.destination);
  const store = await openDataRoot(opts.root);
  const client = new RegistryClient({ ...opts.client, host: dst.domain, insecure: opts.insecure });
  try {
    const source = new DataRootSource(store, src.repository, { tag: src.tag, digest: src.digest });
    const destination = new RegistryDestination(
      client,
      dst.repository,
      new BlobOrigins(opts.root),
      opts.upload,
    );
    const result = await copyImage(source, destination, { tag: dst.tag, onProgress: opts.onProgress });
    return { digest: parseDigest(result.manifest.digest).digest, size: result.manifest.size };
  } finally {
    await client.close();
  }
}

/** DEST parsed; without DEST, SRC itself (keeping its tag). */
function destinationReference(src: ImageReference, destination: string | undefined): ImageReference {
  if (destination === undefined) return src;
  return parseImageReference(destination);
}

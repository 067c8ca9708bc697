/**
 * Copies an image from any ImageSource to any ImageDestination, in the order that keeps the destination
 * consistent: blobs first (in parallel, with a limit; each skipped when present, mounted when possible),
 * then manifests, children of an index before the index, then the tag. An index is narrowed to one
 * platform's manifest when a platform is asked for (pull) or the destination holds one platform only.
 */

import { referencedDescriptors } from "../manifest-fields.js";
import { isIndexMediaType } from "../media-types.js";
import type { ParsedManifest, Platform } from "../oci-types.js";
import { formatPlatform, hostPlatform, selectPlatformManifest } from "../platform.js";
import type { Descriptor } from "../store-types.js";
import { ArchiveError } from "./errors.js";
import type { ImageDestination, ImageSource, ManifestBytes, TransferListener } from "./image-transport.js";

export interface CopyOptions {
  /** Narrow an index to this platform's manifest; without it, every platform is copied. */
  platform?: Platform;
  /** The tag the destination sets on the top manifest. */
  tag?: string;
  /** Blobs in flight at once (default 6: a typical image's layers all at once). */
  concurrency?: number;
  onProgress?: TransferListener;
  /** Called with the (platform's) top manifest once every blob it needs is copied, before it is put. */
  onBlobsCopied?: (manifest: ManifestBytes) => void | Promise<void>;
}

export interface CopyResult {
  /** The manifest that was tagged (the platform's manifest when an index was narrowed). */
  manifest: Descriptor;
  /** Every blob (layers, configs) copied or skipped. */
  blobs: number;
}

export async function copyImage(
  source: ImageSource,
  destination: ImageDestination,
  options: CopyOptions = {},
): Promise<CopyResult> {
  const parse = await manifestParser(source);
  let top = await source.resolve();
  const platform = options.platform ?? (destination.singlePlatform ? hostPlatform() : undefined);
  if (platform !== undefined && isIndexMediaType(top.mediaType)) {
    const parsed = parse(top);
    const entries = referencedDescriptors(parsed).filter((d) => d.platform !== undefined);
    const chosen = selectPlatformManifest(entries, platform);
    if (!chosen) {
      const offered = entries.map((d) => formatPlatform(d.platform!)).join(", ");
      throw new ArchiveError(
        "PLATFORM_UNKNOWN",
        `${source.description} has no image for ${formatPlatform(platform)}`,
        {
          hint: `available: ${offered || "none"}; choose one with --platform`,
        },
      );
    }
    top = await source.getManifest(chosen);
  }
  const state = { blobs: 0, seen: new Set<string>(), parse };
  await copyManifestTree(source, destination, top, options, state);
  await options.onBlobsCopied?.(top);
  await destination.putManifest(top, options.tag);
  await destination.commit();
  return {
    manifest: { mediaType: top.mediaType, digest: top.digest, size: top.bytes.byteLength },
    blobs: state.blobs,
  };
}

/** Copies everything `manifest` references (recursively for an index), but not `manifest` itself. */
async function copyManifestTree(
  source: ImageSource,
  destination: ImageDestination,
  manifest: ManifestBytes,
  options: CopyOptions,
  state: { blobs: number; seen: Set<string>; parse: ManifestParser },
): Promise<void> {
  const parsed = state.parse(manifest);
  const referenced = referencedDescriptors(parsed);
  const subject = "subject" in parsed.manifest ? parsed.manifest.subject : undefined;
  if (parsed.kind === "oci-index" || parsed.kind === "docker-manifest-list") {
    for (const child of referenced) {
      if (child === subject || state.seen.has(child.digest)) continue;
      state.seen.add(child.digest);
      const bytes = await source.getManifest(child);
      await copyManifestTree(source, destination, bytes, options, state);
      await destination.putManifest(bytes, undefined);
    }
    return;
  }
  const blobs = referenced.filter((d) => d !== subject && !state.seen.has(d.digest));
  for (const blob of blobs) state.seen.add(blob.digest);
  await forEachLimited(blobs, options.concurrency ?? 6, async (blob) => {
    state.blobs++;
    await copyBlob(source, destination, blob, options.onProgress);
  });
}

async function copyBlob(
  source: ImageSource,
  destination: ImageDestination,
  blob: Descriptor,
  onProgress: TransferListener | undefined,
): Promise<void> {
  const event = (status: Parameters<TransferListener>[0]["status"], done: number) =>
    onProgress?.({ digest: blob.digest, mediaType: blob.mediaType, total: blob.size, done, status });
  if (await destination.hasBlob(blob)) {
    event("skipped", blob.size);
    return;
  }
  if (destination.tryMount && (await destination.tryMount(blob, source))) {
    event("mounted", blob.size);
    return;
  }
  const status = destination.description.startsWith("docker://") ? "uploading" : "downloading";
  event(status, 0);
  await destination.putBlob(
    blob,
    (range) => source.openBlob(blob, range),
    (bytes) => event(status, bytes),
  );
  event("done", blob.size);
}

type ManifestParser = (manifest: ManifestBytes) => ParsedManifest;

/** The source's own manifest reader, else full validation (zod, loaded only then). */
async function manifestParser(source: ImageSource): Promise<ManifestParser> {
  if (source.parseManifest !== undefined) return (manifest) => source.parseManifest!(manifest);
  const { parseManifest } = await import("../oci-schemas.js");
  return (manifest) => parseManifest(manifest.bytes, manifest.mediaType);
}

/** Runs `work` over `items` with at most `limit` in flight; the first failure is thrown after all settle. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && failure === undefined) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
}

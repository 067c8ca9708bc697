/**
 * `createLocalImageResolver(root)`: an ImageResolver that looks only in the local data root. Reference →
 * repository and tag/digest (image/reference.ts) → manifest; an OCI index or Docker manifest list is narrowed
 * to the platform's manifest; then config (Env, OnBuild, history, diff_ids) and layers are read, and every
 * layer blob must be present. Anything missing is `ImageNotFoundError` (IMAGE_NOT_FOUND), so a caller can
 * fall back to pulling. Nothing is written to the data root.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { GantryError } from "../errors.js";
import { ContentStore } from "../image/content-store.js";
import type { ParsedManifest, Platform } from "../image/oci-types.js";
import { parseImageReference } from "../image/reference.js";
import { FsRepositoryStore } from "../image/repository-store.js";
import type { Descriptor, Digest } from "../image/store-types.js";
import { readStoredConfig, readStoredManifest } from "../image/stored-documents.js";
import { ImageNotFoundError, ImageReferenceError } from "./errors.js";
import { formatPlatform, normalizePlatform, platformMatches } from "./platform.js";
import type { ImageResolver, ResolvedImage } from "./types.js";

interface Stores {
  blobs: ContentStore;
  repositories: FsRepositoryStore;
}

/** Picks the manifest for `platform` from an index's entries (exact variant first, then any variant). */
function pickPlatform(manifests: Descriptor[], platform: Platform): Descriptor | undefined {
  const want = normalizePlatform(platform);
  const candidates = manifests.filter((m) => m.platform && platformMatches(want, m.platform));
  return candidates.find((m) => normalizePlatform(m.platform!).variant === want.variant) ?? candidates[0];
}

async function readManifest(stores: Stores, ref: string, desc: Descriptor): Promise<ParsedManifest> {
  if (!(await stores.blobs.stat(desc.digest)))
    throw new ImageNotFoundError(ref, `manifest blob ${desc.digest} is missing`);
  return readStoredManifest(await stores.blobs.readBytes(desc.digest), desc.mediaType);
}

async function resolveLocal(stores: Stores, ref: string, platform: Platform): Promise<ResolvedImage> {
  let parsed: ReturnType<typeof parseImageReference>;
  try {
    parsed = parseImageReference(ref);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new ImageReferenceError(`invalid image reference ${JSON.stringify(ref)}: ${message}`, {
      hint: "image names are lower-case: [host[:port]/]name[:tag][@sha256:…]",
      cause: err,
    });
  }
  const { repository } = parsed;
  let top: Descriptor | undefined;
  if (parsed.digest) {
    top = await stores.repositories.getManifest(repository, parsed.digest);
    if (!top && (await stores.blobs.stat(parsed.digest))) {
      top = { mediaType: "", digest: parsed.digest, size: 0 };
    }
  } else {
    top = await stores.repositories.resolveTag(repository, parsed.tag ?? "latest");
  }
  if (!top)
    throw new ImageNotFoundError(
      ref,
      `no ${repository}${parsed.digest ? `@${parsed.digest}` : `:${parsed.tag}`} in the data root`,
    );

  let manifest = await readManifest(stores, ref, top);
  let manifestDigest: Digest = top.digest;
  if (manifest.kind === "oci-index" || manifest.kind === "docker-manifest-list") {
    const entries = manifest.manifest.manifests as Descriptor[];
    const chosen = pickPlatform(entries, platform);
    if (!chosen) {
      const have = entries.flatMap((m) =>
        m.platform ? [formatPlatform(normalizePlatform(m.platform))] : [],
      );
      throw new ImageNotFoundError(
        ref,
        `no manifest for ${formatPlatform(platform)} (the index has: ${have.join(", ") || "none"})`,
      );
    }
    manifest = await readManifest(stores, ref, chosen);
    manifestDigest = chosen.digest;
    if (manifest.kind !== "oci-manifest" && manifest.kind !== "docker-manifest") {
      throw new ImageNotFoundError(
        ref,
        `the index entry for ${formatPlatform(platform)} is not an image manifest`,
      );
    }
  }
  const { config: configDesc, layers } = manifest.manifest;
  if (!(await stores.blobs.stat(configDesc.digest)))
    throw new ImageNotFoundError(ref, `config blob ${configDesc.digest} is missing`);
  const image = readStoredConfig(await stores.blobs.readBytes(configDesc.digest));
  for (const layer of layers) {
    if (!(await stores.blobs.stat(layer.digest)))
      throw new ImageNotFoundError(ref, `layer blob ${layer.digest} is missing`);
  }
  if (image.rootfs.diff_ids.length !== layers.length) {
    throw new GantryError(
      "MANIFEST_INVALID",
      `image ${ref}: ${layers.length} layers but ${image.rootfs.diff_ids.length} diff_ids`,
    );
  }
  const imagePlatform: Platform = { os: image.os, architecture: image.architecture };
  if (typeof image.variant === "string") imagePlatform.variant = image.variant;
  return {
    ref,
    repository,
    manifestDigest,
    layers,
    diffIds: image.rootfs.diff_ids,
    config: image.config ?? {},
    platform: imagePlatform,
    history: image.history ?? [],
  };
}

/** A resolver over the data root at `root` (opened once, lazily; a missing root means nothing is found). */
export function createLocalImageResolver(root: string): ImageResolver {
  let stores: Promise<Stores> | undefined;
  return async (ref, platform) => {
    if (!existsSync(join(root, "blobs"))) throw new ImageNotFoundError(ref, `no data root at ${root}`);
    stores ??= (async () => ({
      blobs: await ContentStore.open(root),
      repositories: new FsRepositoryStore(root, { maintainOciLayout: false }),
    }))();
    return resolveLocal(await stores, ref, platform);
  };
}

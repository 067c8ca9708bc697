/**
 * Base-image resolution for a build: the data root first (Docker's rule: a name found locally is used before
 * any network look-up), then the image's registry through the client, which stores it in the data root.
 * `--pull` asks the registry first. Each reference is resolved once per build.
 */

import { GantryError } from "../errors.js";
import { type ProgressSink, startVertex } from "../executor/progress.js";
import type { LayerBlob } from "../executor/types.js";
import { createLocalImageResolver } from "../graph/local-resolver.js";
import type { ImageResolver, ResolvedImage } from "../graph/types.js";
import type { Platform } from "../image/oci-types.js";

export interface ResolverOptions {
  root: string;
  pull: boolean;
  insecure?: boolean;
  progress: ProgressSink;
  /**
   * Called when a pull from a registry starts, and with the image's layers as soon as their blobs are in
   * (before its manifest and tag are written): a build gets ready for it.
   */
  onPulling?: () => void;
  onLayersPulled?: (layers: LayerBlob[]) => void;
}

export function createImageResolver(options: ResolverOptions): ImageResolver {
  const local = createLocalImageResolver(options.root);
  const seen = new Map<string, Promise<ResolvedImage>>();
  const resolveOnce = async (ref: string, platform: Platform): Promise<ResolvedImage> => {
    if (!options.pull) {
      try {
        return await local(ref, platform);
      } catch (error) {
        if (!(error instanceof GantryError) || error.code !== "IMAGE_NOT_FOUND") throw error;
      }
    }
    const vertex = startVertex(options.progress, `pull:${ref}`, `pull ${ref}`);
    options.onPulling?.();
    try {
      // The client (undici) is loaded only when a base image is not in the data root.
      const { pullImage } = await import("../client/index.js");
      const pulled = await pullImage({
        root: options.root,
        ref,
        platform,
        insecure: options.insecure,
        onLayersStored: options.onLayersPulled,
      });
      const image = await local(`${pulled.repository}@${pulled.manifestDigest}`, platform);
      vertex.done();
      return { ...image, ref };
    } catch (error) {
      vertex.fail(error);
      throw error;
    }
  };
  return (ref, platform) => {
    const key = `${ref}\0${platform.os}/${platform.architecture}/${platform.variant ?? ""}`;
    let found = seen.get(key);
    if (found === undefined) {
      found = resolveOnce(ref, platform);
      seen.set(key, found);
    }
    return found;
  };
}

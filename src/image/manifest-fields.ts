/**
 * What a parsed manifest points at and says about itself: its descriptors, subject, artifact type and
 * annotations. Plain functions over `ParsedManifest`, kept apart from the zod schemas (oci-schemas.ts) so
 * that code reading Gantry's own stored manifests does not load zod.
 */
import type { ParsedManifest } from "./oci-types.js";
import type { Descriptor } from "./store-types.js";

/** Every descriptor a manifest points at: config, layers and subject, or an index's manifests and subject. */
export function referencedDescriptors(parsed: ParsedManifest): Descriptor[] {
  switch (parsed.kind) {
    case "oci-manifest": {
      const { config, layers, subject } = parsed.manifest;
      return subject ? [config, ...layers, subject] : [config, ...layers];
    }
    case "docker-manifest":
      return [parsed.manifest.config, ...parsed.manifest.layers];
    case "oci-index": {
      const { manifests, subject } = parsed.manifest;
      return subject ? [...manifests, subject] : [...manifests];
    }
    case "docker-manifest-list":
      return [...parsed.manifest.manifests];
  }
}

/** The manifest's `subject` descriptor (OCI only), for the referrers API. */
export function manifestSubject(parsed: ParsedManifest): Descriptor | undefined {
  return parsed.kind === "oci-manifest" || parsed.kind === "oci-index" ? parsed.manifest.subject : undefined;
}

/**
 * The artifactType a referrers response reports for this manifest: its `artifactType`, else (for image
 * manifests) the config's media type, per distribution-spec v1.1.
 */
export function referrerArtifactType(parsed: ParsedManifest): string | undefined {
  if (parsed.kind === "oci-manifest") return parsed.manifest.artifactType ?? parsed.manifest.config.mediaType;
  if (parsed.kind === "oci-index") return parsed.manifest.artifactType;
  return undefined;
}

/** The manifest's annotations (OCI only). */
export function manifestAnnotations(parsed: ParsedManifest): Record<string, string> | undefined {
  return parsed.kind === "oci-manifest" || parsed.kind === "oci-index"
    ? parsed.manifest.annotations
    : undefined;
}

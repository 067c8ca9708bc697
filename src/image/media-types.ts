/**
 * Media type constants: OCI image-spec v1.1 and Docker's manifest v2 schema 2 / manifest list. Everything
 * that names a document or blob kind imports it from here so the strings are spelled once.
 */

// OCI image-spec v1.1
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
export const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
export const OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar";
export const OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
export const OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd";
/** The empty descriptor's media type (`{}`, 2 bytes), used for artifacts without a config. */
export const OCI_EMPTY = "application/vnd.oci.empty.v1+json";
/** Non-distributable layers: deprecated in v1.1 but still valid to read. */
export const OCI_LAYER_NONDISTRIBUTABLE_TAR = "application/vnd.oci.image.layer.nondistributable.v1.tar";
export const OCI_LAYER_NONDISTRIBUTABLE_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
export const OCI_LAYER_NONDISTRIBUTABLE_ZSTD = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
/** The media type of an OCI image layout's `oci-layout` file content (not a blob). */
export const OCI_LAYOUT_HEADER = "application/vnd.oci.layout.header.v1+json";

/** The empty JSON blob `{}`: its digest and size, fixed by the image-spec. */
export const OCI_EMPTY_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
export const OCI_EMPTY_SIZE = 2;

// Docker image manifest v2 schema 2
export const DOCKER_MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json";
export const DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
export const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
export const DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";
export const DOCKER_LAYER_FOREIGN_GZIP = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
/** Docker's plugin config; accepted as a config media type. */
export const DOCKER_PLUGIN_CONFIG = "application/vnd.docker.plugin.v1+json";
/** Legacy schema 1 (signed) manifests: recognised only to reject them with a clear message. */
export const DOCKER_MANIFEST_V1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws";
export const DOCKER_MANIFEST_V1 = "application/vnd.docker.distribution.manifest.v1+json";

/** Media types of single-image manifests. */
export const IMAGE_MANIFEST_TYPES: readonly string[] = [OCI_MANIFEST, DOCKER_MANIFEST_V2];
/** Media types of multi-platform indexes. */
export const INDEX_TYPES: readonly string[] = [OCI_INDEX, DOCKER_MANIFEST_LIST];
/** Every manifest media type Gantry accepts on push. */
export const MANIFEST_TYPES: readonly string[] = [...IMAGE_MANIFEST_TYPES, ...INDEX_TYPES];

export const LAYER_TYPES: readonly string[] = [
  OCI_LAYER_TAR,
  OCI_LAYER_GZIP,
  OCI_LAYER_ZSTD,
  OCI_LAYER_NONDISTRIBUTABLE_TAR,
  OCI_LAYER_NONDISTRIBUTABLE_GZIP,
  OCI_LAYER_NONDISTRIBUTABLE_ZSTD,
  DOCKER_LAYER_GZIP,
  DOCKER_LAYER_FOREIGN_GZIP,
];

export function isManifestMediaType(mediaType: string): boolean {
  return MANIFEST_TYPES.includes(stripParameters(mediaType));
}

export function isIndexMediaType(mediaType: string): boolean {
  return INDEX_TYPES.includes(stripParameters(mediaType));
}

export function isLayerMediaType(mediaType: string): boolean {
  return LAYER_TYPES.includes(stripParameters(mediaType));
}

/** `application/x; charset=utf-8` → `application/x` (a Content-Type header may carry parameters). */
export function stripParameters(mediaType: string): string {
  const semicolon = mediaType.indexOf(";");
  return (semicolon < 0 ? mediaType : mediaType.slice(0, semicolon)).trim().toLowerCase();
}

/**
 * TypeScript shapes of the OCI image-spec v1.1 documents (descriptor, platform, image manifest, image
 * index, image config) and Docker's manifest v2 schema 2 and manifest list. The runtime validators live in
 * oci-schemas.ts; these types are what the rest of Gantry passes around after validation.
 */
import type { Digest, Descriptor as StoreDescriptor } from "./store-types.js";

export type { Digest } from "./store-types.js";

/** The platform an image or index entry is for (image-spec "platform"). */
export interface Platform {
  architecture: string;
  os: string;
  "os.version"?: string;
  "os.features"?: string[];
  variant?: string;
  features?: string[];
}

/** An OCI content descriptor; the same shape the stores use. */
export type Descriptor = StoreDescriptor;

export type Annotations = Record<string, string>;

/** application/vnd.oci.image.manifest.v1+json */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: "application/vnd.oci.image.manifest.v1+json";
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Annotations;
}

/** application/vnd.oci.image.index.v1+json */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: "application/vnd.oci.image.index.v1+json";
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Annotations;
}

/** application/vnd.docker.distribution.manifest.v2+json */
export interface DockerManifest {
  schemaVersion: 2;
  mediaType: "application/vnd.docker.distribution.manifest.v2+json";
  config: Descriptor;
  layers: Descriptor[];
}

/** application/vnd.docker.distribution.manifest.list.v2+json */
export interface DockerManifestList {
  schemaVersion: 2;
  mediaType: "application/vnd.docker.distribution.manifest.list.v2+json";
  manifests: Array<Descriptor & { platform: Platform }>;
}

/** The execution parameters inside an image config (`config` key). */
export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  ArgsEscaped?: boolean;
  /** Docker extensions Gantry writes for HEALTHCHECK / SHELL / ONBUILD. */
  Healthcheck?: {
    Test?: string[];
    Interval?: number;
    Timeout?: number;
    StartPeriod?: number;
    StartInterval?: number;
    Retries?: number;
  };
  Shell?: string[];
  OnBuild?: string[] | null;
  [key: string]: unknown;
}

export interface RootFs {
  type: "layers";
  diff_ids: Digest[];
}

export interface HistoryEntry {
  created?: string;
  author?: string;
  created_by?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** application/vnd.oci.image.config.v1+json (also Docker's container image config). */
export interface ImageConfig extends Platform {
  created?: string;
  author?: string;
  config?: ContainerConfig;
  rootfs: RootFs;
  history?: HistoryEntry[];
  [key: string]: unknown;
}

/** Every manifest kind a registry stores, discriminated by `kind`. */
export type ParsedManifest =
  | { kind: "oci-manifest"; mediaType: string; manifest: ImageManifest }
  | { kind: "oci-index"; mediaType: string; manifest: ImageIndex }
  | { kind: "docker-manifest"; mediaType: string; manifest: DockerManifest }
  | { kind: "docker-manifest-list"; mediaType: string; manifest: DockerManifestList };

export type ManifestKind = ParsedManifest["kind"];

/**
 * Image archives: OCI layout directories and tars, Docker archives (`docker load`), the source and
 * destination contracts they implement, the copy loop over them, and `writeArchive`, which writes an image
 * of the data root's content store to an archive file (used by `gantry build --output type=oci|docker`).
 */
import { ContentStore } from "../content-store.js";
import type { Descriptor } from "../store-types.js";
import { copyImage } from "./copy-image.js";
import { DockerArchiveDestination } from "./docker-archive.js";
import type { TransferListener } from "./image-transport.js";
import { OciArchiveDestination } from "./oci-archive.js";
import { OciLayoutDestination } from "./oci-layout-dir.js";
import { StoreManifestSource } from "./store-source.js";

export { type CopyOptions, type CopyResult, copyImage } from "./copy-image.js";
export { DockerArchiveDestination, DockerArchiveSource } from "./docker-archive.js";
export { ArchiveError } from "./errors.js";
export type {
  BlobOpen,
  ImageDestination,
  ImageSource,
  ManifestBytes,
  TransferEvent,
  TransferListener,
} from "./image-transport.js";
export { OciArchiveDestination, OciArchiveSource } from "./oci-archive.js";
export { OciLayoutDestination, OciLayoutSource } from "./oci-layout-dir.js";
export { StoreManifestSource } from "./store-source.js";

export interface WriteArchiveOptions {
  /** The data root whose content store holds the image. */
  root: string;
  /**
   * `oci`: an OCI layout tar (skopeo's oci-archive); `oci-layout`: the same layout as a directory;
   * `docker`: a tar `docker load` accepts.
   */
  format: "oci" | "oci-layout" | "docker";
  /** The image's manifest (for `docker`, a single-platform manifest; an index is narrowed to the host). */
  manifest: Descriptor;
  /** The tar file to write (replaced atomically), or the layout directory for `oci-layout`. */
  file: string;
  /** Names: RepoTags of a Docker archive; the first is the OCI ref name (`org.opencontainers.image.ref.name`). */
  names?: readonly string[];
  onProgress?: TransferListener;
}

export async function writeArchive(options: WriteArchiveOptions): Promise<{ manifest: Descriptor }> {
  const blobs = await ContentStore.open(options.root);
  const source = new StoreManifestSource(blobs, options.manifest);
  const names = options.names ?? [];
  const destination =
    options.format === "docker"
      ? new DockerArchiveDestination(options.file, names)
      : options.format === "oci-layout"
        ? new OciLayoutDestination(options.file, names[0])
        : new OciArchiveDestination(options.file, names[0]);
  try {
    const result = await copyImage(source, destination, { tag: names[0], onProgress: options.onProgress });
    return { manifest: result.manifest };
  } finally {
    await destination.close();
  }
}

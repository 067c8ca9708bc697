/**
 * OCI archives (`oci-archive:FILE.tar:REF`, skopeo's transport): a tar of an OCI image layout. As a source
 * the tar is unpacked to a temp dir and read as a layout; as a destination the image is written to a temp
 * layout (starting from the archive's current content, so other refs are kept) and packed at commit.
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ByteRange, Descriptor } from "../store-types.js";
import type { BlobOpen, ImageDestination, ImageSource, ManifestBytes } from "./image-transport.js";
import { OciLayoutDestination, OciLayoutSource } from "./oci-layout-dir.js";
import { extractArchive, packDirectory } from "./tar-dir.js";

export class OciArchiveSource implements ImageSource {
  readonly description: string;
  private layout: Promise<{ work: string; source: OciLayoutSource }> | undefined;

  constructor(
    readonly file: string,
    private readonly ref: string | undefined,
  ) {
    this.description = `oci-archive:${file}${ref ? `:${ref}` : ""}`;
  }

  private open() {
    this.layout ??= (async () => {
      const work = await mkdtemp(join(tmpdir(), "gantry-oci-archive-"));
      await extractArchive(this.file, work);
      return { work, source: new OciLayoutSource(work, this.ref, this.description) };
    })();
    return this.layout;
  }

  async resolve(): Promise<ManifestBytes> {
    return (await this.open()).source.resolve();
  }
  async getManifest(descriptor: Descriptor): Promise<ManifestBytes> {
    return (await this.open()).source.getManifest(descriptor);
  }
  async openBlob(descriptor: Descriptor, range?: ByteRange) {
    return (await this.open()).source.openBlob(descriptor, range);
  }
  async close(): Promise<void> {
    if (this.layout) await rm((await this.layout).work, { recursive: true, force: true });
  }
}

export class OciArchiveDestination implements ImageDestination {
  readonly description: string;
  private layout: Promise<{ work: string; destination: OciLayoutDestination }> | undefined;

  constructor(
    readonly file: string,
    private readonly ref: string | undefined,
  ) {
    this.description = `oci-archive:${file}${ref ? `:${ref}` : ""}`;
  }

  private open() {
    this.layout ??= (async () => {
      const work = await mkdtemp(join(tmpdir(), "gantry-oci-archive-"));
      const dir = join(work, "layout");
      if (await stat(this.file).catch(() => undefined)) await extractArchive(this.file, dir);
      return { work, destination: new OciLayoutDestination(dir, this.ref, this.description) };
    })();
    return this.layout;
  }

  async hasBlob(descriptor: Descriptor): Promise<boolean> {
    return (await this.open()).destination.hasBlob(descriptor);
  }
  async putBlob(descriptor: Descriptor, open: BlobOpen, onBytes: (bytes: number) => void): Promise<void> {
    await (await this.open()).destination.putBlob(descriptor, open, onBytes);
  }
  async putManifest(manifest: ManifestBytes, tag: string | undefined): Promise<void> {
    await (await this.open()).destination.putManifest(manifest, tag);
  }
  async commit(): Promise<void> {
    const { destination } = await this.open();
    await destination.commit();
    await packDirectory(destination.dir, this.file);
  }
  async close(): Promise<void> {
    if (this.layout) await rm((await this.layout).work, { recursive: true, force: true });
  }
}

/** One manifest of the content store (and everything it references) as an image source. */
import type { Readable } from "node:stream";
import type { BlobStore, ByteRange, Descriptor } from "../store-types.js";
import type { ImageSource, ManifestBytes } from "./image-transport.js";

export class StoreManifestSource implements ImageSource {
  readonly description: string;
  constructor(
    private readonly blobs: BlobStore,
    private readonly manifest: Descriptor,
  ) {
    this.description = `${blobs.root}@${manifest.digest}`;
  }

  resolve(): Promise<ManifestBytes> {
    return this.getManifest(this.manifest);
  }

  async getManifest(descriptor: Descriptor): Promise<ManifestBytes> {
    const chunks: Buffer[] = [];
    for await (const chunk of await this.blobs.openRead(descriptor.digest)) chunks.push(chunk as Buffer);
    return { bytes: Buffer.concat(chunks), mediaType: descriptor.mediaType, digest: descriptor.digest };
  }

  openBlob(descriptor: Descriptor, range?: ByteRange): Promise<Readable> {
    return this.blobs.openRead(descriptor.digest, range);
  }

  async close(): Promise<void> {}
}

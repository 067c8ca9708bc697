/**
 * A repository on a registry as an image source and destination. The source reads manifests (verified
 * against their digest) and blobs (resumed with Range after a cut connection); the destination HEADs
 * each blob to skip what exists, mounts it from another repository of the same registry when one is
 * known to hold it, else uploads it (monolithic or chunked, see blob-upload.ts), and puts manifests by
 * digest, the top one by tag.
 */
import type { Readable } from "node:stream";
import type { ImageDestination, ImageSource, ManifestBytes } from "../../image/archive/image-transport.js";
import type { ByteRange, Descriptor } from "../../image/store-types.js";
import type { BlobOrigins } from "../blob-origins.js";
import { type BlobOpener, type UploadOptions, uploadBlob } from "../blob-upload.js";
import { pushScope, type RegistryClient } from "../registry-client.js";
import { withProgress } from "./progress-stream.js";

export class RegistrySource implements ImageSource {
  readonly description: string;
  constructor(
    readonly client: RegistryClient,
    readonly repository: string,
    private readonly reference: string,
    private readonly onResume?: (digest: string, offset: number) => void,
  ) {
    const sep = reference.includes(":") ? "@" : ":";
    this.description = `docker://${client.host}/${repository}${sep}${reference}`;
  }

  resolve(): Promise<ManifestBytes> {
    return this.client.getManifest(this.repository, this.reference);
  }

  getManifest(descriptor: Descriptor): Promise<ManifestBytes> {
    return this.client.getManifest(this.repository, descriptor.digest);
  }

  async openBlob(descriptor: Descriptor, range?: ByteRange): Promise<Readable> {
    const size = range === undefined ? descriptor.size : Math.min(range.end + 1, descriptor.size);
    return this.client.openBlob(
      this.repository,
      { digest: descriptor.digest, size },
      {
        start: range?.start ?? 0,
        onResume: (offset) => this.onResume?.(descriptor.digest, offset),
      },
    );
  }

  mountableFrom(host: string): string | undefined {
    return host === this.client.host ? this.repository : undefined;
  }

  async close(): Promise<void> {}
}

export class RegistryDestination implements ImageDestination {
  readonly description: string;
  constructor(
    readonly client: RegistryClient,
    readonly repository: string,
    private readonly origins?: BlobOrigins,
    private readonly upload: UploadOptions = {},
  ) {
    this.description = `docker://${client.host}/${repository}`;
  }

  async hasBlob(descriptor: Descriptor): Promise<boolean> {
    const size = await this.client.headBlob(this.repository, descriptor.digest, [pushScope(this.repository)]);
    const present = size !== undefined;
    if (present) await this.origins?.record(this.client.host, this.repository, descriptor.digest);
    return present;
  }

  async tryMount(descriptor: Descriptor, source: ImageSource): Promise<boolean> {
    const candidates = new Set<string>();
    const fromSource = source.mountableFrom?.(this.client.host);
    if (fromSource) candidates.add(fromSource);
    for (const repo of (await this.origins?.repositoriesOn(this.client.host, descriptor.digest)) ?? []) {
      candidates.add(repo);
    }
    candidates.delete(this.repository);
    for (const from of candidates) {
      if (await this.client.mountBlob(this.repository, descriptor.digest, from).catch(() => false)) {
        await this.origins?.record(this.client.host, this.repository, descriptor.digest);
        return true;
      }
    }
    return false;
  }

  async putBlob(descriptor: Descriptor, open: BlobOpener, onBytes: (bytes: number) => void): Promise<void> {
    await uploadBlob(
      this.client,
      this.repository,
      descriptor,
      async (range) => withProgress(await open(range), onBytes, range?.start ?? 0),
      this.upload,
    );
    await this.origins?.record(this.client.host, this.repository, descriptor.digest);
  }

  async putManifest(manifest: ManifestBytes, tag: string | undefined): Promise<void> {
    await this.client.putManifest(
      this.repository,
      tag ?? manifest.digest,
      manifest.bytes,
      manifest.mediaType,
    );
  }

  async commit(): Promise<void> {}
  async close(): Promise<void> {}
}

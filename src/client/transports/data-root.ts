/**
 * The local data root as an image source and destination: manifests resolved through the repository's
 * tags and links, blobs read from and streamed into the content store (verified before they become
 * visible), and on the destination side the order blobs → linked into the repository → manifest linked →
 * tag set (as image-builder.ts does), so a reader never sees a tag whose content is missing.
 */
import type { Readable } from "node:stream";
import type { ImageDestination, ImageSource, ManifestBytes } from "../../image/archive/image-transport.js";
import { ContentStore } from "../../image/content-store.js";
import { manifestAnnotations, manifestSubject, referrerArtifactType } from "../../image/manifest-fields.js";
import type { ParsedManifest } from "../../image/oci-types.js";
import { FsRepositoryStore } from "../../image/repository-store.js";
import type { ByteRange, Descriptor, ManifestRecord } from "../../image/store-types.js";
import { readStoredManifest } from "../../image/stored-documents.js";
import { ClientError } from "../errors.js";
import { counted } from "./progress-stream.js";

export interface DataRoot {
  root: string;
  blobs: ContentStore;
  repositories: FsRepositoryStore;
}

export async function openDataRoot(root: string): Promise<DataRoot> {
  return { root, blobs: await ContentStore.open(root), repositories: await FsRepositoryStore.open(root) };
}

/** The descriptor `repository` + tag/digest names in the data root, or undefined. */
export async function resolveLocal(
  store: DataRoot,
  repository: string,
  reference: { tag?: string; digest?: string },
): Promise<Descriptor | undefined> {
  if (reference.digest !== undefined) {
    const record = await store.repositories.getManifest(repository, reference.digest as Descriptor["digest"]);
    if (!record) return undefined;
    return { mediaType: record.mediaType, digest: record.digest, size: record.size };
  }
  return store.repositories.resolveTag(repository, reference.tag ?? "latest");
}

export async function readManifestBytes(store: DataRoot, descriptor: Descriptor): Promise<ManifestBytes> {
  const bytes = await store.blobs.readBytes(descriptor.digest);
  return { bytes, mediaType: descriptor.mediaType, digest: descriptor.digest };
}

export class DataRootSource implements ImageSource {
  readonly description: string;
  constructor(
    private readonly store: DataRoot,
    private readonly repository: string,
    private readonly reference: { tag?: string; digest?: string },
  ) {
    this.description = `${repository}${reference.tag ? `:${reference.tag}` : ""}${
      reference.digest ? `@${reference.digest}` : ""
    }`;
  }

  async resolve(): Promise<ManifestBytes> {
    const descriptor = await resolveLocal(this.store, this.repository, this.reference);
    if (!descriptor) {
      throw new ClientError("IMAGE_UNKNOWN", `no image ${this.description} in ${this.store.root}`, {
        hint: "list local images with `gantry images`, or pull it first",
      });
    }
    return readManifestBytes(this.store, descriptor);
  }

  getManifest(descriptor: Descriptor): Promise<ManifestBytes> {
    return readManifestBytes(this.store, descriptor);
  }

  /** The data root's manifests were validated when they were stored: a shape check will do. */
  parseManifest(manifest: ManifestBytes): ParsedManifest {
    return readStoredManifest(manifest.bytes, manifest.mediaType);
  }

  openBlob(descriptor: Descriptor, range?: ByteRange) {
    return this.store.blobs.openRead(descriptor.digest, range);
  }

  async close(): Promise<void> {}
}

export class DataRootDestination implements ImageDestination {
  readonly description: string;
  constructor(
    private readonly store: DataRoot,
    private readonly repository: string,
  ) {
    this.description = `${store.root}:${repository}`;
  }

  async hasBlob(descriptor: Descriptor): Promise<boolean> {
    const info = await this.store.blobs.stat(descriptor.digest);
    if (info === undefined || info.size !== descriptor.size) return false;
    await this.store.repositories.linkBlob(this.repository, descriptor.digest);
    return true;
  }

  async putBlob(
    descriptor: Descriptor,
    open: (range?: ByteRange) => Promise<Readable>,
    onBytes: (bytes: number) => void,
  ): Promise<void> {
    await this.store.blobs.write(counted(await open(), onBytes), {
      digest: descriptor.digest,
      size: descriptor.size,
    });
    await this.store.repositories.linkBlob(this.repository, descriptor.digest);
  }

  async putManifest(manifest: ManifestBytes, tag: string | undefined): Promise<void> {
    // Coming in (a pull): validated in full, so zod is loaded only by what receives manifests.
    const { parseManifest } = await import("../../image/oci-schemas.js");
    const parsed = parseManifest(manifest.bytes, manifest.mediaType);
    await this.store.blobs.writeBytes(manifest.bytes, {
      digest: manifest.digest,
      size: manifest.bytes.byteLength,
    });
    const record: ManifestRecord = {
      mediaType: parsed.mediaType,
      digest: manifest.digest,
      size: manifest.bytes.byteLength,
      pushedAt: Date.now(),
    };
    const artifactType = referrerArtifactType(parsed);
    if (artifactType !== undefined) record.artifactType = artifactType;
    const annotations = manifestAnnotations(parsed);
    if (annotations !== undefined) record.annotations = annotations;
    const subject = manifestSubject(parsed);
    if (subject) record.subject = subject.digest;
    await this.store.repositories.linkManifest(this.repository, record);
    if (tag !== undefined) {
      await this.store.repositories.setTag(this.repository, tag, {
        mediaType: parsed.mediaType,
        digest: manifest.digest,
        size: manifest.bytes.byteLength,
      });
    }
  }

  async commit(): Promise<void> {}
  async close(): Promise<void> {}
}

/**
 * An OCI image layout directory (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`) as an image source and
 * destination, as skopeo's `oci:DIR:REF` transport uses it: images are named by the
 * `org.opencontainers.image.ref.name` annotation of their index.json entry. Blobs are written to a temp
 * file beside their final name, verified against their digest and size, then renamed; index.json is
 * rewritten atomically at commit, replacing any entry with the same ref name.
 */
import { createReadStream } from "node:fs";
import { mkdir, readFile, rename, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { READ_CHUNK_BYTES } from "../../util/read-chunk.js";
import { streamToNewFile, tempPathFor, writeFileAtomic } from "../atomic-file.js";
import { parseDigest, StreamHasher } from "../digest.js";
import { DigestMismatchError, SizeMismatchError } from "../errors.js";
import { OCI_INDEX } from "../media-types.js";
import { OCI_LAYOUT_CONTENT, OCI_LAYOUT_FILE, REF_NAME_ANNOTATION } from "../oci-layout.js";
import type { ByteRange, Descriptor } from "../store-types.js";
import { ArchiveError } from "./errors.js";
import type { BlobOpen, ImageDestination, ImageSource, ManifestBytes } from "./image-transport.js";

interface LayoutIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  [key: string]: unknown;
}

export function layoutBlobPath(dir: string, digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return join(dir, "blobs", algorithm, hex);
}

async function readIndex(dir: string): Promise<LayoutIndex | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, "index.json"), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const parsed = JSON.parse(text) as LayoutIndex;
  if (!Array.isArray(parsed.manifests)) {
    throw new ArchiveError("ARCHIVE_INVALID", `${dir}/index.json has no manifests list`);
  }
  return parsed;
}

export class OciLayoutSource implements ImageSource {
  readonly description: string;
  constructor(
    readonly dir: string,
    private readonly ref: string | undefined,
    description?: string,
  ) {
    this.description = description ?? `oci:${dir}${ref ? `:${ref}` : ""}`;
  }

  async resolve(): Promise<ManifestBytes> {
    const index = await readIndex(this.dir);
    if (!index)
      throw new ArchiveError("ARCHIVE_INVALID", `${this.dir} is not an OCI image layout (no index.json)`);
    const named = (d: Descriptor) => d.annotations?.[REF_NAME_ANNOTATION];
    let entry: Descriptor | undefined;
    if (this.ref === undefined) {
      if (index.manifests.length !== 1) {
        throw new ArchiveError(
          "IMAGE_UNKNOWN",
          `${this.description} holds ${index.manifests.length} images`,
          {
            hint: `name one: ${index.manifests.map(named).filter(Boolean).join(", ") || "(none are named)"}`,
          },
        );
      }
      entry = index.manifests[0];
    } else {
      entry = index.manifests.find((d) => named(d) === this.ref || d.digest === this.ref);
    }
    if (!entry)
      throw new ArchiveError("IMAGE_UNKNOWN", `no image ${JSON.stringify(this.ref)} in ${this.dir}`);
    return this.getManifest(entry);
  }

  async getManifest(descriptor: Descriptor): Promise<ManifestBytes> {
    const bytes = await readFile(layoutBlobPath(this.dir, descriptor.digest));
    const hasher = new StreamHasher(parseDigest(descriptor.digest).algorithm);
    hasher.update(bytes);
    if (hasher.digest() !== descriptor.digest)
      throw new DigestMismatchError(descriptor.digest, hasher.digest());
    return { bytes, mediaType: descriptor.mediaType, digest: descriptor.digest };
  }

  async openBlob(descriptor: Descriptor, range?: ByteRange): Promise<Readable> {
    const path = layoutBlobPath(this.dir, descriptor.digest);
    await stat(path);
    return createReadStream(
      path,
      range
        ? { start: range.start, end: range.end, highWaterMark: READ_CHUNK_BYTES }
        : { highWaterMark: READ_CHUNK_BYTES },
    );
  }

  async close(): Promise<void> {}
}

export class OciLayoutDestination implements ImageDestination {
  readonly description: string;
  private top: { manifest: ManifestBytes; ref: string | undefined } | undefined;

  constructor(
    readonly dir: string,
    private readonly ref: string | undefined,
    description?: string,
  ) {
    this.description = description ?? `oci:${dir}${ref ? `:${ref}` : ""}`;
  }

  async hasBlob(descriptor: Descriptor): Promise<boolean> {
    const info = await stat(layoutBlobPath(this.dir, descriptor.digest)).catch(() => undefined);
    return info?.isFile() === true && info.size === descriptor.size;
  }

  async putBlob(descriptor: Descriptor, open: BlobOpen, onBytes: (bytes: number) => void): Promise<void> {
    await this.writeBlob(descriptor, await open(), onBytes);
  }

  private async writeBlob(
    descriptor: Descriptor,
    source: Readable | Buffer[],
    onBytes: (bytes: number) => void = () => {},
  ): Promise<void> {
    const target = layoutBlobPath(this.dir, descriptor.digest);
    await mkdir(join(target, ".."), { recursive: true });
    const temp = tempPathFor(target);
    const hasher = new StreamHasher(parseDigest(descriptor.digest).algorithm);
    try {
      await streamToNewFile(temp, source, {
        inspect: (chunk) => {
          hasher.update(chunk);
          onBytes(hasher.size);
        },
      });
      if (hasher.size !== descriptor.size) throw new SizeMismatchError(descriptor.size, hasher.size);
      if (hasher.digest() !== descriptor.digest)
        throw new DigestMismatchError(descriptor.digest, hasher.digest());
      await rename(temp, target);
    } catch (error) {
      await unlink(temp).catch(() => {});
      throw error;
    }
  }

  async putManifest(manifest: ManifestBytes, tag: string | undefined): Promise<void> {
    const descriptor = {
      mediaType: manifest.mediaType,
      digest: manifest.digest,
      size: manifest.bytes.byteLength,
    };
    if (!(await this.hasBlob(descriptor))) await this.writeBlob(descriptor, [manifest.bytes]);
    if (tag !== undefined || this.top === undefined) this.top = { manifest, ref: tag ?? this.ref };
  }

  async commit(): Promise<void> {
    if (!this.top) return;
    await mkdir(this.dir, { recursive: true });
    await writeFileAtomic(join(this.dir, OCI_LAYOUT_FILE), OCI_LAYOUT_CONTENT);
    const index: LayoutIndex = (await readIndex(this.dir)) ?? {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [],
    };
    const { manifest, ref } = this.top;
    const entry: Descriptor = {
      mediaType: manifest.mediaType,
      digest: manifest.digest,
      size: manifest.bytes.byteLength,
    };
    if (ref !== undefined) entry.annotations = { [REF_NAME_ANNOTATION]: ref };
    index.manifests = index.manifests.filter((d) =>
      ref === undefined ? d.digest !== manifest.digest : d.annotations?.[REF_NAME_ANNOTATION] !== ref,
    );
    index.manifests.push(entry);
    await writeFileAtomic(join(this.dir, "index.json"), `${JSON.stringify(index)}\n`);
  }

  async close(): Promise<void> {}
}

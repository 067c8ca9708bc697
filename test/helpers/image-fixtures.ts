/**
 * Test helpers for the image layer: throwaway data roots, a real gzip'd tar layer made with tar-stream,
 * and a small complete image (layer + config + manifest) written through the stores.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import tar from "tar-stream";
import type { ContentStore } from "../../src/image/content-store.js";
import { DigestingTransform } from "../../src/image/digest.js";
import { OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST } from "../../src/image/media-types.js";
import type { ImageConfig, ImageManifest } from "../../src/image/oci-types.js";
import type { FsRepositoryStore } from "../../src/image/repository-store.js";
import type { Descriptor, Digest } from "../../src/image/store-types.js";

export async function makeTempDir(
  prefix = "gantry-image-",
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Bytes from a stream, for small test data only. */
export async function collect(stream: AsyncIterable<Uint8Array | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream)
    chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** Splits bytes into a stream of `chunkSize` pieces (so writes really stream). */
export function chunked(bytes: Uint8Array, chunkSize = 64 * 1024): Readable {
  return Readable.from(
    (function* () {
      for (let offset = 0; offset < bytes.byteLength; offset += chunkSize) {
        yield bytes.subarray(offset, Math.min(offset + chunkSize, bytes.byteLength));
      }
    })(),
  );
}

export interface LayerFile {
  path: string;
  content: string;
  mode?: number;
}

export interface WrittenLayer {
  descriptor: Descriptor;
  diffId: Digest;
}

/** Streams a tar (tar-stream) of `files` through gzip into the store; diffID and digest in one pass. */
export async function writeGzipLayer(blobs: ContentStore, files: LayerFile[]): Promise<WrittenLayer> {
  const pack = tar.pack();
  const directories = new Set<string>();
  for (const file of files) {
    const parts = file.path.split("/");
    for (let i = 1; i < parts.length; i++) directories.add(parts.slice(0, i).join("/"));
  }
  for (const dir of [...directories].sort()) {
    pack.entry({ name: `${dir}/`, type: "directory", mode: 0o755, uid: 0, gid: 0, mtime: new Date(0) });
  }
  for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : 1))) {
    pack.entry(
      { name: file.path, mode: file.mode ?? 0o644, uid: 0, gid: 0, mtime: new Date(0) },
      file.content,
    );
  }
  pack.finalize();
  const uncompressed = new DigestingTransform();
  const compressedOut = new PassThrough();
  const piping = pipeline(pack, uncompressed, createGzip(), compressedOut);
  const [info] = await Promise.all([blobs.write(compressedOut), piping]);
  return {
    descriptor: { mediaType: OCI_LAYER_GZIP, digest: info.digest, size: info.size },
    diffId: uncompressed.digest,
  };
}

export interface WrittenImage {
  manifest: ImageManifest;
  manifestDescriptor: Descriptor;
  config: ImageConfig;
  layer: WrittenLayer;
}

/** Writes a one-layer linux/amd64 image into the stores and links (and optionally tags) it in `repo`. */
export async function writeSmallImage(
  blobs: ContentStore,
  repos: FsRepositoryStore,
  repo: string,
  files: LayerFile[],
  options: { tag?: string; cmd?: string[]; annotations?: Record<string, string> } = {},
): Promise<WrittenImage> {
  const layer = await writeGzipLayer(blobs, files);
  const config: ImageConfig = {
    architecture: "amd64",
    os: "linux",
    created: "1970-01-01T00:00:00Z",
    config: { Cmd: options.cmd ?? ["/bin/sh"], Env: ["PATH=/usr/bin:/bin"] },
    rootfs: { type: "layers", diff_ids: [layer.diffId] },
    history: [{ created: "1970-01-01T00:00:00Z", created_by: "gantry test" }],
  };
  const configInfo = await blobs.writeBytes(Buffer.from(JSON.stringify(config)));
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: configInfo.digest, size: configInfo.size },
    layers: [layer.descriptor],
    ...(options.annotations ? { annotations: options.annotations } : {}),
  };
  const manifestInfo = await blobs.writeBytes(Buffer.from(JSON.stringify(manifest)));
  const manifestDescriptor: Descriptor = { mediaType: OCI_MANIFEST, ...manifestInfo };
  await repos.linkBlob(repo, layer.descriptor.digest);
  await repos.linkBlob(repo, configInfo.digest);
  await repos.linkManifest(repo, { ...manifestDescriptor, pushedAt: Date.now() });
  if (options.tag !== undefined) await repos.setTag(repo, options.tag, manifestDescriptor);
  return { manifest, manifestDescriptor, config, layer };
}

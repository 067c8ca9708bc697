/**
 * Docker archives, the tar `docker save` writes and `docker load` reads: `manifest.json`
 * (`[{Config, RepoTags, Layers}]`), the config as `<hex>.json` and each layer as an uncompressed
 * `<diffID hex>/layer.tar`. As a destination it collects blobs in a temp OCI layout, then decompresses
 * each layer to a temp file (checking it against the config's diff_ids) and writes the tar; as a source it
 * unpacks the archive to a temp dir and presents an OCI manifest over its config and layer files (layers
 * as found: plain tar, or gzip/zstd when compressed).
 */
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { READ_CHUNK_BYTES } from "../../util/read-chunk.js";
import { streamToNewFile } from "../atomic-file.js";
import { digestOf, hashStream, StreamHasher } from "../digest.js";
import { DigestMismatchError } from "../errors.js";
import { createDecompressor, detectCompression, layerMediaType } from "../layer/compress.js";
import { OCI_CONFIG, OCI_MANIFEST } from "../media-types.js";
import { parseImageConfig, parseManifest } from "../oci-schemas.js";
import type { ByteRange, Descriptor, Digest } from "../store-types.js";
import { ArchiveError } from "./errors.js";
import type { BlobOpen, ImageDestination, ImageSource, ManifestBytes } from "./image-transport.js";
import { layoutBlobPath, OciLayoutDestination } from "./oci-layout-dir.js";
import { extractArchive, packDirectory } from "./tar-dir.js";

export interface DockerArchiveManifestEntry {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

export class DockerArchiveDestination implements ImageDestination {
  readonly description: string;
  readonly singlePlatform = true;
  private work: string | undefined;
  private staging: Promise<OciLayoutDestination> | undefined;
  private top: ManifestBytes | undefined;

  private readonly repoTags: string[];

  /** `repoTags`: the names `docker load` gives the image (`app:1`, `127.0.0.1:5000/team/app:2`). */
  constructor(
    readonly file: string,
    repoTags: string | readonly string[] | undefined,
  ) {
    this.repoTags = repoTags === undefined ? [] : typeof repoTags === "string" ? [repoTags] : [...repoTags];
    this.description = `docker-archive:${file}${this.repoTags.length ? `:${this.repoTags.join(",")}` : ""}`;
  }

  private stage(): Promise<OciLayoutDestination> {
    this.staging ??= mkdtemp(join(tmpdir(), "gantry-docker-archive-")).then((work) => {
      this.work = work;
      return new OciLayoutDestination(join(work, "layout"), undefined);
    });
    return this.staging;
  }

  async hasBlob(): Promise<boolean> {
    return false;
  }

  async putBlob(descriptor: Descriptor, open: BlobOpen, onBytes: (bytes: number) => void): Promise<void> {
    await (await this.stage()).putBlob(descriptor, open, onBytes);
  }

  async putManifest(manifest: ManifestBytes, tag: string | undefined): Promise<void> {
    if (tag !== undefined || this.top === undefined) this.top = manifest;
  }

  async commit(): Promise<void> {
    if (!this.top) return;
    const parsed = parseManifest(this.top.bytes, this.top.mediaType);
    if (parsed.kind !== "oci-manifest" && parsed.kind !== "docker-manifest") {
      throw new ArchiveError("ARCHIVE_INVALID", "a Docker archive holds one platform's image, not an index");
    }
    const layoutDir = (await this.stage()).dir;
    const out = join(this.work!, "archive");
    const config = parsed.manifest.config;
    const configBytes = await readFile(layoutBlobPath(layoutDir, config.digest));
    const imageConfig = parseImageConfig(configBytes);
    const diffIds = imageConfig.rootfs.diff_ids;
    if (diffIds.length !== parsed.manifest.layers.length) {
      throw new ArchiveError("ARCHIVE_INVALID", "the config's diff_ids do not match the manifest's layers");
    }
    const configName = `${config.digest.split(":")[1]}.json`;
    await mkdirp(out);
    await writeFile(join(out, configName), configBytes);
    const layers: string[] = [];
    for (const [i, layer] of parsed.manifest.layers.entries()) {
      const diffId = diffIds[i]!;
      const name = `${diffId.split(":")[1]}/layer.tar`;
      await mkdirp(join(out, diffId.split(":")[1]!));
      const actual = await decompressTo(layoutBlobPath(layoutDir, layer.digest), join(out, name));
      if (actual !== diffId) throw new DigestMismatchError(diffId, actual);
      layers.push(name);
    }
    const entry: DockerArchiveManifestEntry = {
      Config: configName,
      RepoTags: this.repoTags.length > 0 ? this.repoTags : null,
      Layers: layers,
    };
    await writeFile(join(out, "manifest.json"), JSON.stringify([entry]));
    await packDirectory(out, this.file);
  }

  async close(): Promise<void> {
    if (this.staging) await this.staging.catch(() => undefined);
    if (this.work) await rm(this.work, { recursive: true, force: true });
  }
}

/** Decompresses (gzip, zstd or none, detected) the blob at `from` into `to`; returns the diffID. */
async function decompressTo(from: string, to: string): Promise<Digest> {
  const head = Buffer.alloc(4);
  const handle = await open(from, "r");
  const { bytesRead } = await handle.read(head, 0, 4, 0).finally(() => handle.close());
  const compression = detectCompression(head.subarray(0, bytesRead));
  const hasher = new StreamHasher();
  const decompressor = createDecompressor(compression);
  const feeding = pipeline(createReadStream(from, { highWaterMark: READ_CHUNK_BYTES }), decompressor);
  await Promise.all([
    feeding,
    streamToNewFile(to, decompressor, { inspect: (chunk) => hasher.update(chunk) }),
  ]);
  return hasher.digest();
}

async function mkdirp(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
}

export class DockerArchiveSource implements ImageSource {
  readonly description: string;
  private work: string | undefined;
  private readonly files = new Map<string, string>();

  constructor(
    readonly file: string,
    private readonly ref: string | undefined,
  ) {
    this.description = `docker-archive:${file}${ref ? `:${ref}` : ""}`;
  }

  async resolve(): Promise<ManifestBytes> {
    this.work = await mkdtemp(join(tmpdir(), "gantry-docker-archive-"));
    await extractArchive(this.file, this.work);
    let entries: DockerArchiveManifestEntry[];
    try {
      entries = JSON.parse(await readFile(join(this.work, "manifest.json"), "utf8"));
    } catch (error) {
      throw new ArchiveError("ARCHIVE_INVALID", `${this.file} has no readable manifest.json`, {
        cause: error,
      });
    }
    const entry =
      this.ref === undefined
        ? entries[0]
        : entries.find((e) => (e.RepoTags ?? []).some((t) => t === this.ref || t === `${this.ref}:latest`));
    if (!entry) throw new ArchiveError("IMAGE_UNKNOWN", `no image ${this.ref ?? ""} in ${this.file}`.trim());
    const configPath = this.inside(entry.Config);
    const configBytes = await readFile(configPath);
    const config: Descriptor = {
      mediaType: OCI_CONFIG,
      digest: digestOf(configBytes),
      size: configBytes.length,
    };
    this.files.set(config.digest, configPath);
    const layers: Descriptor[] = [];
    for (const name of entry.Layers) {
      const path = this.inside(name);
      const { digest, size } = await hashStream(createReadStream(path, { highWaterMark: READ_CHUNK_BYTES }));
      const handle = await open(path, "r");
      const head = Buffer.alloc(4);
      const { bytesRead } = await handle.read(head, 0, 4, 0).finally(() => handle.close());
      layers.push({
        mediaType: layerMediaType(detectCompression(head.subarray(0, bytesRead))),
        digest,
        size,
      });
      this.files.set(digest, path);
    }
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers }));
    return { bytes, mediaType: OCI_MANIFEST, digest: digestOf(bytes) };
  }

  private inside(name: string): string {
    if (name.startsWith("/") || name.split("/").includes("..")) {
      throw new ArchiveError("ARCHIVE_INVALID", `${this.file}: manifest.json names ${JSON.stringify(name)}`);
    }
    return join(this.work!, name);
  }

  async getManifest(): Promise<ManifestBytes> {
    throw new ArchiveError("ARCHIVE_INVALID", "a Docker archive holds no index");
  }

  async openBlob(descriptor: Descriptor, range?: ByteRange): Promise<Readable> {
    const path = this.files.get(descriptor.digest);
    if (!path) throw new ArchiveError("IMAGE_UNKNOWN", `${this.file} holds no blob ${descriptor.digest}`);
    return createReadStream(
      path,
      range
        ? { start: range.start, end: range.end, highWaterMark: READ_CHUNK_BYTES }
        : { highWaterMark: READ_CHUNK_BYTES },
    );
  }

  async close(): Promise<void> {
    if (this.work) await rm(this.work, { recursive: true, force: true });
  }
}

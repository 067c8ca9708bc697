/**
 * The remote build cache: `--cache-to` / `--cache-from` with `type=registry,ref=REF` or `type=local,dest|src=DIR`.
 * A cache is one OCI artifact: an image manifest whose config blob (`application/vnd.gantry.cache.config.v1+json`)
 * holds the cache records (key → layer, the inputs that made the key, per-file digests) and whose layers are
 * every layer blob those records (and exported cache mounts) point at, so registries keep them. Export is
 * incremental (a blob the registry has is never sent again; layers are already compressed and sent as they
 * are) and parallel; import fetches the small config first and a layer only when a step hits it.
 */
import { createReadStream } from "node:fs";
import { mkdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { UsageError } from "../errors.js";
import { Limiter } from "../executor/limiter.js";
import { hasBlob } from "../executor/types.js";
import { writeFileAtomic, writeStreamAtomic } from "../image/atomic-file.js";
import { digestHex } from "../image/digest.js";
import { OCI_MANIFEST } from "../image/media-types.js";
import type { ImageManifest } from "../image/oci-types.js";
import { parseImageReference } from "../image/reference.js";
import type { BlobStore, Descriptor, Digest } from "../image/store-types.js";
import { READ_CHUNK_BYTES } from "../util/read-chunk.js";
import type { CacheKey } from "./key.js";
import type { CachedLayer, CacheRecord } from "./records.js";

export const CACHE_CONFIG_TYPE = "application/vnd.gantry.cache.config.v1+json";
export const CACHE_ARTIFACT_TYPE = "application/vnd.gantry.cache.v1";

export interface CacheSpec {
  type: "registry" | "local";
  /** Registry reference (type=registry). */
  ref?: string;
  /** OCI layout directory (type=local: dest= for --cache-to, src= for --cache-from). */
  dir?: string;
  /** max (default): every stage's steps; min: only the steps of the exported image. */
  mode: "min" | "max";
  /** Cache mount ids whose contents travel with the cache (`mount=ID`, repeatable). */
  mounts: string[];
  /** A failed export/import is a warning (always, as BuildKit's ignore-error=true). */
  ignoreError: boolean;
}

/** The config blob of a cache artifact. */
export interface CacheDocument {
  version: 1;
  records: CacheRecord[];
  /** Cache mount contents by id, as layers. */
  mounts: Record<string, CachedLayer>;
}

/** `type=registry,ref=host/app:cache[,mode=max][,mount=ID…]` or `type=local,dest=DIR` / `src=DIR`. */
export function parseCacheSpec(value: string, direction: "to" | "from"): CacheSpec {
  const fields: Array<[string, string]> = [];
  for (const part of value.split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0)
      throw new UsageError(`invalid --cache-${direction} ${JSON.stringify(value)}`, {
        hint: "use type=registry,ref=REF or type=local,dest=DIR",
      });
    fields.push([part.slice(0, eq).trim(), part.slice(eq + 1).trim()]);
  }
  const get = (key: string) => fields.find(([k]) => k === key)?.[1];
  // `--cache-from REF` shorthand (a bare reference) is type=registry.
  const type = get("type") ?? "registry";
  if (type !== "registry" && type !== "local") {
    throw new UsageError(`unsupported cache type ${JSON.stringify(type)}`, {
      hint: "use type=registry or type=local",
    });
  }
  const mode = get("mode") ?? "max";
  if (mode !== "min" && mode !== "max")
    throw new UsageError(`invalid cache mode ${JSON.stringify(mode)}`, { hint: "use mode=min or mode=max" });
  const spec: CacheSpec = {
    type,
    mode,
    mounts: fields.filter(([k]) => k === "mount").map(([, v]) => v),
    ignoreError: get("ignore-error") !== "false",
  };
  if (type === "registry") {
    const ref = get("ref");
    if (ref === undefined) throw new UsageError(`--cache-${direction} type=registry needs ref=REF`);
    parseImageReference(ref);
    spec.ref = ref;
  } else {
    const dir = get(direction === "to" ? "dest" : "src") ?? get("dest") ?? get("src");
    if (dir === undefined)
      throw new UsageError(
        `--cache-${direction} type=local needs ${direction === "to" ? "dest" : "src"}=DIR`,
      );
    spec.dir = dir;
  }
  return spec;
}

/** Parses `--cache-from` values, accepting a bare reference as type=registry. */
export function parseCacheFrom(value: string): CacheSpec {
  return value.includes("=")
    ? parseCacheSpec(value, "from")
    : parseCacheSpec(`type=registry,ref=${value}`, "from");
}

/** Where cache records and layers come from and go to: a registry repository or an OCI layout dir. */
interface CacheLocation {
  readDocument(): Promise<CacheDocument | undefined>;
  hasBlob(blob: Descriptor): Promise<boolean>;
  fetchBlob(blob: Descriptor, into: BlobStore): Promise<void>;
  putBlob(blob: Descriptor, from: BlobStore): Promise<void>;
  putManifest(manifest: Buffer): Promise<void>;
  close(): Promise<void>;
}

async function openLocation(spec: CacheSpec, insecure: boolean): Promise<CacheLocation> {
  return spec.type === "registry" ? registryLocation(spec.ref!, insecure) : layoutLocation(spec.dir!);
}

async function registryLocation(refText: string, insecure: boolean): Promise<CacheLocation> {
  // The client (undici) is loaded only for a registry cache.
  const [{ RegistryClient }, { uploadBlob }] = await Promise.all([
    import("../client/registry-client.js"),
    import("../client/blob-upload.js"),
  ]);
  const ref = parseImageReference(refText);
  const repo = ref.repository;
  const client = new RegistryClient({ host: ref.domain, insecure });
  return {
    async readDocument() {
      let manifest: ImageManifest;
      try {
        const fetched = await client.getManifest(repo, ref.digest ?? ref.tag ?? "latest");
        manifest = JSON.parse(fetched.bytes.toString("utf8")) as ImageManifest;
      } catch (error) {
        if ((error as { status?: number }).status === 404) return undefined;
        throw error;
      }
      if (manifest.config?.mediaType !== CACHE_CONFIG_TYPE) return undefined;
      const chunks: Buffer[] = [];
      for await (const chunk of client.openBlob(repo, manifest.config)) chunks.push(chunk as Buffer);
      return JSON.parse(Buffer.concat(chunks).toString("utf8")) as CacheDocument;
    },
    async hasBlob(blob) {
      return (await client.headBlob(repo, blob.digest, [`repository:${repo}:pull,push`])) !== undefined;
    },
    async fetchBlob(blob, into) {
      await into.write(client.openBlob(repo, blob), { digest: blob.digest, size: blob.size });
    },
    async putBlob(blob, from) {
      await uploadBlob(client, repo, blob, (range) => from.openRead(blob.digest, range));
    },
    async putManifest(bytes) {
      await client.putManifest(repo, ref.tag ?? "latest", bytes, OCI_MANIFEST);
    },
    close: () => client.close(),
  };
}

function layoutLocation(dir: string): CacheLocation {
  const blobPath = (digest: Digest) => join(dir, "blobs", digest.split(":")[0]!, digestHex(digest));
  return {
    async readDocument() {
      let index: { manifests?: Descriptor[] };
      try {
        index = JSON.parse(await readFile(join(dir, "index.json"), "utf8"));
      } catch {
        return undefined;
      }
      const descriptor =
        index.manifests?.find((m) => m.artifactType === CACHE_ARTIFACT_TYPE) ?? index.manifests?.[0];
      if (descriptor === undefined) return undefined;
      const manifest = JSON.parse(await readFile(blobPath(descriptor.digest), "utf8")) as ImageManifest;
      if (manifest.config.mediaType !== CACHE_CONFIG_TYPE) return undefined;
      return JSON.parse(await readFile(blobPath(manifest.config.digest), "utf8")) as CacheDocument;
    },
    async hasBlob(blob) {
      const info = await stat(blobPath(blob.digest)).catch(() => undefined);
      return info?.size === blob.size;
    },
    async fetchBlob(blob, into) {
      await into.write(createReadStream(blobPath(blob.digest), { highWaterMark: READ_CHUNK_BYTES }), {
        digest: blob.digest,
        size: blob.size,
      });
    },
    async putBlob(blob, from) {
      await mkdir(join(dir, "blobs", "sha256"), { recursive: true });
      await writeStreamAtomic(blobPath(blob.digest), await from.openRead(blob.digest));
    },
    async putManifest(bytes) {
      const { sha256Of } = await import("../image/digest.js");
      const digest = sha256Of(bytes);
      await mkdir(join(dir, "blobs", "sha256"), { recursive: true });
      await writeFileAtomic(blobPath(digest), bytes);
      await writeFileAtomic(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
      const descriptor: Descriptor = {
        mediaType: OCI_MANIFEST,
        digest,
        size: bytes.length,
        artifactType: CACHE_ARTIFACT_TYPE,
        annotations: { "org.opencontainers.image.ref.name": "latest" },
      };
      await writeFileAtomic(
        join(dir, "index.json"),
        JSON.stringify({
          schemaVersion: 2,
          mediaType: "application/vnd.oci.image.index.v1+json",
          manifests: [descriptor],
        }),
      );
    },
    close: async () => {},
  };
}

/** An imported cache: records by key, layers fetched on demand into the local store. */
export class CacheSource {
  private readonly byKey: Map<CacheKey, CacheRecord>;
  private readonly latestByIdentity = new Map<string, CacheRecord>();
  private readonly fetching = new Map<Digest, Promise<void>>();
  private readonly sourceDigests = new Map<Digest, Digest>();
  private readonly fetchLimiter = new Limiter(6);

  private constructor(
    readonly name: string,
    private readonly location: CacheLocation,
    readonly document: CacheDocument,
  ) {
    // Only records whose layer is a blob travel (a snapshot name means nothing on another machine).
    this.byKey = new Map(
      document.records
        .filter((record) => portable(record) !== undefined)
        .map((record) => [record.key, record]),
    );
    for (const record of document.records) {
      if (record.sourceMemo !== undefined)
        this.sourceDigests.set(record.sourceMemo.memo, record.sourceMemo.digest);
      if (record.identity === undefined) continue;
      const seen = this.latestByIdentity.get(record.identity);
      if (seen === undefined || seen.createdAt < record.createdAt)
        this.latestByIdentity.set(record.identity, record);
    }
  }

  /** A COPY --from source digest runner A remembered (see source-memo.ts). */
  sourceDigest(memo: Digest): Digest | undefined {
    return this.sourceDigests.get(memo);
  }

  /** The newest record of a step identity (to explain a miss on a runner that never built it). */
  byIdentity(identity: string): CacheRecord | undefined {
    return this.latestByIdentity.get(identity);
  }

  /** Opens `--cache-from`; a cache that does not exist yet is empty (the first CI run). */
  static async open(spec: CacheSpec, insecure = false): Promise<CacheSource> {
    const location = await openLocation(spec, insecure);
    const document = (await location.readDocument()) ?? { version: 1, records: [], mounts: {} };
    return new CacheSource(spec.ref ?? spec.dir!, location, document);
  }

  get size(): number {
    return this.byKey.size;
  }

  lookup(key: CacheKey): CacheRecord | undefined {
    return this.byKey.get(key);
  }

  /** Downloads a layer into the local store (once, however many steps ask), verified by digest. */
  async fetchLayer(layer: CachedLayer, into: BlobStore): Promise<void> {
    if ((await into.stat(layer.digest)) !== undefined) return;
    let pending = this.fetching.get(layer.digest);
    if (pending === undefined) {
      pending = this.fetchLimiter.run(() => this.location.fetchBlob(layer, into));
      this.fetching.set(layer.digest, pending);
    }
    await pending;
  }

  close(): Promise<void> {
    return this.location.close();
  }
}

export interface ExportStats {
  records: number;
  blobsSent: number;
  blobsSkipped: number;
  bytesSent: number;
}

/** Writes the cache artifact for `records` (and exported mounts) to `spec`'s location. */
export async function exportCache(
  spec: CacheSpec,
  blobs: BlobStore,
  records: CacheRecord[],
  mounts: Record<string, CachedLayer>,
  options: { insecure?: boolean; concurrency?: number } = {},
): Promise<ExportStats> {
  const location = await openLocation(spec, options.insecure ?? false);
  const exported = records.map(portable).filter((record) => record !== undefined);
  const stats: ExportStats = { records: exported.length, blobsSent: 0, blobsSkipped: 0, bytesSent: 0 };
  try {
    const layers = new Map<Digest, Descriptor>();
    for (const record of exported) {
      if (record.layer !== null) layers.set(record.layer.digest, toDescriptor(record.layer));
    }
    for (const layer of Object.values(mounts)) layers.set(layer.digest, toDescriptor(layer));
    const limiter = new Limiter(options.concurrency ?? 4);
    await Promise.all(
      [...layers.values()].map((layer) =>
        limiter.run(async () => {
          if (await location.hasBlob(layer)) {
            stats.blobsSkipped++;
            return;
          }
          await location.putBlob(layer, blobs);
          stats.blobsSent++;
          stats.bytesSent += layer.size;
        }),
      ),
    );
    const document: CacheDocument = {
      version: 1,
      records: exported.sort((a, b) => (a.key < b.key ? -1 : 1)),
      mounts,
    };
    const configInfo = await blobs.writeBytes(Buffer.from(JSON.stringify(document)));
    const config: Descriptor = {
      mediaType: CACHE_CONFIG_TYPE,
      digest: configInfo.digest,
      size: configInfo.size,
    };
    if (!(await location.hasBlob(config))) await location.putBlob(config, blobs);
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: CACHE_ARTIFACT_TYPE,
      config,
      layers: [...layers.values()].sort((a, b) => (a.digest < b.digest ? -1 : 1)),
    };
    await location.putManifest(Buffer.from(JSON.stringify(manifest)));
    return stats;
  } finally {
    await location.close();
  }
}

/**
 * A record as it can travel to another machine: its layer only as a blob (no local snapshot name);
 * undefined for a record whose layer has no blob.
 */
function portable(record: CacheRecord): (CacheRecord & { layer: CachedLayer | null }) | undefined {
  if (record.layer === null) return { ...record, layer: null };
  if (!hasBlob(record.layer)) return undefined;
  const { digest, diffId, size, mediaType } = record.layer;
  return { ...record, layer: { digest, diffId, size, mediaType } };
}

function toDescriptor(layer: CachedLayer): Descriptor {
  return { mediaType: layer.mediaType, digest: layer.digest, size: layer.size };
}

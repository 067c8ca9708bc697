/**
 * One build, wired end to end: Dockerfile text → raw tree → AST → BuildGraph (base images resolved from
 * the data root, pulled when missing) → solver (snapshotter, runtime, file ops, cache records) → image
 * documents → tags in the data root, then the requested outputs (push, OCI/Docker archive, local dir).
 * `runBuild` is the programmatic surface the `gantry build` command and the tests call.
 */
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { acquireBuildLease } from "../cache/leases.js";
import { importCacheMount, writeCacheMountLayer } from "../cache/mounts.js";
import type { CachedLayer } from "../cache/records.js";
import { CacheRecordStore } from "../cache/records.js";
import { CacheSource, type CacheSpec, exportCache } from "../cache/remote.js";
import { readCacheSettings } from "../cache/settings.js";
import { SourceMemoStore } from "../cache/source-memo.js";
import { linkImage, writeImageDocuments } from "../executor/export.js";
import { type ProgressSink, startVertex } from "../executor/progress.js";
import { imageChain, type SolveResult, solve } from "../executor/solver.js";
import { locationOf } from "../frontend/validate-location.js";
import { compileGraph } from "../graph/compile.js";
import type { BuildGraph } from "../graph/types.js";
import { ContentStore } from "../image/content-store.js";
import type { Compression } from "../image/layer/compress.js";
import type { Platform } from "../image/oci-types.js";
import { parseImageReference } from "../image/reference.js";
import { FsRepositoryStore } from "../image/repository-store.js";
import type { Descriptor, Digest } from "../image/store-types.js";
import { mkdirSpread } from "../util/spread-dirs.js";
import { type BuildDepsOptions, openBuildDeps } from "./deps.js";
import { loadDockerfile } from "./dockerfile-cache.js";
import { createImageResolver } from "./resolver.js";

/** Where an image built without -t is linked (untagged), so `REPO@DIGEST` still names it. */
export const UNTAGGED_REPOSITORY = "gantry/untagged";

export interface BuildRequest extends BuildDepsOptions {
  root: string;
  contextDir: string;
  /** Dockerfile bytes and the name to show in messages. */
  dockerfile: { text: Uint8Array; file: string };
  /** The Dockerfile's path relative to the context (for `<Dockerfile>.dockerignore`); default `Dockerfile`. */
  dockerfileInContext?: string;
  buildArgs: Record<string, string>;
  target?: string;
  platform: Platform;
  buildPlatform: Platform;
  /** `-t` references; each lands in the data root (host dropped, see image/reference.ts). */
  tags: string[];
  noCache: boolean;
  /** Always look base images up in their registry, even when present locally. */
  pull: boolean;
  labels: Record<string, string>;
  compression: Compression;
  compressionLevel?: number;
  sourceDateEpoch?: number;
  progress: ProgressSink;
  insecureRegistries?: boolean;
  signal?: AbortSignal;
  /** `--cache-from`: imported caches, asked after the local cache. */
  cacheFrom?: CacheSpec[];
  /** `--cache-to`: where this build's cache records and layers are exported. */
  cacheTo?: CacheSpec[];
}

export interface BuildResult {
  graph: BuildGraph;
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
  /** Sum of the layer sizes (compressed). */
  size: number;
  /** repository:tag for each -t, as stored. */
  stored: string[];
  steps: number;
  cached: number;
  duration: number;
  digest: Digest;
}

export async function runBuild(request: BuildRequest): Promise<BuildResult> {
  // The lease keeps `gantry prune` (and the size limit of another build) away from what this build uses.
  // A new data root spreads its stores (records, blobs, snapshots…) over block groups with free inodes.
  await mkdirSpread(request.root);
  const lease = await acquireBuildLease(request.root);
  let result: BuildResult;
  try {
    result = await build(request);
  } finally {
    await lease.release();
  }
  const settings = await readCacheSettings(request.root);
  if (settings.keepStorage !== undefined) {
    try {
      // Loaded only here: pruning walks manifests with the registry's GC (and its schemas).
      const { pruneCache } = await import("../cache/prune.js");
      await pruneCache(request.root, { keepStorage: settings.keepStorage });
    } catch (error) {
      request.progress({
        type: "warning",
        message: `cache size limit not applied: ${(error as Error).message}`,
      });
    }
  }
  return result;
}

async function build(request: BuildRequest): Promise<BuildResult> {
  const started = Date.now();
  const { ast, lines } = await loadDockerfile(request.root, request.dockerfile.text, request.dockerfile.file);
  const tags = request.tags.map((tag) => ({ text: tag, ref: parseImageReference(tag) }));
  const blobs = await ContentStore.open(request.root);
  const repositories = await FsRepositoryStore.open(request.root);
  const deps = await openBuildDeps(
    request.root,
    blobs,
    resolve(request.contextDir),
    request.dockerfileInContext ?? "Dockerfile",
    request,
  );
  const resolveImage = createImageResolver({
    root: request.root,
    pull: request.pull,
    insecure: request.insecureRegistries,
    progress: request.progress,
    // A base image being pulled is new here, so its stage's steps will run on it: the snapshotter's probe
    // runs during the download, and the layers are unpacked as soon as their blobs are in, while the pull
    // writes the manifest and tag and the rest of the graph compiles (containerd unpacks on pull too).
    onPulling: () => deps.warm(),
    onLayersPulled: (layers) => deps.warm(layers),
  });
  const graph = await compileGraph(ast, {
    buildArgs: request.buildArgs,
    target: request.target,
    platform: request.platform,
    buildPlatform: request.buildPlatform,
    resolveImage,
    sourceLines: lines,
  });
  for (const name of graph.unusedBuildArgs) {
    request.progress({
      type: "warning",
      message: `build argument ${name} was given but not declared in the Dockerfile`,
    });
  }
  const records = await CacheRecordStore.open(request.root);
  const remote = await openCacheSources(request, blobs);
  const solved = await solve(
    graph,
    {
      ...deps,
      blobs,
      records,
      contextDir: deps.context.dir,
      remote,
      sourceMemos: await SourceMemoStore.open(request.root),
    },
    {
      noCache: request.noCache,
      compression: request.compression,
      compressionLevel: request.compressionLevel,
      sourceDateEpoch: request.sourceDateEpoch,
      // Relative to the context, so runners that check out elsewhere still explain misses against each other.
      identity: `${request.dockerfileInContext ?? "Dockerfile"}#${request.target ?? ""}`,
      progress: request.progress,
      runLimit: Math.max(1, availableParallelism()),
      signal: request.signal,
      locate: (range) => locationOf({ file: ast.file, lines }, range),
      // mode=max exports every stage's layers, so every stage's blobs are written.
      blobsForAllStages: (request.cacheTo ?? []).some((spec) => spec.mode === "max"),
    },
  );
  await deps.context.save();
  const image = await writeImageDocuments(blobs, solved.target, { labels: request.labels });
  const stored: string[] = [];
  for (const tag of tags) {
    await linkImage(repositories, image, { repository: tag.ref.repository, tag: tag.ref.tag });
    stored.push(`${tag.ref.repository}:${tag.ref.tag ?? "latest"}`);
  }
  // Without -t the image is still addressable by digest (and exportable): linked untagged.
  if (tags.length === 0) await linkImage(repositories, image, { repository: UNTAGGED_REPOSITORY });
  await Promise.all(remote.map((source) => source.close()));
  await Promise.all(
    (request.cacheTo ?? []).map((spec) => exportBuildCache(request, blobs, spec, graph, solved)),
  );
  const size = image.layers.reduce((sum, layer) => sum + layer.size, 0);
  return {
    graph,
    manifest: image.manifest,
    config: image.config,
    layers: image.layers,
    size,
    stored,
    steps: solved.steps,
    cached: solved.cached,
    duration: Date.now() - started,
    digest: image.manifest.digest,
  };
}

/** `--cache-from`: opens each cache (a failure is a warning) and puts the cache mounts it carries in place. */
async function openCacheSources(request: BuildRequest, blobs: ContentStore): Promise<CacheSource[]> {
  const sources: CacheSource[] = [];
  for (const spec of request.cacheFrom ?? []) {
    const name = `importing cache from ${spec.ref ?? spec.dir}`;
    const vertex = startVertex(request.progress, `cache-from:${spec.ref ?? spec.dir}`, name);
    try {
      const source = await CacheSource.open(spec, request.insecureRegistries);
      sources.push(source);
      await importMounts(request, blobs, source);
      vertex.done(`${name} (${source.size} records)`);
    } catch (error) {
      // A cache that cannot be read makes the build slower, never wrong: a warning, as BuildKit.
      vertex.fail(error);
      request.progress({
        type: "warning",
        message: `cache import from ${spec.ref ?? spec.dir} failed: ${(error as Error).message}`,
      });
    }
  }
  return sources;
}

/** Cache mounts an imported cache carries go into empty local cache mount directories. */
async function importMounts(request: BuildRequest, blobs: ContentStore, source: CacheSource): Promise<void> {
  for (const [id, layer] of Object.entries(source.document.mounts ?? {})) {
    try {
      await source.fetchLayer(layer, blobs);
      const outcome = await importCacheMount(request.root, blobs, id, layer);
      request.progress({
        type: "vertex",
        id: `cache-mount:${id}`,
        name: `cache mount ${id}: ${outcome === "imported" ? `imported from ${source.name}` : "local content kept"}`,
        status: "done",
        duration: 0,
      });
    } catch (error) {
      request.progress({
        type: "warning",
        message: `cache mount ${id} not imported from ${source.name}: ${(error as Error).message}`,
      });
    }
  }
}

/** `--cache-to …,mount=ID`: the cache mounts that travel with this export, as layers. */
async function exportMounts(
  request: BuildRequest,
  blobs: ContentStore,
  spec: CacheSpec,
): Promise<Record<string, CachedLayer>> {
  const mounts: Record<string, CachedLayer> = {};
  for (const id of spec.mounts) {
    try {
      const layer = await writeCacheMountLayer(request.root, blobs, id, {
        compression: request.compression,
        level: request.compressionLevel,
      });
      if (layer !== undefined) mounts[id] = layer;
      else
        request.progress({
          type: "warning",
          message: `cache mount ${id} was never used on this machine; not exported`,
        });
    } catch (error) {
      request.progress({
        type: "warning",
        message: `cache mount ${id} not exported: ${(error as Error).message}`,
      });
    }
  }
  return mounts;
}

/** `--cache-to`: mode=max exports every stage's records, mode=min those of the target's own chain. */
async function exportBuildCache(
  request: BuildRequest,
  blobs: ContentStore,
  spec: CacheSpec,
  graph: BuildGraph,
  solved: SolveResult,
): Promise<void> {
  const chain = imageChain(graph);
  const seen = new Set<string>();
  const records = solved.records
    .filter((used) => spec.mode === "max" || chain.has(used.stage))
    .map((used) => used.record)
    .filter((record) => !seen.has(record.key) && seen.add(record.key) !== undefined);
  const name = `exporting cache to ${spec.ref ?? spec.dir} (mode=${spec.mode})`;
  const vertex = startVertex(request.progress, `cache-to:${spec.ref ?? spec.dir}`, name);
  try {
    const mounts = await exportMounts(request, blobs, spec);
    const stats = await exportCache(spec, blobs, records, mounts, { insecure: request.insecureRegistries });
    vertex.done(
      `${name}: ${stats.records} records, ${stats.blobsSent} layers sent, ${stats.blobsSkipped} already there`,
    );
  } catch (error) {
    vertex.fail(error);
    request.progress({
      type: "warning",
      message: `cache export to ${spec.ref ?? spec.dir} failed (the image is fine): ${(error as Error).message}`,
    });
  }
}

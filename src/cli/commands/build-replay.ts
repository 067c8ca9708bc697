/**
 * The build command's side of build replay (build/replay.ts): which invocations may be replayed, the
 * request that keys them, and what a finished build contributes to its record. Kept free of the build
 * pipeline's modules so that a replayed build never loads them.
 */
import { createHash } from "node:crypto";
import { realpathSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { BuildResult } from "../../build/index.js";
import type { ReplayRequest } from "../../build/replay.js";
import type { ReplaySources } from "../../build/replay-record.js";
import { readCacheSettings } from "../../cache/settings.js";
import type { ProgressEvent } from "../../executor/progress.js";
import type { BuildGraph, ResolvedImage } from "../../graph/types.js";
import { formatPlatform, hostPlatform } from "../../image/platform.js";

/**
 * Which Gantry made a record: this code's own file (size and mtime), so a rebuilt or upgraded Gantry never
 * replays what an older one built.
 */
function codeIdentity(): string {
  try {
    const info = statSync(fileURLToPath(import.meta.url));
    return `${info.size}:${info.mtimeMs}`;
  } catch {
    return "unknown";
  }
}

/** The flags of `gantry build` that matter here. */
export interface ReplayableOptions {
  tag: string[];
  target?: string;
  platform?: string;
  cache: boolean;
  pull?: boolean;
  push?: boolean;
  output: string[];
  secret: string[];
  ssh: string[];
  label: string[];
  compression: string;
  compressionLevel?: string;
  explainCache?: boolean;
  snapshotter: string;
  isolation: string;
  insecure?: boolean;
  normalizePermissions?: boolean;
  cacheFrom: string[];
  cacheTo: string[];
}

/**
 * The replay request of an invocation, or undefined when it may not be replayed: it reads secrets, ssh,
 * a remote cache or registry, exports anything but the image, or the data root has a cache size limit
 * (a build prunes then).
 */
export async function replayRequestFor(
  root: string,
  context: string,
  dockerfile: Uint8Array,
  dockerfileInContext: string,
  buildArgs: Record<string, string>,
  opts: ReplayableOptions,
): Promise<ReplayRequest | undefined> {
  if (!opts.cache || opts.pull || opts.push || opts.explainCache) return undefined;
  if (opts.output.length + opts.secret.length + opts.ssh.length > 0) return undefined;
  if (opts.cacheFrom.length + opts.cacheTo.length > 0) return undefined;
  let contextDir: string;
  try {
    contextDir = realpathSync(context);
  } catch {
    return undefined;
  }
  try {
    if ((await readCacheSettings(root)).keepStorage !== undefined) return undefined;
  } catch {
    return undefined; // unreadable settings: the full build reports them
  }
  return {
    version: codeIdentity(),
    contextDir,
    dockerfileText: createHash("sha256").update(dockerfile).digest("hex"),
    dockerfileInContext,
    settings: {
      buildArgs: Object.entries(buildArgs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      target: opts.target ?? null,
      platform: opts.platform ?? formatPlatform(hostPlatform()),
      buildPlatform: formatPlatform(hostPlatform()),
      labels: opts.label,
      compression: opts.compression,
      compressionLevel: opts.compressionLevel ?? null,
      sourceDateEpoch: process.env.SOURCE_DATE_EPOCH ?? null,
      copyScratch: process.env.GANTRY_COPY_SCRATCH ?? null,
      snapshotter: opts.snapshotter,
      isolation: opts.isolation,
      insecure: opts.insecure ?? false,
      normalizePermissions: opts.normalizePermissions ?? false,
    },
    tags: opts.tag,
  };
}

/**
 * Whether a finished build may stand for the next unchanged one: every step cached, nothing pulled, and
 * no ADD of a URL or git repository (whose content can change behind the same Dockerfile line).
 */
export function replayable(result: BuildResult, events: ProgressEvent[]): boolean {
  if (result.cached !== result.steps) return false;
  const remoteSource = result.graph.order.some((index) =>
    result.graph.stages[index]!.steps.some(
      (step) =>
        step.op.kind === "copy" &&
        step.op.sources.some((source) => source.kind === "url" || source.kind === "git"),
    ),
  );
  if (remoteSource) return false;
  return events.every(
    (event) =>
      event.type === "warning" ||
      (event.type === "vertex" &&
        (event.status === "cached" || event.status === "done") &&
        !event.id.startsWith("pull")),
  );
}

/** The images, cache keys and tags a finished build depended on. */
export function replaySources(
  graph: BuildGraph,
  events: ProgressEvent[],
  tags: Array<{ repository: string; tag?: string }>,
  parseRef: (ref: string) => { tag?: string; digest?: string },
): ReplaySources {
  const images = new Map<string, ResolvedImage>();
  const visit = (value: unknown): void => {
    if (value === null || typeof value !== "object") return;
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
      return;
    }
    const record = value as Record<string, unknown>;
    if (record.kind === "image" && typeof record.image === "object" && record.image !== null) {
      const image = record.image as ResolvedImage;
      images.set(`${image.repository}\0${image.ref}`, image);
    }
    for (const child of Object.values(record)) visit(child);
  };
  for (const index of graph.order) visit(graph.stages[index]);
  return {
    images: [...images.values()].map((image) => {
      let ref: { tag?: string; digest?: string };
      try {
        ref = parseRef(image.ref);
      } catch {
        ref = {};
      }
      return {
        repository: image.repository,
        tag: ref.tag,
        digest: ref.digest,
        layers: image.layers,
        manifestDigest: image.manifestDigest,
      };
    }),
    cacheKeys: events.flatMap((event) =>
      event.type === "vertex" && event.cacheKey !== undefined ? [event.cacheKey] : [],
    ),
    tags: tags.map(({ repository, tag }) => ({ repository, tag: tag ?? "latest" })),
  };
}

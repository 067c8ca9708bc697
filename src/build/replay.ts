/**
 * Build replay: a rebuild whose every input is unchanged since a fully cached build of the same request is
 * answered from a record of that build, without compiling the graph, opening the stores or loading the
 * executor. A no-change `gantry build` then costs a process start and one walk of the context, which is
 * what lets a fresh process keep up with a warm BuildKit daemon.
 *
 * What must be unchanged, or the full build runs (and records again if it ends fully cached):
 * - the request (`ReplayRequest`: Dockerfile text, build args, target, platforms, labels, compression,
 *   SOURCE_DATE_EPOCH, tags, isolation…), the Gantry version and this format's version: the record key;
 * - the `.dockerignore` in effect, and every file and directory of the context it does not exclude
 *   (path, type, size, mtime and ctime in ns, inode, mode) — a context fingerprint;
 * - each base image's local tag (the tag file's bytes), the image's manifest, config and layer blobs, the
 *   steps' cache records (touched, as a cached build touches them), and each requested tag pointing at
 *   the image.
 * Recording is replay-record.ts (loaded only by a full build). Records are only made from builds that were
 * fully cached, that read nothing but the context and local
 * images (no secrets, ssh, cache import/export, --pull, --no-cache, outputs), and whose context did not
 * change while they ran; files modified in the last 50 ms are too fresh to be trusted (as the stat cache).
 */
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, statSync, utimesSync } from "node:fs";
import { join } from "node:path";
import type { ProgressEvent } from "../executor/progress.js";
import { IgnoreMatcher, parseDockerignore } from "../frontend/dockerignore.js";
import type { Descriptor, Digest } from "../image/store-types.js";

export const REPLAY_FORMAT = 1;
const RACY_WINDOW_NS = 50_000_000n;

/** Everything of a build request that decides its result (JSON-serialisable). */
export interface ReplayRequest {
  version: string;
  /** Absolute, symlink-free context directory. */
  contextDir: string;
  dockerfileText: string;
  dockerfileInContext: string;
  settings: Record<string, unknown>;
  tags: string[];
}

/** What a replay needs to answer like the build it stands for. */
export interface ReplayOutcome {
  digest: Digest;
  size: number;
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
  stored: string[];
  steps: number;
  cached: number;
  /** The build's progress events (vertices as `cached`/`done`, warnings), without timings. */
  events: ProgressEvent[];
}

export interface ReplayRecord extends ReplayOutcome {
  format: number;
  contextFingerprint: string;
  /** Root-relative tag files of the base images and their exact bytes. */
  baseTags: Array<{ path: string; text: string }>;
  /** Root-relative files that must exist: blobs of the image and of the bases, cache records. */
  required: string[];
  /** Root-relative files to touch (cache records' last use). */
  touch: string[];
  /** Root-relative tag files of the requested tags and the digest each must name. */
  tagFiles: Array<{ path: string; digest: string }>;
}

/** Where the record of a request lives. */
export function recordPath(root: string, request: ReplayRequest): string {
  const key = createHash("sha256")
    .update(JSON.stringify({ format: REPLAY_FORMAT, ...request }))
    .digest("hex");
  return join(root, "cache", "replay", `${key}.json`);
}

/** The `.dockerignore` the frontend applies (`<Dockerfile>.dockerignore` first), as text and matcher. */
function readIgnore(request: ReplayRequest): { text: string; matcher: IgnoreMatcher } {
  for (const name of [`${request.dockerfileInContext}.dockerignore`, ".dockerignore"]) {
    let text: string;
    try {
      text = readFileSync(join(request.contextDir, name), "utf8");
    } catch {
      continue;
    }
    return { text: `${name}\n${text}`, matcher: new IgnoreMatcher(parseDockerignore(text, name)) };
  }
  return { text: "", matcher: new IgnoreMatcher([]) };
}

/**
 * A digest of the context's state: every entry the ignore rules keep, with its identity. Returns
 * undefined when an entry is too fresh to trust (`freshBeforeNs`) or the walk fails.
 */
export function contextFingerprint(request: ReplayRequest, freshAfterNs?: bigint): string | undefined {
  const { text, matcher } = readIgnore(request);
  const hash = createHash("sha256").update(text).update("\0");
  let fresh = false;
  const walk = (rel: string): void => {
    const abs = rel === "" ? request.contextDir : join(request.contextDir, rel);
    const names = readdirSync(abs).sort();
    for (const name of names) {
      const child = rel === "" ? name : `${rel}/${name}`;
      const info = lstatSync(join(request.contextDir, child), { bigint: true });
      const ignored = matcher.matches(child);
      if (info.isDirectory()) {
        if (!ignored) hash.update(`d ${child} ${info.mode} ${info.ino}\n`);
        if (!ignored || matcher.mayHaveIncludedDescendants(child)) walk(child);
        continue;
      }
      if (ignored) continue;
      if (freshAfterNs !== undefined && (info.mtimeNs > freshAfterNs || info.ctimeNs > freshAfterNs)) {
        fresh = true;
      }
      hash.update(`${info.isFile() ? "f" : "o"} ${child} ${info.mode} ${info.size} ${info.mtimeNs} `);
      hash.update(`${info.ctimeNs} ${info.ino}\n`);
    }
  };
  try {
    walk("");
  } catch {
    return undefined;
  }
  return fresh ? undefined : hash.digest("hex");
}

/** The recorded outcome if every input is unchanged; undefined (→ run the build) otherwise. */
export function tryReplay(root: string, request: ReplayRequest): ReplayOutcome | undefined {
  let record: ReplayRecord;
  try {
    record = JSON.parse(readFileSync(recordPath(root, request), "utf8")) as ReplayRecord;
  } catch {
    return undefined;
  }
  if (record.format !== REPLAY_FORMAT) return undefined;
  try {
    for (const base of record.baseTags) {
      if (readFileSync(join(root, base.path), "utf8") !== base.text) return undefined;
    }
    for (const tag of record.tagFiles) {
      const named = JSON.parse(readFileSync(join(root, tag.path), "utf8")) as { digest?: string };
      if (named.digest !== tag.digest) return undefined;
    }
    for (const path of record.required) if (!statSync(join(root, path)).isFile()) return undefined;
  } catch {
    return undefined;
  }
  if (contextFingerprint(request) !== record.contextFingerprint) return undefined;
  const now = new Date();
  for (const path of record.touch) {
    try {
      utimesSync(join(root, path), now, now);
    } catch {
      return undefined;
    }
  }
  const {
    format: _f,
    contextFingerprint: _c,
    baseTags: _b,
    required: _r,
    touch: _t,
    tagFiles: _g,
    ...outcome
  } = record;
  return outcome;
}

/** Wall clock in ns, for `contextFingerprint`'s freshness bound. */
export function freshnessBound(): bigint {
  return BigInt(Date.now()) * 1_000_000n - RACY_WINDOW_NS;
}

/**
 * The content digest of what a COPY/ADD selects: sha256 over canonical JSON of every selected entry in
 * order (its path as it will appear under the destination, type, permission bits, size, content sha256,
 * symlink target, hard-link peer, and owner where the copy keeps it) — never mtime or ctime, never what
 * `--chmod`/`--chown` overrides. The per-file list lets a cache miss name the file that changed. Content
 * is hashed streaming, a few files at a time, and not at all when the stat cache knows the file.
 */

import { createHash } from "node:crypto";
import { canonicalJson } from "../cache/key.js";
import type { IgnoreMatcher } from "../frontend/dockerignore.js";
import type { CopyOp } from "../graph/types.js";
import type { Digest } from "../image/store-types.js";
import {
  type HashCounters,
  hashFile,
  hashSmallFileSync,
  mapLimit,
  newHashCounters,
  SMALL_FILE,
} from "./file-hash.js";
import { resolveGitCommit } from "./git-source.js";
import { type SelectedEntry, type SelectedItem, selectSources } from "./select.js";
import { nowNs, type StatCache } from "./stat-cache.js";

export interface DigestOptions {
  /** The context's `.dockerignore` (context sources only). */
  ignore?: IgnoreMatcher;
  ignoreFile?: string;
  /** Remembered content digests by source path (context sources only). */
  statCache?: StatCache;
  /** Map permission bits to 0644 / 0755 (if any x bit) for files and 0755 for directories, as git does. */
  normalizePermissions?: boolean;
  /** Whether the copy keeps the sources' uid/gid (default: not for the context, whose files become 0:0). */
  preserveOwnership?: boolean;
  /** Files hashed at a time (default 8). */
  concurrency?: number;
  /** Incremented with what was read. */
  counters?: HashCounters;
}

/** One selected entry as the digest saw it. */
export interface SourceFileDigest {
  /** Path under the destination (`.` for the destination itself); heredocs/URLs by name/URL. */
  path: string;
  /** sha256 of this entry's canonical record (content, mode, type, …). */
  digest: Digest;
  mode: number;
  type: string;
  /** sha256 of a regular file's content. */
  contentDigest?: Digest;
}

export interface SourcesDigest {
  digest: Digest;
  files: SourceFileDigest[];
  /** What was selected (reusable by applyCopy to avoid a second walk while nothing changed). */
  items: SelectedItem[];
  counters: HashCounters;
}

type Canonical = string | number | boolean | null | Canonical[] | { [key: string]: Canonical };

function sha256(text: string): Digest {
  return `sha256:${createHash("sha256").update(text).digest("hex")}` as Digest;
}

/** git's view of permissions: 0755 if any execute bit, else 0644; directories 0755. */
export function normalizedMode(type: string, mode: number): number {
  if (type === "directory") return 0o755;
  if (type === "symlink") return 0o777;
  return mode & 0o111 ? 0o755 : 0o644;
}

function joinDest(prefix: string, rel: string): string {
  const path = prefix === "" ? rel : rel === "" ? prefix : `${prefix}/${rel}`;
  return path === "" ? "." : path;
}

export async function digestSources(
  op: CopyOp,
  sourceRoot: string,
  options: DigestOptions = {},
): Promise<SourcesDigest> {
  const counters = options.counters ?? newHashCounters();
  const items = await selectSources(op, sourceRoot, {
    ignore: options.ignore,
    ignoreFile: options.ignoreFile,
  });
  const contents = await hashContents(items, options, counters);
  const keepMode = op.chmod === undefined;
  const keepOwner = op.chown === undefined && (options.preserveOwnership ?? op.from.kind !== "context");
  // The whole digest is sha256 over `{"v":1,"entries":[e1,e2,…]}`, each entry canonical JSON: for
  // path sources a positional array (cheap for 100k entries), for the others a key-sorted object.
  const whole = createHash("sha256").update('{"v":1,"entries":[');
  const files: SourceFileDigest[] = [];
  const add = (text: string, path: string, type: string, mode: number, contentHex?: string | null) => {
    whole.update(files.length === 0 ? text : `,${text}`);
    const file: SourceFileDigest = { path, digest: sha256(text), mode, type };
    if (typeof contentHex === "string") file.contentDigest = `sha256:${contentHex}` as Digest;
    files.push(file);
  };
  for (const [index, source] of op.sources.entries()) {
    if (source.kind === "heredoc") {
      const content = createHash("sha256").update(source.content).digest("hex");
      const size = Buffer.byteLength(source.content);
      const record = { source: index, kind: "heredoc", path: source.name, sha256: content, size };
      add(canonicalJson(record), source.name, "file", 0o644, content);
    } else if (source.kind === "url") {
      const record = { source: index, kind: "url", url: source.url, checksum: op.checksum ?? null };
      add(canonicalJson(record), source.url, "file", 0o600);
    } else if (source.kind === "git") {
      // Keyed by the commit the ref names now: a moved branch or tag is a new key (as BuildKit).
      const commit = await resolveGitCommit(source);
      const record = {
        source: index,
        kind: "git",
        url: source.url,
        commit,
        subdir: source.subdir ?? null,
        keepGitDir: op.keepGitDir === true,
      };
      add(canonicalJson(record), source.url, "directory", 0o755);
    }
  }
  for (const item of items) {
    const links = new Map<string, string>();
    const entryRecord = (entry: SelectedEntry, path: string) => {
      const { info } = entry;
      const mode = options.normalizePermissions ? normalizedMode(info.type, info.mode) : info.mode;
      let sha: string | null = null;
      let hardlink: string | null = null;
      if (info.type === "file") {
        sha = contents.get(entry.abs) ?? null;
        if (info.nlink > 1) {
          const key = `${info.dev}:${info.ino}`;
          hardlink = links.get(key) ?? null;
          if (hardlink === null) links.set(key, path);
        }
      }
      const isDevice = info.type === "character-device" || info.type === "block-device";
      // [source, path, type, mode, uid, gid, size, sha256, symlink target, hard link, rdev]
      const record: Canonical[] = [
        item.sourceIndex,
        path,
        info.type,
        keepMode && info.type !== "symlink" ? mode : null,
        keepOwner ? info.uid : null,
        keepOwner ? info.gid : null,
        info.type === "file" ? info.size : null,
        sha,
        entry.linkTarget ?? null,
        hardlink,
        isDevice ? info.rdev : null,
      ];
      add(JSON.stringify(record), path, info.type, mode, sha);
    };
    for (const parent of item.parents) entryRecord(parent, joinDest(parent.rel, ""));
    for (const entry of item.entries) entryRecord(entry, joinDest(item.destPath, entry.rel));
  }
  const digest = `sha256:${whole.update("]}").digest("hex")}` as Digest;
  return { digest, files, items, counters };
}

/** sha256 hex of every selected regular file, by host path (stat cache first, then streaming reads). */
async function hashContents(
  items: SelectedItem[],
  options: DigestOptions,
  counters: HashCounters,
): Promise<Map<string, string>> {
  const contents = new Map<string, string>();
  const pending: SelectedEntry[] = [];
  for (const item of items) {
    for (const entry of item.entries) {
      if (entry.info.type !== "file" || contents.has(entry.abs)) continue;
      const known = options.statCache?.lookup(entry.sourcePath, entry.info);
      if (known !== undefined) contents.set(entry.abs, known);
      else {
        contents.set(entry.abs, "");
        pending.push(entry);
      }
    }
  }
  const small = pending.filter((entry) => entry.info.size <= SMALL_FILE);
  const large = pending.filter((entry) => entry.info.size > SMALL_FILE);
  const streamed = mapLimit(large, options.concurrency ?? 4, async (entry) => {
    const started = nowNs();
    const hex = await hashFile(entry.abs, counters, entry.info.size);
    contents.set(entry.abs, hex);
    options.statCache?.remember(entry.sourcePath, entry.info, hex, started);
  });
  for (const [i, entry] of small.entries()) {
    if (i % 256 === 255) await new Promise((resolve) => setImmediate(resolve));
    const started = nowNs();
    const hex =
      hashSmallFileSync(entry.abs, counters) ?? (await hashFile(entry.abs, counters, entry.info.size));
    contents.set(entry.abs, hex);
    options.statCache?.remember(entry.sourcePath, entry.info, hex, started);
  }
  await streamed;
  return contents;
}

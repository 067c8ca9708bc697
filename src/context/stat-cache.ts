/**
 * The persistent stat cache of a build context: for every file hashed before, its size, mtime and ctime
 * (ns), inode and mode, and the sha256 of its content. A file whose lstat still shows the same values is
 * not read again. Stored as one JSON file per context directory under the data root
 * (`<root>/context-cache/<sha256 of the absolute context path>.json`), written atomically; a missing,
 * foreign or corrupt file is an empty cache. Racily-clean files (modified so shortly before they were
 * hashed that a later write could keep the same mtime) are not remembered, as git does.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../image/atomic-file.js";

const VERSION = 1;
/** A file modified less than this before it was hashed may change again within the same mtime tick. */
const RACY_WINDOW_NS = 50_000_000n;
/** Entries not used by the last build are dropped once the cache holds more than this. */
const MAX_ENTRIES = 250_000;

/** What identifies an unchanged file. */
export interface FileIdentity {
  size: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
  ino: bigint;
  mode: number;
}

/** [size, mtimeNs, ctimeNs, ino, mode, sha256 hex] — compact, as a context can have 100k files. */
type StoredEntry = [number, string, string, string, number, string];

interface StoredCache {
  version: number;
  context: string;
  entries: Record<string, StoredEntry>;
}

export class StatCache {
  private readonly entries: Map<string, StoredEntry>;
  private readonly used = new Set<string>();
  private dirty = false;

  private constructor(
    readonly file: string | undefined,
    readonly contextDir: string,
    entries: Map<string, StoredEntry>,
  ) {
    this.entries = entries;
  }

  /** The cache file for a context under a data root. */
  static pathFor(dataRoot: string, contextDir: string): string {
    const hex = createHash("sha256").update(contextDir).digest("hex");
    return join(dataRoot, "context-cache", `${hex}.json`);
  }

  /** An in-memory cache that is never saved. */
  static memory(contextDir: string): StatCache {
    return new StatCache(undefined, contextDir, new Map());
  }

  /** Loads the cache file (or starts empty). */
  static async load(file: string, contextDir: string): Promise<StatCache> {
    const entries = new Map<string, StoredEntry>();
    try {
      const stored = JSON.parse(await readFile(file, "utf8")) as StoredCache;
      if (stored.version === VERSION && stored.context === contextDir && typeof stored.entries === "object") {
        for (const [path, entry] of Object.entries(stored.entries)) {
          if (Array.isArray(entry) && entry.length === 6) entries.set(path, entry);
        }
      }
    } catch {
      // missing or unreadable: start empty
    }
    return new StatCache(file, contextDir, entries);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The remembered sha256 (hex) of `path` if its identity is unchanged. */
  lookup(path: string, id: FileIdentity): string | undefined {
    const entry = this.entries.get(path);
    if (entry === undefined) return undefined;
    if (
      entry[0] !== id.size ||
      entry[1] !== String(id.mtimeNs) ||
      entry[2] !== String(id.ctimeNs) ||
      entry[3] !== String(id.ino) ||
      entry[4] !== id.mode
    ) {
      return undefined;
    }
    this.used.add(path);
    return entry[5];
  }

  /** Remembers a digest computed after `hashStartedNs` (wall clock, ns) unless the file is racily clean. */
  remember(path: string, id: FileIdentity, sha256Hex: string, hashStartedNs: bigint): void {
    this.used.add(path);
    if (hashStartedNs - id.mtimeNs < RACY_WINDOW_NS || hashStartedNs - id.ctimeNs < RACY_WINDOW_NS) {
      if (this.entries.delete(path)) this.dirty = true;
      return;
    }
    this.entries.set(path, [
      id.size,
      String(id.mtimeNs),
      String(id.ctimeNs),
      String(id.ino),
      id.mode,
      sha256Hex,
    ]);
    this.dirty = true;
  }

  /** Writes the cache atomically if anything changed. */
  async save(): Promise<void> {
    if (this.file === undefined || !this.dirty) return;
    let keep = [...this.entries];
    if (keep.length > MAX_ENTRIES) keep = keep.filter(([path]) => this.used.has(path));
    const stored: StoredCache = {
      version: VERSION,
      context: this.contextDir,
      entries: Object.fromEntries(keep),
    };
    await writeFileAtomic(this.file, JSON.stringify(stored));
    this.dirty = false;
  }
}

/** Wall clock in ns (for the racy-clean check). */
export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/**
 * The data root as an OCI image layout, so skopeo (`oci:ROOT:REF`), umoci (`--image ROOT:REF`) and other
 * standard tools read built images without Gantry running: the `oci-layout` marker, the shared
 * `blobs/<alg>/<hex>` (written by the content store), and `index.json` listing every tagged manifest with
 * `org.opencontainers.image.ref.name` = `<repository>:<tag>` (e.g. `library/app:1`). index.json is only
 * ever derived from the tag links, rewritten atomically after each tag change; rewrites are coalesced and
 * serialised in-process and across processes by a lock file (`index.json.lock`).
 */
import { readFile, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { isProcessAlive, writeFileAtomic } from "./atomic-file.js";
import { OCI_INDEX } from "./media-types.js";
import type { Descriptor } from "./store-types.js";

export const OCI_LAYOUT_FILE = "oci-layout";
export const OCI_INDEX_FILE = "index.json";
export const REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name";
export const OCI_LAYOUT_CONTENT = `${JSON.stringify({ imageLayoutVersion: "1.0.0" })}\n`;

/** The ref name a tag gets in the layout's index.json (works for both skopeo and umoci). */
export function layoutRefName(repository: string, tag: string): string {
  return `${repository}:${tag}`;
}

/**
 * The image-spec grammar for ref names, which skopeo and umoci enforce when a ref is asked for:
 * `component ("/" component)*`, `component ::= [A-Za-z0-9]+ (separator [A-Za-z0-9]+)*`,
 * `separator ::= [-._:@+] | "--"`. Distribution-spec names and tags are looser (`a__b`, `a---b`, tags
 * like `_x`, `v1.`, `a__b`): such tags are still listed in index.json but tools cannot select them by name.
 */
export const REF_NAME_PATTERN =
  /^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:\/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$/;

/** Whether skopeo (`oci:ROOT:REF`) and umoci (`--image ROOT:REF`) can select this tag by name. */
export function isToolAddressable(repository: string, tag: string): boolean {
  return REF_NAME_PATTERN.test(layoutRefName(repository, tag));
}

export interface TaggedManifest {
  repository: string;
  tag: string;
  manifest: Descriptor;
}

export interface LayoutLockOptions {
  /** Give up waiting for another process's lock after this long (default 30 s). */
  timeoutMs?: number;
  /** A lock whose holder pid is gone is taken over once it is this old (default 2 s). */
  deadHolderGraceMs?: number;
  /** A lock this old is taken over whoever holds it (default 60 s). */
  maxLockAgeMs?: number;
}

/** Keeps `<root>/oci-layout` and `<root>/index.json` in step with the repositories' tags. */
export class OciLayoutIndex {
  readonly root: string;
  private readonly collect: () => Promise<TaggedManifest[]>;
  private readonly lockOptions: LayoutLockOptions;
  /** Tail of the in-process rewrite chain. */
  private chain: Promise<void> = Promise.resolve();
  /** A queued rewrite that has not started reading yet: later requests can share it. */
  private queued: Promise<void> | undefined;
  /** When this process last released the lock (ms since the epoch). */
  private releasedAt = 0;

  constructor(root: string, collect: () => Promise<TaggedManifest[]>, lockOptions: LayoutLockOptions = {}) {
    this.root = root;
    this.collect = collect;
    this.lockOptions = lockOptions;
  }

  get indexPath(): string {
    return join(this.root, OCI_INDEX_FILE);
  }

  /** Writes the `oci-layout` marker if it is missing or wrong. */
  async ensureMarker(): Promise<void> {
    const path = join(this.root, OCI_LAYOUT_FILE);
    const current = await readFile(path, "utf8").catch(() => undefined);
    if (current !== undefined) {
      try {
        if (JSON.parse(current).imageLayoutVersion === "1.0.0") return;
      } catch {
        // rewrite below
      }
    }
    await writeFileAtomic(path, OCI_LAYOUT_CONTENT);
  }

  /**
   * Rewrites index.json from the current tags. Resolves once a rewrite that started after this call has
   * finished, so the file reflects every tag change made before calling.
   */
  /**
   * Repairs index.json if it does not match the tags (a crash between a tag change and its rewrite);
   * when it matches, as it nearly always does, nothing is locked or written.
   */
  async refresh(): Promise<void> {
    const [current, tagged] = await Promise.all([
      readFile(this.indexPath, "utf8").catch(() => undefined),
      this.collect(),
    ]);
    if (current !== OciLayoutIndex.render(tagged)) await this.update();
  }

  update(): Promise<void> {
    if (this.queued) return this.queued;
    const run = this.chain.then(async () => {
      // Right after our own rewrite, leave the lock free for a moment: other processes poll for it at most
      // every 80 ms, and a busy registry rewriting back to back would otherwise starve them (a `gantry
      // registry gc` or `gantry build -t` next to a server under pushes). Requests meanwhile share this run.
      const sinceRelease = Date.now() - this.releasedAt;
      if (sinceRelease < LOCK_YIELD_MS) await sleep(LOCK_YIELD_MS - sinceRelease);
      this.queued = undefined;
      return this.rewriteLocked();
    });
    this.queued = run;
    this.chain = run.catch(() => {});
    return run;
  }

  /** The index document for a set of tagged manifests (sorted by ref name, so rewrites are stable). */
  static render(tagged: TaggedManifest[]): string {
    const manifests = tagged
      .map(({ repository, tag, manifest }) => ({
        mediaType: manifest.mediaType,
        digest: manifest.digest,
        size: manifest.size,
        annotations: { [REF_NAME_ANNOTATION]: layoutRefName(repository, tag) },
      }))
      .sort((a, b) => compare(a.annotations[REF_NAME_ANNOTATION], b.annotations[REF_NAME_ANNOTATION]));
    return `${JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }, null, 2)}\n`;
  }

  private async rewriteLocked(): Promise<void> {
    const release = await this.acquireLock();
    try {
      const tagged = await this.collect();
      await writeFileAtomic(this.indexPath, OciLayoutIndex.render(tagged));
    } finally {
      await release();
      this.releasedAt = Date.now();
    }
  }

  private async acquireLock(): Promise<() => Promise<void>> {
    const lockPath = join(this.root, `${OCI_INDEX_FILE}.lock`);
    const timeoutMs = this.lockOptions.timeoutMs ?? 30_000;
    const graceMs = this.lockOptions.deadHolderGraceMs ?? 2_000;
    const maxAgeMs = this.lockOptions.maxLockAgeMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    const token = `${process.pid}\n`;
    for (let attempt = 0; ; attempt++) {
      try {
        await writeFile(lockPath, token, { flag: "wx" });
        return async () => {
          await unlink(lockPath).catch(() => {});
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      const holder = await readFile(lockPath, "utf8").catch(() => "");
      const info = await stat(lockPath).catch(() => undefined);
      if (info) {
        const age = Date.now() - info.mtimeMs;
        const pid = Number.parseInt(holder, 10);
        const holderDead =
          holder !== "" && Number.isInteger(pid) && pid !== process.pid && !isProcessAlive(pid);
        if ((holderDead && age >= graceMs) || age >= maxAgeMs) {
          await unlink(lockPath).catch(() => {});
          continue;
        }
      }
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${lockPath} (held by pid ${holder.trim()})`);
      await sleep(Math.min(5 * 2 ** Math.min(attempt, 4), 80));
    }
  }
}

/** How long a process leaves the lock free after releasing it before taking it again (see `update`). */
const LOCK_YIELD_MS = 100;

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

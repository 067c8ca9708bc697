/**
 * Per-repository metadata of the data root, under `<root>/repositories/<name>/` (name validated, so it is
 * a safe relative path). Every fact is one small file, so every mutation is one atomic create/rename/unlink
 * and concurrent requests never corrupt each other:
 *
 *   _manifests/revisions/<alg>/<hex>   ManifestRecord JSON (the manifest is linked into the repository)
 *   _manifests/tags/<tag>              Descriptor JSON of the tagged manifest (listing tags = one readdir)
 *   _layers/<alg>/<hex>                the blob is linked into the repository
 *   _referrers/<alg>/<subject hex>/<alg>-<hex>   referrer descriptor JSON (listing referrers = one readdir)
 *
 * Repository components never start with `_`, so these directories cannot collide with nested repository
 * names. After each tag change the OCI layout's index.json is rewritten (oci-layout.ts).
 */
import { readFileSync, statSync } from "node:fs";
import { mkdir, readdir, stat, unlink } from "node:fs/promises";
import { join, relative, resolve, sep } from "node:path";
import { fsyncDirectory, isTempFileName, removeStaleTempFiles, writeFileAtomic } from "./atomic-file.js";
import { type DigestAlgorithm, parseDigest } from "./digest.js";
import { ManifestUnknownError, NameInvalidError } from "./errors.js";
import { validateRepositoryName, validateTag } from "./names.js";
import { type LayoutLockOptions, OciLayoutIndex, type TaggedManifest } from "./oci-layout.js";
import type { Descriptor, Digest, ManifestRecord, RepositoryStore } from "./store-types.js";
import { storedDescriptor, storedManifestRecord } from "./stored-documents.js";

export { validateRepositoryName, validateTag } from "./names.js";

const ALGORITHMS: readonly DigestAlgorithm[] = ["sha256", "sha512"];

export interface RepositoryStoreOptions {
  /** Keep the OCI layout (oci-layout, index.json) of the data root up to date (default true). */
  maintainOciLayout?: boolean;
  layoutLock?: LayoutLockOptions;
}

export class FsRepositoryStore implements RepositoryStore {
  readonly root: string;
  readonly repositoriesDir: string;
  readonly layout: OciLayoutIndex | undefined;
  /** The last index.json rewrite failure after a tag change, if the latest attempt failed. */
  lastLayoutError: Error | undefined;

  constructor(root: string, options: RepositoryStoreOptions = {}) {
    this.root = resolve(root);
    this.repositoriesDir = join(this.root, "repositories");
    this.layout =
      options.maintainOciLayout === false
        ? undefined
        : new OciLayoutIndex(this.root, () => this.listTaggedManifests(), options.layoutLock);
  }

  /** Opens the store, creating the directories and the OCI layout files, and rebuilds index.json. */
  static async open(root: string, options: RepositoryStoreOptions = {}): Promise<FsRepositoryStore> {
    const store = new FsRepositoryStore(root, options);
    await mkdir(store.repositoriesDir, { recursive: true });
    if (store.layout) {
      await store.layout.ensureMarker();
      await store.layout.refresh();
    }
    return store;
  }

  /** Rebuilds the data root's index.json from the tag links (throws if it cannot). */
  async rebuildOciIndex(): Promise<void> {
    await this.layout?.update();
  }

  /**
   * Rewrites index.json after a tag change. The tag change itself has happened, so a failure here does not
   * fail it: index.json is derived and is repaired by the next rewrite or open. It is reported as a
   * process warning and kept in `lastLayoutError`.
   */
  private async updateLayout(): Promise<void> {
    if (!this.layout) return;
    try {
      await this.layout.update();
      this.lastLayoutError = undefined;
    } catch (error) {
      this.lastLayoutError = error as Error;
      process.emitWarning(`gantry: could not rewrite ${this.layout.indexPath}: ${(error as Error).message}`);
    }
  }

  // ---- paths -------------------------------------------------------------------------------------------

  /** The repository's directory; the name is validated and the result checked to lie inside the root. */
  repositoryDir(repo: string): string {
    validateRepositoryName(repo);
    const dir = resolve(this.repositoriesDir, ...repo.split("/"));
    const rel = relative(this.repositoriesDir, dir);
    if (rel === "" || rel.startsWith("..") || rel.split(sep).some((part) => part === ".." || part === "")) {
      throw new NameInvalidError(repo, "resolves outside the repositories directory");
    }
    return dir;
  }

  private revisionPath(repo: string, digest: string): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(this.repositoryDir(repo), "_manifests", "revisions", algorithm, hex);
  }

  private tagsDir(repo: string): string {
    return join(this.repositoryDir(repo), "_manifests", "tags");
  }

  private tagPath(repo: string, tag: string): string {
    return join(this.tagsDir(repo), validateTag(tag));
  }

  /** The tag file of `repo:tag` in the store under data root `root`, without opening it. */
  static tagPathIn(root: string, repo: string, tag: string): string {
    return new FsRepositoryStore(root, { maintainOciLayout: false }).tagPath(repo, tag);
  }

  private layerPath(repo: string, digest: string): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(this.repositoryDir(repo), "_layers", algorithm, hex);
  }

  private referrersDir(repo: string, subject: string): string {
    const { algorithm, hex } = parseDigest(subject);
    return join(this.repositoryDir(repo), "_referrers", algorithm, hex);
  }

  // ---- repositories --------------------------------------------------------------------------------------

  /** Whether anything (a manifest or a blob link) was ever stored for `repo`. */
  async repositoryExists(repo: string): Promise<boolean> {
    const dir = this.repositoryDir(repo);
    for (const marker of ["_manifests", "_layers"]) {
      if (await isDirectory(join(dir, marker))) return true;
    }
    return false;
  }

  async listRepositories(): Promise<string[]> {
    const found: string[] = [];
    const walk = async (dir: string, prefix: string): Promise<void> => {
      const entries = await readdir(dir, { withFileTypes: true }).catch(ignoreMissing);
      if (!entries) return;
      if (
        prefix !== "" &&
        entries.some((e) => e.isDirectory() && (e.name === "_manifests" || e.name === "_layers"))
      ) {
        found.push(prefix);
      }
      for (const entry of entries) {
        if (!entry.isDirectory() || entry.name.startsWith("_") || entry.name.startsWith(".")) continue;
        const name = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
        await walk(join(dir, entry.name), name);
      }
    };
    await walk(this.repositoriesDir, "");
    return found.sort(compare);
  }

  // ---- tags ----------------------------------------------------------------------------------------------

  async listTags(repo: string): Promise<string[]> {
    const dir = this.tagsDir(repo);
    const names = (await readdir(dir).catch(ignoreMissing)) ?? [];
    // Leftover temp files of a crashed writer: tidy them up on the side (they are never listed).
    if (names.some(isTempFileName)) void removeStaleTempFiles(dir).catch(() => {});
    return names.filter((name) => !name.startsWith(".")).sort(compare);
  }

  async resolveTag(repo: string, tag: string): Promise<Descriptor | undefined> {
    const parsed = readDescriptor(this.tagPath(repo, tag));
    if (parsed === undefined) return undefined;
    // A tag whose manifest was unlinked concurrently is dangling: treat it as absent.
    if (!(await exists(this.revisionPath(repo, parsed.digest)))) return undefined;
    return parsed;
  }

  async setTag(repo: string, tag: string, manifest: Descriptor): Promise<void> {
    const path = this.tagPath(repo, tag);
    const digest = parseDigest(manifest.digest).digest;
    if (!(await exists(this.revisionPath(repo, digest)))) throw new ManifestUnknownError(digest);
    const descriptor = { mediaType: manifest.mediaType, digest, size: manifest.size };
    const text = JSON.stringify(descriptor);
    // Re-tagging to what the tag already says (every no-change rebuild) writes nothing.
    if (readSmall(path) === text) return;
    await writeFileAtomic(path, text);
    await this.updateLayout();
  }

  async deleteTag(repo: string, tag: string): Promise<boolean> {
    const removed = await removeFile(this.tagPath(repo, tag));
    if (removed) await this.updateLayout();
    return removed;
  }

  // ---- manifests -----------------------------------------------------------------------------------------

  async linkManifest(repo: string, record: ManifestRecord): Promise<void> {
    const digest = parseDigest(record.digest).digest;
    const subject = record.subject === undefined ? undefined : parseDigest(record.subject).digest;
    const stored: ManifestRecord = { ...record, digest, subject };
    // The referrer link goes first: a crash in between leaves a harmless extra link, never a manifest
    // that is linked but missing from its subject's referrers.
    if (subject !== undefined) {
      const { algorithm, hex } = parseDigest(digest);
      await writeFileAtomic(
        join(this.referrersDir(repo, subject), `${algorithm}-${hex}`),
        JSON.stringify(referrerDescriptor(stored)),
      );
    }
    const text = JSON.stringify(stored);
    const path = this.revisionPath(repo, digest);
    if (readSmall(path) === text) return;
    await writeFileAtomic(path, text);
  }

  async getManifest(repo: string, digest: Digest): Promise<ManifestRecord | undefined> {
    const text = readSmall(this.revisionPath(repo, digest));
    if (text === undefined) return undefined;
    return storedManifestRecord(safeJson(text));
  }

  async unlinkManifest(repo: string, digest: Digest): Promise<boolean> {
    const canonical = parseDigest(digest).digest;
    const record = await this.getManifest(repo, canonical);
    let tagsRemoved = 0;
    for (const tag of await this.listTags(repo)) {
      const target = readDescriptor(this.tagPath(repo, tag));
      if (
        target !== undefined &&
        target.digest === canonical &&
        (await removeFile(this.tagPath(repo, tag)))
      ) {
        tagsRemoved++;
      }
    }
    if (record?.subject !== undefined) {
      const { algorithm, hex } = parseDigest(canonical);
      await removeFile(join(this.referrersDir(repo, record.subject), `${algorithm}-${hex}`));
    }
    const removed = await removeFile(this.revisionPath(repo, canonical));
    if (tagsRemoved > 0) await this.updateLayout();
    return removed;
  }

  async listManifests(repo: string): Promise<ManifestRecord[]> {
    const records: ManifestRecord[] = [];
    for (const algorithm of ALGORITHMS) {
      const dir = join(this.repositoryDir(repo), "_manifests", "revisions", algorithm);
      const names = (await readdir(dir).catch(ignoreMissing)) ?? [];
      for (const hex of names.sort(compare)) {
        if (hex.startsWith(".")) continue;
        const record = await this.getManifest(repo, `${algorithm}:${hex}`).catch(() => undefined);
        if (record) records.push(record);
      }
    }
    return records;
  }

  // ---- blob links ----------------------------------------------------------------------------------------

  async linkBlob(repo: string, digest: Digest): Promise<void> {
    const path = this.layerPath(repo, digest);
    if (await exists(path)) return;
    await writeFileAtomic(path, parseDigest(digest).digest);
  }

  async isBlobLinked(repo: string, digest: Digest): Promise<boolean> {
    return exists(this.layerPath(repo, digest));
  }

  async unlinkBlob(repo: string, digest: Digest): Promise<boolean> {
    return removeFile(this.layerPath(repo, digest));
  }

  /** Every blob linked into `repo` (for garbage collection). */
  async listLinkedBlobs(repo: string): Promise<Digest[]> {
    const digests: Digest[] = [];
    for (const algorithm of ALGORITHMS) {
      const names =
        (await readdir(join(this.repositoryDir(repo), "_layers", algorithm)).catch(ignoreMissing)) ?? [];
      for (const hex of names.sort(compare)) if (!hex.startsWith(".")) digests.push(`${algorithm}:${hex}`);
    }
    return digests;
  }

  // ---- referrers -----------------------------------------------------------------------------------------

  async listReferrers(repo: string, subject: Digest): Promise<Descriptor[]> {
    const dir = this.referrersDir(repo, subject);
    const names = (await readdir(dir).catch(ignoreMissing)) ?? [];
    const referrers: Descriptor[] = [];
    for (const name of names.sort(compare)) {
      if (name.startsWith(".")) continue;
      const parsed = readDescriptor(join(dir, name));
      if (parsed === undefined) continue;
      // Skip links whose manifest has gone (crash between the two unlinks).
      if (!(await exists(this.revisionPath(repo, parsed.digest)))) continue;
      referrers.push(parsed);
    }
    return referrers;
  }

  // ---- OCI layout ----------------------------------------------------------------------------------------

  /** Every (repository, tag) → manifest, the source index.json is derived from. */
  async listTaggedManifests(): Promise<TaggedManifest[]> {
    const tagged: TaggedManifest[] = [];
    for (const repository of await this.listRepositories()) {
      for (const tag of await this.listTags(repository)) {
        const manifest = await this.resolveTag(repository, tag);
        if (manifest) tagged.push({ repository, tag, manifest });
      }
    }
    return tagged;
  }
}

function referrerDescriptor(record: ManifestRecord): Descriptor {
  const descriptor: Descriptor = { mediaType: record.mediaType, digest: record.digest, size: record.size };
  if (record.artifactType !== undefined) descriptor.artifactType = record.artifactType;
  if (record.annotations !== undefined) descriptor.annotations = record.annotations;
  return descriptor;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function ignoreMissing(error: unknown): undefined {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT" || code === "ENOTDIR") return undefined;
  throw error;
}

async function exists(path: string): Promise<boolean> {
  return statSync(path, { throwIfNoEntry: false }) !== undefined;
}

/** A tag or referrer link file as a descriptor; undefined when it is missing or not one. */
function readDescriptor(path: string): Descriptor | undefined {
  const text = readSmall(path);
  return text === undefined ? undefined : storedDescriptor(safeJson(text));
}

/**
 * A small metadata file's text, or undefined when it is missing. Synchronous: tag, link and record files
 * are a few hundred bytes, and four thread-pool round trips per `readFile` capped the registry's manifest
 * request rate (64 connections share the pool's 4 threads).
 */
function readSmall(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    return ignoreMissing(error);
  }
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(ignoreMissing))?.isDirectory() ?? false;
}

/** Unlinks a file and fsyncs its directory; false if it was not there. */
async function removeFile(path: string): Promise<boolean> {
  try {
    await unlink(path);
  } catch (error) {
    if (ignoreMissing(error) === undefined) return false;
  }
  await fsyncDirectory(join(path, ".."));
  return true;
}

/**
 * Garbage collection of the data root, safe while pushes run (no read-only window).
 *
 * Mark: every manifest linked in any repository, and everything its descriptors reach (config, layers,
 * index children, recursively). Sweep: every blob in the store that is unmarked and older than the grace
 * period (default 1h) is deleted; the grace period protects blobs of pushes still in flight (layers are
 * uploaded before the manifest that references them), and manifests pushed after marking began are
 * re-marked just before the sweep. A blob's grace period restarts when a client HEADs it or mounts it
 * (the server touches its mtime), so a push that skips an existing old blob is protected as well. Upload sessions are not in the blob store until committed, so their
 * data is never swept here; expired sessions are removed by the session store's sweep.
 *
 * Untagged manifests (`deleteUntagged`), Distribution-like but index- and referrer-aware: in each
 * repository, the manifests a tag points at are kept, plus everything reachable from them through index
 * children, plus every manifest whose `subject` is a kept manifest (signatures, SBOMs), plus every
 * manifest pushed within the grace period (children of an index still being pushed). The rest are
 * unlinked from the repository (with their tags, of which they have none), then the sweep frees their blobs.
 */
import fs from "node:fs/promises";
import { isManifestMediaType } from "../image/media-types.js";
import { parseManifest, referencedDescriptors } from "../image/oci-schemas.js";
import type { BlobInfo, BlobStore, Digest, ManifestRecord, RepositoryStore } from "../image/store-types.js";
import { blobFilePath } from "./storage.js";
import type { UploadSessionStore } from "./upload-sessions-store.js";

export const DEFAULT_GC_GRACE_MS = 3600_000;

export interface GcOptions {
  blobs: BlobStore;
  repos: RepositoryStore;
  uploads?: UploadSessionStore;
  /** Blobs (and, with deleteUntagged, manifests) younger than this are kept. Default 1h. */
  graceMs?: number;
  deleteUntagged?: boolean;
  dryRun?: boolean;
  now?: () => number;
  /**
   * Blobs that something other than a manifest keeps alive (the build cache's layers): marked, never swept.
   * Given by the caller so the registry stays ignorant of what holds them.
   */
  extraRoots?: () => Promise<Iterable<Digest>>;
}

export interface GcReport {
  dryRun: boolean;
  blobsMarked: number;
  /** Blobs deleted (or, in a dry run, that would be). */
  blobsDeleted: BlobInfo[];
  bytesFreed: number;
  manifestsDeleted: Array<{ repository: string; digest: Digest }>;
  uploadsDeleted: string[];
}

async function readManifest(blobs: BlobStore, digest: Digest): Promise<Buffer | undefined> {
  try {
    const stream = await blobs.openRead(digest);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  } catch {
    return undefined;
  }
}

/** Digests a manifest points at (config, layers, children, subject); [] if it cannot be read or parsed. */
async function childrenOf(blobs: BlobStore, digest: Digest, mediaType?: string) {
  const bytes = await readManifest(blobs, digest);
  if (!bytes) return [];
  try {
    return referencedDescriptors(parseManifest(bytes, mediaType));
  } catch {
    return [];
  }
}

/** The manifests of `repo` that the untagged policy keeps. */
async function keptManifests(
  blobs: BlobStore,
  repos: RepositoryStore,
  repo: string,
  manifests: ManifestRecord[],
  cutoff: number,
): Promise<Set<Digest>> {
  const byDigest = new Map(manifests.map((m) => [m.digest, m]));
  const keep = new Set<Digest>();
  const queue: Digest[] = [];
  const add = (d: Digest): void => {
    if (byDigest.has(d) && !keep.has(d)) {
      keep.add(d);
      queue.push(d);
    }
  };
  for (const tag of await repos.listTags(repo)) {
    const desc = await repos.resolveTag(repo, tag);
    if (desc) add(desc.digest);
  }
  for (const m of manifests) if (m.pushedAt >= cutoff) add(m.digest);
  for (;;) {
    while (queue.length > 0) {
      const d = queue.pop()!;
      const rec = byDigest.get(d)!;
      for (const child of await childrenOf(blobs, d, rec.mediaType)) {
        if (child.digest !== rec.subject) add(child.digest);
      }
    }
    // Referrers of kept manifests are kept too; repeat until nothing changes.
    for (const m of manifests) if (m.subject && keep.has(m.subject)) add(m.digest);
    if (queue.length === 0) break;
  }
  return keep;
}

async function blobMtime(blobs: BlobStore, digest: Digest): Promise<number | undefined> {
  try {
    return (await fs.stat(blobFilePath(blobs, digest))).mtimeMs;
  } catch {
    return undefined;
  }
}

export async function runGc(options: GcOptions): Promise<GcReport> {
  const { blobs, repos } = options;
  const now = options.now ?? Date.now;
  const startedAt = now();
  const cutoff = startedAt - (options.graceMs ?? DEFAULT_GC_GRACE_MS);
  const dryRun = options.dryRun ?? false;
  const report: GcReport = {
    dryRun,
    blobsMarked: 0,
    blobsDeleted: [],
    bytesFreed: 0,
    manifestsDeleted: [],
    uploadsDeleted: [],
  };

  const marked = new Set<string>();
  const mark = async (digest: Digest, mediaType?: string): Promise<void> => {
    if (marked.has(digest)) return;
    marked.add(digest);
    if (mediaType !== undefined && !isManifestMediaType(mediaType)) return;
    // Manifests (and anything we cannot type) are followed; non-manifests yield no children.
    for (const child of await childrenOf(blobs, digest, mediaType)) {
      await mark(
        child.digest,
        isManifestMediaType(child.mediaType) ? child.mediaType : "application/octet-stream",
      );
    }
  };

  const policyRemoved = new Set<string>();
  for (const repo of await repos.listRepositories()) {
    const manifests = await repos.listManifests(repo);
    let removed = new Set<Digest>();
    if (options.deleteUntagged) {
      const keep = await keptManifests(blobs, repos, repo, manifests, cutoff);
      removed = new Set(manifests.filter((m) => !keep.has(m.digest)).map((m) => m.digest));
      for (const digest of removed) {
        policyRemoved.add(`${repo}@${digest}`);
        report.manifestsDeleted.push({ repository: repo, digest });
        if (!dryRun) await repos.unlinkManifest(repo, digest);
      }
    }
    for (const m of manifests) if (!removed.has(m.digest)) await mark(m.digest, m.mediaType);
  }

  if (options.extraRoots) for (const digest of await options.extraRoots()) marked.add(digest);

  // Manifests pushed while we were marking reference blobs we must not free. (A PUT stamps pushedAt
  // before it links the manifest, hence the margin.)
  const recent = startedAt - 60_000;
  for (const repo of await repos.listRepositories()) {
    for (const m of await repos.listManifests(repo)) {
      if (m.pushedAt >= recent && !policyRemoved.has(`${repo}@${m.digest}`))
        await mark(m.digest, m.mediaType);
    }
  }
  report.blobsMarked = marked.size;

  for await (const blob of blobs.list()) {
    if (marked.has(blob.digest)) continue;
    const mtime = await blobMtime(blobs, blob.digest);
    if (mtime === undefined || mtime >= cutoff) continue;
    report.blobsDeleted.push(blob);
    report.bytesFreed += blob.size;
    if (!dryRun) await blobs.delete(blob.digest);
  }

  if (options.uploads) report.uploadsDeleted = await options.uploads.sweep({ dryRun });
  return report;
}

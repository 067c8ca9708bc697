/**
 * Adapter that opens the data root's two stores for the registry (the image layer's ContentStore and
 * FsRepositoryStore), so server, GC and CLI share one way of doing it.
 */
import { utimes } from "node:fs/promises";
import { ContentStore } from "../image/content-store.js";
import { FsRepositoryStore } from "../image/repository-store.js";
import type { BlobStore, Digest, RepositoryStore } from "../image/store-types.js";

export interface Stores {
  blobs: BlobStore;
  repos: RepositoryStore;
}

export async function openStores(root: string): Promise<Stores> {
  const blobs = await ContentStore.open(root);
  const repos = await FsRepositoryStore.open(root);
  return { blobs, repos };
}

/** Where the content store keeps a blob (`<root>/blobs/<alg>/<hex>`, the OCI layout's path). */
export function blobFilePath(blobs: BlobStore, digest: Digest): string {
  return ContentStore.blobPathIn(blobs.root, digest);
}

/**
 * Refreshes a blob's mtime, restarting its GC grace period. Called when a client learns a blob exists
 * (HEAD, cross-repo mount) and may reference it from a manifest it is about to push. Best effort.
 */
export async function touchBlob(blobs: BlobStore, digest: Digest): Promise<void> {
  const now = new Date();
  await utimes(blobFilePath(blobs, digest), now, now).catch(() => {});
}

/**
 * Writing the record of a fully cached build for build/replay.ts. Loaded only by a build that ran in full:
 * it names the data root's files through the stores' own path functions (blobs, tags, cache records), so
 * the record checks exactly the files the stores use.
 */
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { CacheKey } from "../cache/key.js";
import { CacheRecordStore } from "../cache/records.js";
import { writeFileAtomic } from "../image/atomic-file.js";
import { ContentStore } from "../image/content-store.js";
import { FsRepositoryStore } from "../image/repository-store.js";
import type { Descriptor } from "../image/store-types.js";
import {
  contextFingerprint,
  REPLAY_FORMAT,
  type ReplayOutcome,
  type ReplayRecord,
  type ReplayRequest,
  recordPath,
} from "./replay.js";

/** What the build tells the recorder besides its outcome. */
export interface ReplaySources {
  /** Repository and tag (or digest) of every image the build read, with its resolved manifest digest. */
  images: Array<{
    repository: string;
    tag?: string;
    digest?: string;
    layers: Descriptor[];
    manifestDigest: string;
  }>;
  /** Cache keys of the steps (`sha256:…`). */
  cacheKeys: string[];
  /** Repository and tag of each requested tag. */
  tags: Array<{ repository: string; tag: string }>;
}

/**
 * Records a fully cached build for replay. `before` is the context fingerprint taken before the build
 * started (with `freshAfterNs`); nothing is recorded if the context changed meanwhile. Best effort: a
 * failure only means the next build runs in full.
 */
export async function recordReplay(
  root: string,
  request: ReplayRequest,
  before: string | undefined,
  outcome: ReplayOutcome,
  sources: ReplaySources,
): Promise<void> {
  if (before === undefined || contextFingerprint(request) !== before) return;
  // Root-relative, so a record stays valid wherever the data root is reached from.
  const blobPath = (digest: string) => relative(root, ContentStore.blobPathIn(root, digest));
  const tagPath = (repository: string, tag: string) =>
    relative(root, FsRepositoryStore.tagPathIn(root, repository, tag));
  try {
    const baseTags = sources.images
      .filter((image) => image.digest === undefined)
      .map((image) => {
        const path = tagPath(image.repository, image.tag ?? "latest");
        return { path, text: readFileSync(join(root, path), "utf8") };
      });
    const required = [
      blobPath(outcome.manifest.digest),
      blobPath(outcome.config.digest),
      ...outcome.layers.map((layer) => blobPath(layer.digest)),
      ...sources.images.flatMap((image) => [
        blobPath(image.manifestDigest),
        ...image.layers.map((l) => blobPath(l.digest)),
      ]),
    ];
    const touch = sources.cacheKeys.map((key) =>
      relative(root, CacheRecordStore.recordPathIn(root, key as CacheKey)),
    );
    const tagFiles = sources.tags.map(({ repository, tag }) => ({
      path: tagPath(repository, tag),
      digest: outcome.manifest.digest,
    }));
    const events = outcome.events.map((event) => {
      if (event.type !== "vertex") return event;
      const { started: _s, completed: _c, duration: _d, miss: _m, ...rest } = event;
      return rest;
    });
    const record: ReplayRecord = {
      format: REPLAY_FORMAT,
      contextFingerprint: before,
      baseTags,
      required: [...new Set([...required, ...touch])],
      touch,
      tagFiles,
      ...outcome,
      events,
    };
    await writeFileAtomic(recordPath(root, request), JSON.stringify(record));
  } catch {
    // best effort
  }
}

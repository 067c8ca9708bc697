/**
 * Manifest endpoints: `HEAD`/`GET /v2/<name>/manifests/<tag|digest>` with `Accept` negotiation, `PUT`
 * (size limit, schema validation, every referenced blob/manifest present in the repository, digest check
 * when pushed by digest, `OCI-Subject` for manifests with a subject) and `DELETE` (by digest: unlink the
 * manifest and its tags; by tag: remove the tag).
 */
import { readFileSync } from "node:fs";
import { digestOf, parseDigest } from "../image/digest.js";
import { DigestMismatchError, ManifestBlobUnknownError, ManifestUnknownError } from "../image/errors.js";
import { stripParameters } from "../image/media-types.js";
import {
  manifestAnnotations,
  manifestSubject,
  parseManifest,
  referencedDescriptors,
  referrerArtifactType,
} from "../image/oci-schemas.js";
import type { Digest, ManifestRecord } from "../image/store-types.js";
import { header, type RequestContext, readBody, sendBytes, sendEmpty, v2Path } from "./context.js";
import { RegistryError } from "./errors.js";
import { validateTag } from "./names.js";
import { blobFilePath } from "./storage.js";

/** Default largest manifest accepted (4 MiB, like Distribution). */
export const DEFAULT_MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

const isDigestRef = (reference: string): boolean => reference.includes(":");

/** A malformed tag names no manifest: 404 MANIFEST_UNKNOWN on reads and deletes (PUT rejects it as invalid). */
function requireReadableTag(tag: string): void {
  try {
    validateTag(tag);
  } catch {
    throw new ManifestUnknownError(tag);
  }
}

/** Whether the request's `Accept` allows `mediaType` (absent Accept or `*∕*` allow everything). */
export function accepts(acceptHeader: string | undefined, mediaType: string): boolean {
  if (!acceptHeader) return true;
  const types = acceptHeader
    .split(",")
    .map((t) => stripParameters(t))
    .filter((t) => t.length > 0);
  if (types.length === 0) return true;
  const wanted = stripParameters(mediaType);
  return types.some(
    (t) => t === "*/*" || t === wanted || (t.endsWith("/*") && wanted.startsWith(t.slice(0, -1))),
  );
}

async function resolve(ctx: RequestContext): Promise<ManifestRecord> {
  const { repos } = ctx.services;
  const name = ctx.route.name!;
  const reference = ctx.route.reference!;
  let record: ManifestRecord | undefined;
  if (isDigestRef(reference)) {
    record = await repos.getManifest(name, parseDigest(reference).digest);
  } else {
    requireReadableTag(reference);
    const desc = await repos.resolveTag(name, reference);
    if (desc) record = await repos.getManifest(name, desc.digest);
  }
  if (!record) throw new ManifestUnknownError(reference);
  return record;
}

export async function getManifest(ctx: RequestContext): Promise<void> {
  const record = await resolve(ctx);
  const { blobs } = ctx.services;
  if (!accepts(ctx.req.headers.accept, record.mediaType)) {
    throw new ManifestUnknownError(ctx.route.reference!, {
      hint: `stored as ${record.mediaType}, which the Accept header does not allow`,
    });
  }
  // Manifests are small (at most maxManifestBytes): one synchronous read, no stream.
  let bytes: Buffer;
  try {
    bytes = readFileSync(blobFilePath(blobs, record.digest));
  } catch {
    throw new ManifestUnknownError(ctx.route.reference!);
  }
  sendBytes(ctx, 200, bytes, {
    "Content-Type": record.mediaType,
    "Docker-Content-Digest": record.digest,
    ETag: `"${record.digest}"`,
  });
}

/** True when `digest` is present in the repository as a manifest or as a linked, stored blob. */
async function presentInRepo(ctx: RequestContext, digest: Digest): Promise<boolean> {
  const { repos, blobs } = ctx.services;
  const name = ctx.route.name!;
  if (await repos.getManifest(name, digest)) return true;
  return (await repos.isBlobLinked(name, digest)) && (await blobs.stat(digest)) !== undefined;
}

export async function putManifest(ctx: RequestContext): Promise<void> {
  const { repos, blobs, maxManifestBytes } = ctx.services;
  const name = ctx.route.name!;
  const reference = ctx.route.reference!;
  const byDigest = isDigestRef(reference);
  const expected = byDigest ? parseDigest(reference) : undefined;
  if (!byDigest) validateTag(reference);
  const bytes = await readBody(
    ctx,
    maxManifestBytes,
    () =>
      new RegistryError("SIZE_INVALID", `manifest exceeds the ${maxManifestBytes}-byte limit`, {
        status: 413,
        detail: { limit: maxManifestBytes },
      }),
  );
  const parsed = parseManifest(bytes, header(ctx, "content-type"));
  const digest = digestOf(bytes, expected?.algorithm ?? "sha256");
  if (expected && expected.digest !== digest) throw new DigestMismatchError(expected.digest, digest);

  const subject = manifestSubject(parsed);
  for (const d of referencedDescriptors(parsed)) {
    if (d === subject) continue; // the subject need not exist (referrers may be pushed first)
    if (!(await presentInRepo(ctx, d.digest))) throw new ManifestBlobUnknownError(d.digest);
  }

  await blobs.writeBytes(bytes, { digest, size: bytes.byteLength });
  const record: ManifestRecord = {
    mediaType: parsed.mediaType,
    digest,
    size: bytes.byteLength,
    pushedAt: Date.now(),
  };
  const artifactType = referrerArtifactType(parsed);
  if (artifactType !== undefined) record.artifactType = artifactType;
  const annotations = manifestAnnotations(parsed);
  if (annotations !== undefined) record.annotations = annotations;
  if (subject) record.subject = subject.digest;
  await repos.linkManifest(name, record);
  if (!byDigest)
    await repos.setTag(name, reference, { mediaType: parsed.mediaType, digest, size: bytes.byteLength });

  const headers: Record<string, string> = {
    Location: v2Path(name, "manifests", digest),
    "Docker-Content-Digest": digest,
  };
  if (subject) headers["OCI-Subject"] = subject.digest;
  sendEmpty(ctx, 201, headers);
}

export async function deleteManifest(ctx: RequestContext): Promise<void> {
  const { repos } = ctx.services;
  const name = ctx.route.name!;
  const reference = ctx.route.reference!;
  if (isDigestRef(reference)) {
    const digest = parseDigest(reference).digest;
    if (!(await repos.unlinkManifest(name, digest))) throw new ManifestUnknownError(reference);
  } else {
    requireReadableTag(reference);
    if (!(await repos.deleteTag(name, reference))) throw new ManifestUnknownError(reference);
  }
  sendEmpty(ctx, 202);
}

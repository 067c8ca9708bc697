/**
 * Blob upload endpoints (distribution-spec "pushing blobs"): `POST …/blobs/uploads/` (new session,
 * monolithic `?digest=`, cross-repo `?mount=&from=`), `PATCH` (chunk with `Content-Range`, or streamed),
 * `GET` (status), `PUT ?digest=` (optional last chunk, verify, commit) and `DELETE` (cancel). Bytes stream
 * to the session's data file while being hashed; a chunk that fails half-way is rolled back so the
 * session's offset always matches its hash.
 */
import { createReadStream } from "node:fs";
import fs, { type FileHandle } from "node:fs/promises";
import { Transform } from "node:stream";
import { GantryError } from "../errors.js";
import { streamIntoFile } from "../image/atomic-file.js";
import { hashStream, type ParsedDigest, parseDigest } from "../image/digest.js";
import { DigestInvalidError, DigestMismatchError } from "../image/errors.js";
import type { Digest } from "../image/store-types.js";
import { READ_CHUNK_BYTES } from "../util/read-chunk.js";
import { header, type RequestContext, sendEmpty, v2Path } from "./context.js";
import { blobUploadInvalid, RegistryError } from "./errors.js";
import { validateRepositoryName } from "./names.js";
import { touchBlob } from "./storage.js";
import { commitVerifiedUpload } from "./upload-commit.js";
import type { LiveSession } from "./upload-sessions-store.js";

function rangeOf(offset: number): string {
  return `0-${offset > 0 ? offset - 1 : 0}`;
}

function sessionHeaders(name: string, s: LiveSession): Record<string, string> {
  return {
    Location: v2Path(name, "blobs", "uploads", s.state.uuid),
    "Docker-Upload-UUID": s.state.uuid,
    "Blob-Upload-Session-ID": s.state.uuid,
    Range: rangeOf(s.state.offset),
  };
}

function requireDigest(ctx: RequestContext): ParsedDigest {
  const value = ctx.route.query.get("digest");
  if (!value) throw new DigestInvalidError("", "the digest query parameter is required");
  return parseDigest(value);
}

function isDisconnect(ctx: RequestContext, err: unknown): boolean {
  if (err instanceof GantryError) return false;
  const code = (err as { code?: string }).code;
  return (
    !ctx.req.complete ||
    code === "ECONNRESET" ||
    code === "ERR_STREAM_PREMATURE_CLOSE" ||
    (err as Error).message === "aborted"
  );
}

/** 416 BLOB_UPLOAD_INVALID with the session's Location and Range, so the client can resume. */
function rangeRejected(
  ctx: RequestContext,
  session: LiveSession,
  message: string,
  detail: unknown,
): RegistryError {
  return new RegistryError("BLOB_UPLOAD_INVALID", message, {
    status: 416,
    headers: sessionHeaders(ctx.route.name!, session),
    detail,
  });
}

/** `Content-Range: <start>-<end>` (spec form; a `bytes ` prefix is tolerated). Malformed → 416. */
function parseContentRange(
  ctx: RequestContext,
  session: LiveSession,
  value: string,
): { start: number; end: number } {
  const m = /^\s*(?:bytes\s+)?(\d+)-(\d+)\s*$/i.exec(value);
  const start = Number(m?.[1]);
  const end = Number(m?.[2]);
  if (!m || end < start) {
    throw rangeRejected(ctx, session, `malformed Content-Range ${JSON.stringify(value)}`, {
      contentRange: value,
    });
  }
  return { start, end };
}

/**
 * Appends the request body to the session, hashing as it goes, and saves the session's state unless told
 * not to. With `Content-Range`, the chunk must start at the current offset (else 416) and have exactly the
 * announced length.
 */
async function appendBody(ctx: RequestContext, session: LiveSession, persist = true): Promise<void> {
  const { state } = session;
  const start = state.offset;
  const cr = header(ctx, "content-range");
  let expectedLength: number | undefined;
  if (cr) {
    const range = parseContentRange(ctx, session, cr);
    if (range.start !== start) {
      throw rangeRejected(ctx, session, `chunk starts at ${range.start}, upload is at ${start}`, {
        expectedStart: start,
        contentRange: cr,
      });
    }
    expectedLength = range.end - range.start + 1;
    const cl = header(ctx, "content-length");
    if (cl !== undefined && Number(cl) !== expectedLength) {
      throw blobUploadInvalid(`Content-Length ${cl} does not match Content-Range ${cr}`);
    }
  }
  const saved = session.hasher.copy();
  const hasher = session.hasher;
  let count = 0;
  let file: FileHandle | undefined;
  try {
    // Hashed as it arrives and written in 1 MiB writev batches queued behind the socket (streamIntoFile),
    // so the request keeps flowing while earlier chunks go to disk.
    file = await fs.open(session.dataPath, "r+");
    await streamIntoFile(file, start, ctx.req, {
      inspect: (chunk) => {
        hasher.update(chunk);
        count += chunk.byteLength;
      },
    });
    // A body cut short ends the iteration quietly: only `complete` tells.
    if (!ctx.req.complete) throw Object.assign(new Error("aborted"), { code: "ECONNRESET" });
    if (expectedLength !== undefined && count !== expectedLength) {
      throw blobUploadInvalid(`chunk has ${count} bytes, Content-Range announced ${expectedLength}`);
    }
  } catch (err) {
    session.hasher = saved;
    await file?.close().catch(() => {});
    file = undefined;
    await fs.truncate(session.dataPath, start).catch(() => {});
    if (isDisconnect(ctx, err)) throw blobUploadInvalid("upload interrupted by the client");
    throw err;
  } finally {
    await file?.close();
    ctx.bytesIn += count;
  }
  state.offset = start + count;
  state.updatedAt = Date.now();
  if (persist) await ctx.services.uploads.save(state);
}

/** Verifies the session's content against `expected`, moves it into the blob store and links it. */
async function commit(ctx: RequestContext, session: LiveSession, expected: ParsedDigest): Promise<Digest> {
  const { blobs, repos, uploads } = ctx.services;
  let actual: Digest;
  if (expected.algorithm === "sha256") actual = `sha256:${session.hasher.hex()}`;
  else
    actual = (
      await hashStream(
        createReadStream(session.dataPath, { highWaterMark: READ_CHUNK_BYTES }),
        expected.algorithm,
      )
    ).digest;
  if (actual !== expected.digest) throw new DigestMismatchError(expected.digest, actual);
  // The session's running hash has just verified the bytes: commit without re-reading them.
  await commitVerifiedUpload(blobs, session.dataPath, expected.digest, session.state.offset);
  // The data file may be older than the GC grace period (a slow upload); its manifest is still to come.
  await touchBlob(blobs, expected.digest);
  await repos.linkBlob(ctx.route.name!, expected.digest);
  await uploads.remove(session.state.uuid);
  return expected.digest;
}

function blobCreated(ctx: RequestContext, digest: Digest): void {
  sendEmpty(ctx, 201, {
    Location: v2Path(ctx.route.name!, "blobs", digest),
    "Docker-Content-Digest": digest,
  });
}

/** Tries a cross-repository mount; false when it cannot be done (the caller opens a session instead). */
async function tryMount(ctx: RequestContext, mount: string, from: string | null): Promise<boolean> {
  const { repos, blobs, authorizer } = ctx.services;
  let digest: Digest;
  try {
    digest = parseDigest(mount).digest;
    if (!from) return false;
    validateRepositoryName(from);
  } catch {
    return false;
  }
  if (!(await repos.isBlobLinked(from, digest)) || !(await blobs.stat(digest))) return false;
  const decision = await authorizer.authorize(ctx.req, [
    { type: "repository", name: from, actions: ["pull"] },
  ]);
  if (!decision.ok) return false;
  await repos.linkBlob(ctx.route.name!, digest);
  await touchBlob(blobs, digest);
  blobCreated(ctx, digest);
  return true;
}

export async function startUpload(ctx: RequestContext): Promise<void> {
  const { query, name } = ctx.route;
  const { uploads, blobs, repos, metrics } = ctx.services;
  const mount = query.get("mount");
  if (mount && (await tryMount(ctx, mount, query.get("from")))) return;
  const digestParam = query.get("digest");
  if (digestParam) {
    // Monolithic upload: stream the body straight into the blob store, which verifies the digest.
    const expected = parseDigest(digestParam);
    metrics.uploadStarted();
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        ctx.bytesIn += chunk.byteLength;
        cb(null, chunk);
      },
    });
    ctx.req.pipe(counter);
    ctx.req.on("error", (err) => counter.destroy(err));
    try {
      const info = await blobs.write(counter, { digest: expected.digest });
      await touchBlob(blobs, info.digest); // the store may have kept an older identical file
      await repos.linkBlob(name!, info.digest);
      metrics.uploadFinished("committed");
      blobCreated(ctx, info.digest);
    } catch (err) {
      metrics.uploadFinished("failed");
      if (isDisconnect(ctx, err)) throw blobUploadInvalid("upload interrupted by the client");
      throw err;
    }
    return;
  }
  const session = await uploads.create(name!);
  metrics.uploadStarted();
  sendEmpty(ctx, 202, sessionHeaders(name!, session));
}

export async function patchUpload(ctx: RequestContext): Promise<void> {
  const { name, reference } = ctx.route;
  await ctx.services.uploads.withSession(reference!, name!, async (session) => {
    await appendBody(ctx, session);
    sendEmpty(ctx, 202, sessionHeaders(name!, session));
  });
}

export async function uploadStatus(ctx: RequestContext): Promise<void> {
  const { name, reference } = ctx.route;
  await ctx.services.uploads.withSession(reference!, name!, async (session) => {
    sendEmpty(ctx, 204, sessionHeaders(name!, session));
  });
}

export async function completeUpload(ctx: RequestContext): Promise<void> {
  const { name, reference } = ctx.route;
  const { uploads, metrics } = ctx.services;
  await uploads.withSession(reference!, name!, async (session) => {
    const expected = requireDigest(ctx);
    // The session is committed or discarded right after: its state need not be saved again.
    await appendBody(ctx, session, false);
    let digest: Digest;
    try {
      digest = await commit(ctx, session, expected);
    } catch (err) {
      // Like Distribution: a failed commit discards the session.
      await uploads.remove(session.state.uuid);
      metrics.uploadFinished("failed");
      throw err;
    }
    metrics.uploadFinished("committed");
    blobCreated(ctx, digest);
  });
}

export async function cancelUpload(ctx: RequestContext): Promise<void> {
  const { name, reference } = ctx.route;
  await ctx.services.uploads.cancel(reference!, name!);
  ctx.services.metrics.uploadFinished("cancelled");
  sendEmpty(ctx, 204);
}

/**
 * Blob endpoints: `HEAD`/`GET /v2/<name>/blobs/<digest>` (with `Range` → 206 / 416, `ETag`,
 * `If-None-Match`) and `DELETE` (unlinks the blob from the repository → 202). A blob is visible in a
 * repository only when it is linked there and present in the blob store.
 */

import { parseDigest } from "../image/digest.js";
import { BlobUnknownError } from "../image/errors.js";
import type { ByteRange, Digest } from "../image/store-types.js";
import { sendBlob } from "./blob-read.js";
import { header, type RequestContext, sendEmpty } from "./context.js";
import { RegistryError } from "./errors.js";
import { touchBlob } from "./storage.js";

/** Parses a `Range: bytes=a-b` header against `size`. Multiple ranges are served as the whole blob. */
export function parseRangeHeader(value: string, size: number): ByteRange | "unsatisfiable" | undefined {
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(value);
  if (!m) return undefined;
  const [, a, b] = m as unknown as [string, string, string];
  if (a === "" && b === "") return undefined;
  if (a === "") {
    const suffix = Number(b);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(a);
  let end = b === "" ? size - 1 : Number(b);
  if (b !== "" && end < start) return undefined;
  if (start >= size) return "unsatisfiable";
  if (end >= size) end = size - 1;
  return { start, end };
}

async function linkedBlob(ctx: RequestContext, digest: Digest): Promise<{ size: number }> {
  const { blobs, repos } = ctx.services;
  const name = ctx.route.name!;
  if (!(await repos.isBlobLinked(name, digest))) throw new BlobUnknownError(digest);
  const info = await blobs.stat(digest);
  if (!info) throw new BlobUnknownError(digest);
  return info;
}

export async function getBlob(ctx: RequestContext): Promise<void> {
  const digest = parseDigest(ctx.route.reference!).digest;
  const { size } = await linkedBlob(ctx, digest);
  const etag = `"${digest}"`;
  const common = {
    "Docker-Content-Digest": digest,
    ETag: etag,
    "Accept-Ranges": "bytes",
    "Cache-Control": "max-age=31536000",
  };
  const inm = header(ctx, "if-none-match");
  if (inm?.split(",").some((t) => t.trim() === etag || t.trim() === "*")) {
    sendEmpty(ctx, 304, common);
    return;
  }
  const rangeHeader = header(ctx, "range");
  const range = rangeHeader ? parseRangeHeader(rangeHeader, size) : undefined;
  if (range === "unsatisfiable") {
    throw new RegistryError("RANGE", `requested range not satisfiable (blob is ${size} bytes)`, {
      headers: { "Content-Range": `bytes */${size}` },
      detail: { range: rangeHeader, size },
    });
  }
  const { res } = ctx;
  for (const [k, v] of Object.entries(common)) res.setHeader(k, v);
  res.setHeader("Content-Type", "application/octet-stream");
  if (range) {
    const length = range.end - range.start + 1;
    res.setHeader("Content-Length", length);
    res.setHeader("Content-Range", `bytes ${range.start}-${range.end}/${size}`);
    if (ctx.req.method === "HEAD") return sendEmpty(ctx, 206);
    await sendBlob(ctx, 206, ctx.services.blobs, digest, range);
    return;
  }
  res.setHeader("Content-Length", size);
  if (ctx.req.method === "HEAD") {
    // A HEAD usually means "may I skip pushing this?": restart the blob's GC grace period.
    await touchBlob(ctx.services.blobs, digest);
    return sendEmpty(ctx, 200);
  }
  await sendBlob(ctx, 200, ctx.services.blobs, digest);
}

export async function deleteBlob(ctx: RequestContext): Promise<void> {
  const digest = parseDigest(ctx.route.reference!).digest;
  const removed = await ctx.services.repos.unlinkBlob(ctx.route.name!, digest);
  if (!removed) throw new BlobUnknownError(digest);
  sendEmpty(ctx, 202, { "Docker-Content-Digest": digest });
}

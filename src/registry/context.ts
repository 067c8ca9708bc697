/**
 * What every handler receives: the request and response, the parsed route, the registry's services
 * (stores, upload sessions, authorizer, metrics, logger), and byte counters for the access log. Also the
 * small response helpers (empty/JSON/stream replies) so handlers never touch status mapping themselves.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Logger } from "pino";
import type { BlobStore, RepositoryStore } from "../image/store-types.js";
import type { Authorizer } from "./auth/types.js";
import type { RegistryMetrics } from "./metrics-types.js";
import type { Route } from "./router.js";
import type { UploadSessionStore } from "./upload-sessions-store.js";

export interface RegistryServices {
  blobs: BlobStore;
  repos: RepositoryStore;
  uploads: UploadSessionStore;
  authorizer: Authorizer;
  metrics: RegistryMetrics;
  log: Logger;
  /** Largest manifest accepted on PUT (bytes). */
  maxManifestBytes: number;
}

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  route: Route;
  services: RegistryServices;
  bytesIn: number;
  bytesOut: number;
}

export type Handler = (ctx: RequestContext) => Promise<void>;

/** Replies with headers and no body (Content-Length 0 unless given). */
export function sendEmpty(
  ctx: RequestContext,
  status: number,
  headers: Record<string, string | number> = {},
): void {
  const { res } = ctx;
  res.statusCode = status;
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  if (!res.hasHeader("content-length") && status !== 204 && status !== 304)
    res.setHeader("Content-Length", 0);
  res.end();
}

/** Replies with a JSON document. */
export function sendJson(
  ctx: RequestContext,
  status: number,
  value: unknown,
  headers: Record<string, string | number> = {},
  contentType = "application/json",
): void {
  const body = Buffer.from(JSON.stringify(value));
  sendBytes(ctx, status, body, { "Content-Type": contentType, ...headers });
}

export function sendBytes(
  ctx: RequestContext,
  status: number,
  body: Uint8Array,
  headers: Record<string, string | number> = {},
): void {
  const { res } = ctx;
  res.statusCode = status;
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.setHeader("Content-Length", body.byteLength);
  if (ctx.req.method === "HEAD") {
    res.end();
    return;
  }
  ctx.bytesOut += body.byteLength;
  res.end(body);
}

/** Streams `source` as the body (headers must be set already). Client disconnects end quietly. */
export async function sendStream(ctx: RequestContext, status: number, source: Readable): Promise<void> {
  const { res } = ctx;
  res.statusCode = status;
  if (ctx.req.method === "HEAD") {
    source.destroy();
    res.end();
    return;
  }
  source.on("data", (chunk: Buffer) => {
    ctx.bytesOut += chunk.byteLength;
  });
  try {
    await pipeline(source, res);
  } catch (err) {
    if (res.destroyed || ctx.req.destroyed) return; // client went away
    throw err;
  }
}

/** Reads a request body of at most `limit` bytes (only for small documents like manifests). */
export async function readBody(ctx: RequestContext, limit: number, onTooLarge: () => Error): Promise<Buffer> {
  const declared = Number(ctx.req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) throw onTooLarge();
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of ctx.req) {
    const buf = chunk as Buffer;
    total += buf.byteLength;
    ctx.bytesIn += buf.byteLength;
    if (total > limit) throw onTooLarge();
    chunks.push(buf);
  }
  return Buffer.concat(chunks, total);
}

/** The first value of a request header. */
export function header(ctx: RequestContext, name: string): string | undefined {
  const v = ctx.req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** `/v2/<name>/…` with the name's components percent-encoded as needed. */
export function v2Path(name: string, ...rest: string[]): string {
  return `/v2/${name.split("/").map(encodeURIComponent).join("/")}/${rest.join("/")}`;
}

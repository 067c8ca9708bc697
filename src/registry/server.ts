/**
 * The registry's HTTP server on node:http (or node:https with a certificate): builds the services, routes
 * each request, asks the Authorizer, runs the handler, turns errors into distribution-spec JSON bodies
 * (via errors.ts), writes one pino line and one metrics observation per request, and runs the periodic
 * upload-session sweep and optional background GC. `createRegistryServer(options)` → listen/close/address.
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import pino, { type Logger } from "pino";
import type { BlobStore, Digest, RepositoryStore } from "../image/store-types.js";
import { accessFor } from "./access.js";
import { type Authorizer, anonymousAuthorizer } from "./auth/types.js";
import { deleteBlob, getBlob } from "./blobs.js";
import { listCatalog } from "./catalog.js";
import { type Handler, type RegistryServices, type RequestContext, sendBytes, sendJson } from "./context.js";
import { RegistryError, toErrorResponse } from "./errors.js";
import { runGc } from "./gc.js";
import { DEFAULT_MAX_MANIFEST_BYTES, deleteManifest, getManifest, putManifest } from "./manifests.js";
import { noMetrics, type RegistryMetrics } from "./metrics-types.js";
import { listReferrers } from "./referrers.js";
import { parseRoute, type Route, type RouteKind, routeName } from "./router.js";
import { openStores } from "./storage.js";
import { listTags } from "./tags.js";
import { UploadSessionStore } from "./upload-sessions-store.js";
import { cancelUpload, completeUpload, patchUpload, startUpload, uploadStatus } from "./uploads.js";

export interface RegistryServerOptions {
  /** The data root (blobs/, repositories, uploads/). */
  root: string;
  host?: string;
  /** 0 picks a free port. Default 5000. */
  port?: number;
  blobs?: BlobStore;
  repos?: RepositoryStore;
  authorizer?: Authorizer;
  metrics?: RegistryMetrics;
  logger?: Logger;
  /** Used when no logger is given. Default "info". */
  logLevel?: string;
  /** Idle upload sessions expire after this long (ms). Default 24h. */
  uploadTtlMs?: number;
  /** How often expired sessions are swept (ms). Default min(ttl/2, 10 min). */
  uploadSweepIntervalMs?: number;
  /** Background GC period (ms); off when 0 or absent. */
  gcIntervalMs?: number;
  /** Blobs younger than this are never collected by the background GC (ms). Default 1h. */
  gcGraceMs?: number;
  /** Blobs the background GC must keep besides those manifests reach (see GcOptions.extraRoots). */
  gcExtraRoots?: () => Promise<Iterable<Digest>>;
  maxManifestBytes?: number;
  tls?: { cert: string | Buffer; key: string | Buffer };
}

export interface ListenAddress {
  host: string;
  port: number;
  url: string;
}

export interface RegistryServer {
  listen(): Promise<ListenAddress>;
  close(): Promise<void>;
  readonly address: ListenAddress | undefined;
  readonly services: RegistryServices | undefined;
}

const ROUTES: Record<RouteKind, Partial<Record<string, Handler>>> = {
  base: { GET: async (ctx) => sendJson(ctx, 200, {}), HEAD: async (ctx) => sendJson(ctx, 200, {}) },
  catalog: { GET: listCatalog },
  tags: { GET: listTags },
  manifest: { GET: getManifest, HEAD: getManifest, PUT: putManifest, DELETE: deleteManifest },
  blob: { GET: getBlob, HEAD: getBlob, DELETE: deleteBlob },
  upload_start: { POST: startUpload },
  upload: { GET: uploadStatus, PATCH: patchUpload, PUT: completeUpload, DELETE: cancelUpload },
  referrers: { GET: listReferrers },
  healthz: { GET: async (ctx) => sendJson(ctx, 200, { status: "ok" }) },
  metrics: {
    GET: async (ctx) =>
      sendBytes(ctx, 200, Buffer.from(ctx.services.metrics.render()), {
        "Content-Type": "text/plain; version=0.0.4; charset=utf-8",
      }),
  },
};

export function createRegistryServer(options: RegistryServerOptions): RegistryServer {
  const log = options.logger ?? pino({ level: options.logLevel ?? "info" }, pino.destination(2));
  const metrics = options.metrics ?? noMetrics;
  const authorizer = options.authorizer ?? anonymousAuthorizer;
  const uploads = new UploadSessionStore(options.root, { ttlMs: options.uploadTtlMs });
  let services: RegistryServices | undefined;
  let address: ListenAddress | undefined;
  const timers: NodeJS.Timeout[] = [];
  let gcRunning = false;

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const started = process.hrtime.bigint();
    const method = req.method ?? "GET";
    let route: Route | undefined;
    let authEndpoint = false;
    const ctx = {
      req,
      res,
      route: undefined as unknown as Route,
      services: services!,
      bytesIn: 0,
      bytesOut: 0,
    };
    res.setHeader("Docker-Distribution-API-Version", "registry/2.0");
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const name = authEndpoint ? "auth_endpoint" : routeName(route, method);
      const status = res.statusCode;
      metrics.observeRequest(method, name, status, seconds, ctx.bytesIn, ctx.bytesOut);
      log.info(
        {
          method,
          route: name,
          status,
          ms: Math.round(seconds * 1e4) / 10,
          bytesIn: ctx.bytesIn,
          bytesOut: ctx.bytesOut,
          url: req.url,
          aborted: !res.writableFinished || undefined,
        },
        "request",
      );
    };
    res.on("finish", finish);
    res.on("close", finish);
    req.on("error", () => {});
    res.on("error", () => {});
    void dispatch(ctx, method).catch((err) => replyError(ctx, err));

    async function dispatch(c: RequestContext, m: string): Promise<void> {
      if (authorizer.handle && (await authorizer.handle(req, res))) {
        authEndpoint = true;
        return;
      }
      route = parseRoute(req.url ?? "/");
      c.route = route;
      const handler = ROUTES[route.kind][m];
      if (!handler) {
        const allow = Object.keys(ROUTES[route.kind]).join(", ");
        throw new RegistryError("UNSUPPORTED", `method ${m} not allowed here`, {
          status: 405,
          headers: { Allow: allow },
        });
      }
      if (route.kind !== "healthz" && route.kind !== "metrics") {
        const decision = await authorizer.authorize(req, accessFor(route, m));
        if (!decision.ok) {
          throw new RegistryError(decision.status === 401 ? "UNAUTHORIZED" : "DENIED", decision.message, {
            status: decision.status,
            headers: decision.challenge ? { "WWW-Authenticate": decision.challenge } : {},
          });
        }
      }
      await handler(c);
    }
  };

  function replyError(ctx: RequestContext, err: unknown): void {
    const { res } = ctx;
    const response = toErrorResponse(err);
    if (response.fault) log.error({ err, url: ctx.req.url, method: ctx.req.method }, "request failed");
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    try {
      // Drop whatever the handler had set for a success (Content-Range, Docker-Content-Digest…).
      for (const name of res.getHeaderNames()) res.removeHeader(name);
      res.setHeader("Docker-Distribution-API-Version", "registry/2.0");
      for (const [k, v] of Object.entries(response.headers)) res.setHeader(k, v);
      // An unread request body would otherwise be parsed as the next request.
      if (!ctx.req.complete) res.setHeader("Connection", "close");
      sendJson(ctx, response.status, response.body);
    } catch (sendErr) {
      log.warn({ err: sendErr }, "could not send error response");
      res.destroy();
    }
  }

  const server = options.tls
    ? https.createServer({ cert: options.tls.cert, key: options.tls.key }, handle)
    : http.createServer(handle);
  // Long uploads must not be cut off; idle keep-alive connections are cheap but not eternal.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 30_000;
  server.timeout = 0;
  server.on("clientError", (_err, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    else socket.destroy();
  });

  async function sweepUploads(): Promise<void> {
    try {
      const removed = await uploads.sweep();
      for (const _ of removed) metrics.uploadFinished("expired");
      if (removed.length > 0) log.info({ removed: removed.length }, "expired upload sessions removed");
    } catch (err) {
      log.warn({ err }, "upload sweep failed");
    }
  }

  async function backgroundGc(): Promise<void> {
    if (gcRunning || !services) return;
    gcRunning = true;
    try {
      const report = await runGc({
        blobs: services.blobs,
        repos: services.repos,
        uploads,
        graceMs: options.gcGraceMs,
        extraRoots: options.gcExtraRoots,
      });
      log.info({ blobsDeleted: report.blobsDeleted.length, bytesFreed: report.bytesFreed }, "gc finished");
    } catch (err) {
      log.warn({ err }, "gc failed");
    } finally {
      gcRunning = false;
    }
  }

  return {
    get address() {
      return address;
    },
    get services() {
      return services;
    },
    async listen(): Promise<ListenAddress> {
      const stores =
        options.blobs && options.repos
          ? { blobs: options.blobs, repos: options.repos }
          : await openStores(options.root);
      services = {
        ...stores,
        uploads,
        authorizer,
        metrics,
        log,
        maxManifestBytes: options.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES,
      };
      const host = options.host ?? "127.0.0.1";
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(options.port ?? 5000, host, () => {
          server.off("error", reject);
          resolve();
        });
      });
      const info = server.address() as AddressInfo;
      const shownHost = info.family === "IPv6" ? `[${info.address}]` : info.address;
      address = {
        host: info.address,
        port: info.port,
        url: `${options.tls ? "https" : "http"}://${shownHost}:${info.port}`,
      };
      const ttl = uploads.ttlMs;
      const sweepEvery = options.uploadSweepIntervalMs ?? Math.max(1000, Math.min(ttl / 2, 600_000));
      timers.push(setInterval(() => void sweepUploads(), sweepEvery).unref());
      if (options.gcIntervalMs && options.gcIntervalMs > 0) {
        timers.push(setInterval(() => void backgroundGc(), options.gcIntervalMs).unref());
      }
      return address;
    },
    async close(): Promise<void> {
      for (const t of timers) clearInterval(t);
      timers.length = 0;
      if (!server.listening) return;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), 5000).unref();
      await closed;
      clearTimeout(force);
    },
  };
}

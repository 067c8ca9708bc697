/**
 * `gantry registry serve` (the embedded distribution-spec server on the data root) and `gantry registry gc`.
 * serve prints `listening on <url>` as its first stdout line, logs JSON lines to stderr, and shuts down
 * gracefully on SIGTERM/SIGINT.
 */
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { Option } from "commander";
import pino from "pino";
import { cacheReferencedBlobs } from "../../cache/roots.js";
import { UsageError } from "../../errors.js";
import { createHtpasswdAuthorizer } from "../../registry/auth/htpasswd.js";
import { createTokenAuthorizer } from "../../registry/auth/token.js";
import type { Authorizer } from "../../registry/auth/types.js";
import { parseDuration } from "../../registry/duration.js";
import { DEFAULT_GC_GRACE_MS, runGc } from "../../registry/gc.js";
import { createPrometheusMetrics } from "../../registry/metrics.js";
import { createRegistryServer } from "../../registry/server.js";
import { openStores } from "../../registry/storage.js";
import { UploadSessionStore } from "../../registry/upload-sessions-store.js";
import { dataRootOf, parseFormat, printJson } from "../global-options.js";

interface ServeOptions {
  listen: string;
  uploadTtl: string;
  logLevel: string;
  gcInterval?: string;
  gcGrace: string;
  auth: string;
  htpasswd?: string;
  acl?: string;
  tokenTtl: string;
  tlsCert?: string;
  tlsKey?: string;
}

function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value) ?? /^()()(\d+)$/.exec(value);
  if (!m)
    throw new UsageError(`invalid --listen ${JSON.stringify(value)}`, {
      hint: "use HOST:PORT, e.g. 127.0.0.1:5000",
    });
  const port = Number(m[3]);
  if (port > 65535) throw new UsageError(`invalid port in --listen ${value}`);
  return { host: m[1] ?? (m[2] || "127.0.0.1"), port };
}

// ---- auth / TLS flags (H5's factories) -------------------------------------------------------------
const TOKEN_SERVICE = "gantry-registry";

function buildAuthorizer(opts: ServeOptions, root: string): Authorizer | undefined {
  switch (opts.auth) {
    case "none":
      if (opts.htpasswd || opts.acl)
        throw new UsageError("--htpasswd/--acl need --auth basic or --auth token");
      return undefined;
    case "basic":
      if (!opts.htpasswd) throw new UsageError("--auth basic needs --htpasswd FILE");
      return createHtpasswdAuthorizer({
        htpasswdFile: opts.htpasswd,
        aclFile: opts.acl,
        realm: "gantry registry",
      });
    case "token":
      if (!opts.htpasswd) throw new UsageError("--auth token needs --htpasswd FILE");
      return createTokenAuthorizer({
        htpasswdFile: opts.htpasswd,
        aclFile: opts.acl,
        dataRoot: root,
        // The token audience: stable across restarts and listen addresses.
        service: TOKEN_SERVICE,
        ttlSeconds: Math.max(1, Math.round(parseDuration(opts.tokenTtl, "--token-ttl") / 1000)),
      });
    default:
      throw new UsageError(`unknown --auth ${JSON.stringify(opts.auth)}`, {
        hint: "use none, basic or token",
      });
  }
}

async function loadTls(opts: ServeOptions): Promise<{ cert: Buffer; key: Buffer } | undefined> {
  if (!opts.tlsCert && !opts.tlsKey) return undefined;
  if (!opts.tlsCert || !opts.tlsKey) throw new UsageError("--tls-cert and --tls-key go together");
  return { cert: await readFile(opts.tlsCert), key: await readFile(opts.tlsKey) };
}
// ------------------------------------------------------------------------------------------------------

async function serve(cmd: Command, opts: ServeOptions): Promise<void> {
  const root = dataRootOf(cmd);
  const { host, port } = parseListen(opts.listen);
  const levels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];
  if (!levels.includes(opts.logLevel))
    throw new UsageError(`unknown --log-level ${opts.logLevel}`, { hint: levels.join(", ") });
  const uploadTtlMs = parseDuration(opts.uploadTtl, "--upload-ttl");
  const gcIntervalMs = opts.gcInterval ? parseDuration(opts.gcInterval, "--gc-interval") : 0;
  const gcGraceMs = parseDuration(opts.gcGrace, "--gc-grace");
  const authorizer = buildAuthorizer(opts, root);
  const tls = await loadTls(opts);
  const logger = pino({ level: opts.logLevel }, pino.destination(2));
  const server = createRegistryServer({
    root,
    host,
    port,
    authorizer,
    metrics: createPrometheusMetrics(),
    logger,
    uploadTtlMs,
    gcIntervalMs,
    gcGraceMs,
    gcExtraRoots: () => cacheReferencedBlobs(root),
    tls,
  });
  const address = await server.listen();
  // Handlers go in before the URL is printed, so a signal sent right after reading it shuts down cleanly.
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off("SIGTERM", stop);
      process.off("SIGINT", stop);
      logger.info({ signal }, "shutting down");
      void server.close().then(resolve, resolve);
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
  process.stdout.write(`listening on ${address.url}\n`);
  logger.info({ root, url: address.url }, "registry listening");
  await stopped;
}

interface GcCliOptions {
  dryRun?: boolean;
  deleteUntagged?: boolean;
  grace?: string;
  uploadTtl: string;
  format?: string;
}

async function gc(cmd: Command, opts: GcCliOptions): Promise<void> {
  const format = parseFormat(opts.format);
  const root = dataRootOf(cmd);
  const graceMs = opts.grace ? parseDuration(opts.grace, "--grace") : DEFAULT_GC_GRACE_MS;
  const { blobs, repos } = await openStores(root);
  const uploads = new UploadSessionStore(root, { ttlMs: parseDuration(opts.uploadTtl, "--upload-ttl") });
  const report = await runGc({
    blobs,
    repos,
    uploads,
    graceMs,
    deleteUntagged: opts.deleteUntagged,
    dryRun: opts.dryRun,
    extraRoots: () => cacheReferencedBlobs(root),
  });
  if (format === "json") return printJson(report);
  const verb = report.dryRun ? "would delete" : "deleted";
  for (const m of report.manifestsDeleted)
    process.stdout.write(`${verb} manifest ${m.repository}@${m.digest}\n`);
  for (const b of report.blobsDeleted) process.stdout.write(`${verb} blob ${b.digest} (${b.size} bytes)\n`);
  for (const u of report.uploadsDeleted) process.stdout.write(`${verb} upload ${u}\n`);
  process.stdout.write(
    `${report.blobsMarked} blobs in use; ${verb} ${report.blobsDeleted.length} blobs (${report.bytesFreed} bytes), ` +
      `${report.manifestsDeleted.length} manifests, ${report.uploadsDeleted.length} uploads\n`,
  );
}

export function registerRegistry(program: Command): void {
  const registry = program.command("registry").description("the embedded OCI distribution registry");
  registry
    .command("serve")
    .description("serve the data root over the OCI distribution-spec v1.1 API")
    .option("--listen <addr>", "HOST:PORT to listen on (port 0 picks one)", "127.0.0.1:5000")
    .option("--upload-ttl <duration>", "idle upload sessions expire after this long", "24h")
    .option("--log-level <level>", "fatal, error, warn, info, debug, trace or silent", "info")
    .option("--gc-interval <duration>", "run garbage collection periodically (off by default)")
    .option("--gc-grace <duration>", "background GC keeps blobs younger than this", "1h")
    .addOption(
      new Option("--auth <mode>", "access control").choices(["none", "basic", "token"]).default("none"),
    )
    .option("--htpasswd <file>", "htpasswd file (bcrypt) for --auth basic|token")
    .option("--acl <file>", "access control list for authenticated users")
    .option("--token-ttl <duration>", "lifetime of tokens issued with --auth token", "5m")
    .option("--tls-cert <file>", "serve HTTPS with this certificate (PEM)")
    .option("--tls-key <file>", "private key (PEM) for --tls-cert")
    .action(async function (this: Command, opts: ServeOptions) {
      await serve(this, opts);
    });
  registry
    .command("gc")
    .description("delete blobs no manifest references (safe while the server runs)")
    .option("--dry-run", "only list what would be deleted")
    .option(
      "--delete-untagged",
      "also remove manifests no tag reaches (index children and referrers are kept)",
    )
    .option("--grace <duration>", "keep blobs written within this period", "1h")
    .option("--upload-ttl <duration>", "upload sessions idle longer than this are removed", "24h")
    .option("--format <format>", "text or json", "text")
    .action(async function (this: Command, opts: GcCliOptions) {
      await gc(this, opts);
    });
}

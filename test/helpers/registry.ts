/**
 * Test helpers for the registry: `startRegistry()` runs the server in-process on 127.0.0.1:0 over a data
 * root (a fresh temp dir unless given) and can restart it on the same root; `spawnRegistry()` runs
 * `bin/gantry registry serve --listen 127.0.0.1:0` as a child process (build first with
 * `npx tsc -p tsconfig.build.json`) and reads the URL from its first stdout line. Plus small push helpers.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import pino from "pino";
import {
  createRegistryServer,
  type RegistryServer,
  type RegistryServerOptions,
} from "../../src/registry/server.js";

export interface StartedRegistry {
  url: string;
  root: string;
  server: RegistryServer;
  /** Closes the server and starts a new one on the same root (new port). */
  restart(overrides?: Partial<RegistryServerOptions>): Promise<void>;
  close(): Promise<void>;
  /** Closes and removes the temp root (when the helper created it). */
  dispose(): Promise<void>;
}

export async function tempRoot(prefix = "gantry-registry-"): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

export async function startRegistry(options: Partial<RegistryServerOptions> = {}): Promise<StartedRegistry> {
  const ownRoot = options.root === undefined;
  const root = options.root ?? (await tempRoot());
  const make = (o: Partial<RegistryServerOptions>): RegistryServer =>
    createRegistryServer({
      logger: pino({ level: "silent" }),
      ...options,
      ...o,
      root,
      host: "127.0.0.1",
      port: 0,
    });
  const state = { server: make({}), url: "" };
  state.url = (await state.server.listen()).url;
  const started: StartedRegistry = {
    get url() {
      return state.url;
    },
    root,
    get server() {
      return state.server;
    },
    async restart(overrides = {}) {
      await state.server.close();
      state.server = make(overrides);
      state.url = (await state.server.listen()).url;
    },
    async close() {
      await state.server.close();
    },
    async dispose() {
      await state.server.close();
      if (ownRoot) await rm(root, { recursive: true, force: true });
    },
  };
  return started;
}

export interface SpawnedRegistry {
  url: string;
  port: number;
  root: string;
  child: ChildProcess;
  /** Lines written to stderr so far (JSON logs). */
  stderr: string[];
  /** Sends `signal` (default SIGTERM) and waits for exit; resolves with the exit code/signal. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const GANTRY_BIN = path.join(REPO_ROOT, "bin", "gantry");

export async function spawnRegistry(
  options: { root?: string; args?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<SpawnedRegistry> {
  const root = options.root ?? (await tempRoot());
  const child = spawn(
    process.execPath,
    [GANTRY_BIN, "--root", root, "registry", "serve", "--listen", "127.0.0.1:0", ...(options.args ?? [])],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...options.env } },
  );
  const stderr: string[] = [];
  createInterface({ input: child.stderr! }).on("line", (l) => stderr.push(l));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error(`registry did not start: ${stderr.join("\n")}`)), 20_000);
    lines.once("line", (line) => {
      clearTimeout(timer);
      const m = /^listening on (\S+)$/.exec(line);
      if (m) resolve(m[1]!);
      else reject(new Error(`unexpected first line: ${line}`));
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`registry exited with ${code}: ${stderr.join("\n")}`));
    });
  });
  return {
    url,
    port: Number(new URL(url).port),
    root,
    child,
    stderr,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

// ---- push helpers --------------------------------------------------------------------------------------

export const sha256 = (data: Uint8Array | string): string =>
  `sha256:${createHash("sha256").update(data).digest("hex")}`;

/** Monolithic blob push (`POST ?digest=`); returns the digest. */
export async function pushBlob(url: string, repo: string, data: Uint8Array | string): Promise<string> {
  const digest = sha256(data);
  const res = await fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${digest}`, {
    method: "POST",
    headers: { "Content-Type": "application/octet-stream" },
    body: typeof data === "string" ? data : Buffer.from(data),
  });
  if (res.status !== 201) throw new Error(`pushBlob ${repo}: ${res.status} ${await res.text()}`);
  return digest;
}

export interface PushedImage {
  digest: string;
  manifest: string;
  config: string;
  layers: string[];
}

/** Pushes a small OCI image (config + layers as given bytes) and tags it; returns its digests. */
export async function pushImage(
  url: string,
  repo: string,
  tag: string | undefined,
  options: {
    layers?: string[];
    subject?: { digest: string; size: number; mediaType: string };
    artifactType?: string;
    annotations?: Record<string, string>;
  } = {},
): Promise<PushedImage> {
  const layersData = options.layers ?? [`layer of ${repo}:${tag} ${Math.random()}`];
  const configData = JSON.stringify({
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: [] },
    n: Math.random(),
  });
  const config = await pushBlob(url, repo, configData);
  const layers: string[] = [];
  for (const l of layersData) layers.push(await pushBlob(url, repo, l));
  const manifestObj: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: {
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: config,
      size: Buffer.byteLength(configData),
    },
    layers: layersData.map((l, i) => ({
      mediaType: "application/vnd.oci.image.layer.v1.tar",
      digest: layers[i],
      size: Buffer.byteLength(l),
    })),
  };
  if (options.artifactType) manifestObj.artifactType = options.artifactType;
  if (options.subject) manifestObj.subject = options.subject;
  if (options.annotations) manifestObj.annotations = options.annotations;
  const manifest = JSON.stringify(manifestObj);
  const digest = sha256(manifest);
  const res = await fetch(`${url}/v2/${repo}/manifests/${tag ?? digest}`, {
    method: "PUT",
    headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
    body: manifest,
  });
  if (res.status !== 201) throw new Error(`pushImage ${repo}: ${res.status} ${await res.text()}`);
  return { digest, manifest, config, layers };
}

/** The fourteen codes distribution-spec v1.1 allows in a JSON error body. */
export const SPEC_ERROR_CODES = [
  "BLOB_UNKNOWN",
  "BLOB_UPLOAD_INVALID",
  "BLOB_UPLOAD_UNKNOWN",
  "DIGEST_INVALID",
  "MANIFEST_BLOB_UNKNOWN",
  "MANIFEST_INVALID",
  "MANIFEST_UNKNOWN",
  "NAME_INVALID",
  "NAME_UNKNOWN",
  "SIZE_INVALID",
  "UNAUTHORIZED",
  "DENIED",
  "UNSUPPORTED",
  "TOOMANYREQUESTS",
];

/** The first error code of a distribution-spec error body; throws if any code is not a spec code. */
export async function errorCode(res: Response): Promise<string | undefined> {
  const body = (await res.json()) as { errors?: Array<{ code: string }> };
  for (const e of body.errors ?? []) {
    if (!SPEC_ERROR_CODES.includes(e.code)) throw new Error(`non-spec error code ${e.code}`);
  }
  return body.errors?.[0]?.code;
}

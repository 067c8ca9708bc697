/**
 * The client against Gantry's own registry (in-process, 127.0.0.1), directly and through a loopback proxy
 * that misbehaves on purpose: a blob download cut half-way is resumed with Range; 429 answers with
 * `Retry-After: 0` are retried; a chunked upload whose PATCH is cut is resumed from the registry's upload
 * status; token auth (Bearer, htpasswd) with good and bad credentials.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseWwwAuthenticate } from "../src/client/auth.js";
import { parseRetryAfter } from "../src/client/http.js";
import { pullImage, pushImage } from "../src/client/index.js";
import { ContentStore } from "../src/image/content-store.js";
import { writeImage } from "../src/image/image-builder.js";
import { OCI_LAYER_TAR } from "../src/image/media-types.js";
import { FsRepositoryStore } from "../src/image/repository-store.js";
import type { Digest } from "../src/image/store-types.js";
import { createTokenAuthorizer } from "../src/registry/auth/token.js";
import { type AuthFixture, makeAuthFixture } from "./helpers/auth-fixtures.js";
import { type StartedRegistry, startRegistry } from "./helpers/registry.js";

const MiB = 1 << 20;
let work: string;
let root: string;
let registry: StartedRegistry;
let layer: { digest: Digest; size: number };
let manifestDigest: Digest;

/** A data root holding `big:1`, one 6 MiB random layer. */
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "gantry-client-res-"));
  root = join(work, "root");
  const blobs = await ContentStore.open(root);
  const repos = await FsRepositoryStore.open(root);
  const info = await blobs.writeBytes(randomBytes(6 * MiB));
  layer = info;
  const image = await writeImage(blobs, repos, {
    repository: "library/big",
    tag: "1",
    platform: { os: "linux", architecture: "amd64" },
    created: new Date(0),
    layers: [{ digest: info.digest, size: info.size, diffId: info.digest, mediaType: OCI_LAYER_TAR }],
  });
  manifestDigest = image.manifest.digest;
  registry = await startRegistry();
  await pushImage({ root, source: "big:1", destination: `${new URL(registry.url).host}/team/big:1` });
}, 60_000);
afterAll(async () => {
  await registry?.dispose();
  await rm(work, { recursive: true, force: true });
});

type Interceptor = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
) => "pass" | "handled" | "cut-response" | "cut-request";

/** A loopback proxy to `target`; `intercept` decides per request what misbehaviour to show. */
async function startProxy(target: string, intercept: Interceptor) {
  const seen: Array<{ method: string; url: string; range?: string; status?: number }> = [];
  const server = http.createServer((req, res) => {
    const entry: (typeof seen)[number] = { method: req.method!, url: req.url!, range: req.headers.range };
    seen.push(entry);
    const action = intercept(req, res);
    if (action === "handled") return;
    const upstream = http.request(
      `${target}${req.url}`,
      { method: req.method, headers: req.headers },
      (up) => {
        entry.status = up.statusCode;
        res.writeHead(up.statusCode!, up.headers);
        if (action !== "cut-response") {
          up.pipe(res);
          return;
        }
        // Forward half of the body, then kill the connection.
        const half = Number(up.headers["content-length"]) / 2;
        let sent = 0;
        up.on("data", (chunk: Buffer) => {
          if (sent >= half) return;
          res.write(chunk.subarray(0, Math.max(0, Math.min(chunk.length, half - sent))));
          sent += chunk.length;
          if (sent >= half) {
            up.destroy();
            res.socket?.destroy();
          }
        });
      },
    );
    upstream.on("error", () => res.socket?.destroy());
    if (action === "cut-request") {
      // Forward about half of the request body, then kill both connections.
      const half = Number(req.headers["content-length"]) / 2;
      let sent = 0;
      req.on("data", (chunk: Buffer) => {
        if (sent < half) upstream.write(chunk);
        sent += chunk.length;
        if (sent >= half) {
          upstream.destroy();
          req.socket.destroy();
        }
      });
      return;
    }
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("resilience", () => {
  it("resumes a download cut half-way with a Range request", async () => {
    let cut = false;
    const proxy = await startProxy(registry.url, (req) => {
      if (!cut && req.method === "GET" && req.url!.endsWith(`/blobs/${layer.digest}`)) {
        cut = true;
        return "cut-response";
      }
      return "pass";
    });
    try {
      const fresh = join(work, "resume");
      const pulled = await pullImage({ root: fresh, ref: `${proxy.host}/team/big:1` });
      expect(pulled.manifestDigest).toBe(manifestDigest);
      const blobGets = proxy.seen.filter((s) => s.url.endsWith(`/blobs/${layer.digest}`));
      expect(blobGets.length).toBe(2);
      expect(blobGets[1]!.range).toMatch(/^bytes=\d+-$/);
      const offset = Number(/bytes=(\d+)-/.exec(blobGets[1]!.range!)![1]);
      expect(offset).toBeGreaterThan(0);
      expect(offset).toBeLessThan(layer.size);
      expect(blobGets[1]!.status).toBe(206);
      expect(await (await ContentStore.open(fresh)).stat(layer.digest)).toEqual(layer);
    } finally {
      await proxy.close();
    }
  });

  it("retries 429 answers honouring Retry-After", async () => {
    let refused = 0;
    const proxy = await startProxy(registry.url, (req, res) => {
      if (refused < 3 && req.url!.includes("/team/big/")) {
        refused++;
        res.writeHead(429, { "Retry-After": "0", "Content-Type": "application/json" });
        res.end(JSON.stringify({ errors: [{ code: "TOOMANYREQUESTS", message: "slow down" }] }));
        return "handled";
      }
      return "pass";
    });
    try {
      const pulled = await pullImage({ root: join(work, "retry"), ref: `${proxy.host}/team/big:1` });
      expect(pulled.manifestDigest).toBe(manifestDigest);
      expect(refused).toBe(3);
    } finally {
      await proxy.close();
    }
    // With retries exhausted, the 429 is reported.
    const stubborn = await startProxy(registry.url, (req, res) => {
      if (req.url === "/v2/") return "pass";
      res.writeHead(429, { "Retry-After": "0" });
      res.end();
      return "handled";
    });
    try {
      await expect(
        pullImage({
          root: join(work, "retry2"),
          ref: `${stubborn.host}/team/big:1`,
          client: { retry: { attempts: 2 } },
        }),
      ).rejects.toMatchObject({ status: 429 });
    } finally {
      await stubborn.close();
    }
  });

  it("resumes a chunked upload after a PATCH is cut", async () => {
    let patches = 0;
    const proxy = await startProxy(registry.url, (req) => {
      if (req.method === "PATCH" && ++patches === 2) return "cut-request";
      return "pass";
    });
    try {
      const pushed = await pushImage({
        root,
        source: "big:1",
        destination: `${proxy.host}/chunked/big:1`,
        upload: { chunkSize: 1 * MiB },
      });
      expect(pushed.digest).toBe(manifestDigest);
      const statusChecks = proxy.seen.filter((s) => s.method === "GET" && s.url.includes("/blobs/uploads/"));
      expect(statusChecks.length).toBeGreaterThanOrEqual(1);
      expect(patches).toBeGreaterThan(6);
      const head = await fetch(`${registry.url}/v2/chunked/big/blobs/${layer.digest}`, { method: "HEAD" });
      expect(head.status).toBe(200);
      expect(Number(head.headers.get("content-length"))).toBe(layer.size);
    } finally {
      await proxy.close();
    }
  });
});

describe("Gantry registry with token auth", () => {
  let auth: AuthFixture;
  let secured: StartedRegistry;
  beforeAll(async () => {
    auth = makeAuthFixture({ alice: "wonderland" }, [
      { account: "alice", name: "*", actions: ["pull", "push"] },
    ]);
    const tokenRoot = join(work, "token-root");
    secured = await startRegistry({
      root: tokenRoot,
      authorizer: createTokenAuthorizer({
        htpasswdFile: auth.htpasswdFile,
        aclFile: auth.aclFile,
        dataRoot: tokenRoot,
        service: "gantry-test",
        ttlSeconds: 300,
      }),
    });
  });
  afterAll(async () => {
    await secured?.close();
    auth?.cleanup();
  });

  it("pushes and pulls with a Bearer token; refuses bad credentials", async () => {
    const host = new URL(secured.url).host;
    const good = { credentials: { username: "alice", password: "wonderland" } };
    const pushed = await pushImage({
      root,
      source: "big:1",
      destination: `${host}/alice/big:1`,
      client: good,
    });
    expect(pushed.digest).toBe(manifestDigest);
    const pulled = await pullImage({
      root: join(work, "token-pull"),
      ref: `${host}/alice/big:1`,
      client: good,
    });
    expect(pulled.manifestDigest).toBe(manifestDigest);
    await expect(
      pullImage({
        root: join(work, "token-bad"),
        ref: `${host}/alice/big:1`,
        client: { credentials: { username: "alice", password: "nope" } },
      }),
    ).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    await expect(
      pullImage({
        root: join(work, "token-anon"),
        ref: `${host}/alice/big:1`,
        client: { dockerConfig: join(work, "none.json") },
      }),
    ).rejects.toMatchObject({ code: "UNAUTHORIZED" });
  });
});

describe("header parsing", () => {
  it("parses WWW-Authenticate challenges", () => {
    expect(
      parseWwwAuthenticate(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
      ),
    ).toEqual([
      {
        scheme: "bearer",
        params: {
          realm: "https://auth.docker.io/token",
          service: "registry.docker.io",
          scope: "repository:library/busybox:pull",
        },
      },
    ]);
    expect(parseWwwAuthenticate('Basic realm="x, y", Bearer realm=z,error="invalid_token"')).toEqual([
      { scheme: "basic", params: { realm: "x, y" } },
      { scheme: "bearer", params: { realm: "z", error: "invalid_token" } },
    ]);
  });

  it("reads Retry-After as seconds or a date", () => {
    expect(parseRetryAfter("3")).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter("soon")).toBeUndefined();
  });
});

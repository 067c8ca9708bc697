/**
 * Registry access control over real HTTP: Basic auth with htpasswd + ACL, the token flow (challenge → token
 * endpoint → Bearer retry, scope limits, expiry), HTTPS with a self-signed certificate made by openssl, and
 * interop with skopeo in Basic and token modes. The spawned cases need a build (`npx tsc -p tsconfig.build.json`).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Agent, fetch } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createHtpasswdAuthorizer } from "../src/registry/auth/htpasswd.js";
import { createTokenAuthorizer } from "../src/registry/auth/token.js";
import { AuthClient, buildTestImage, HttpError, parseChallenge } from "./helpers/auth-client.js";
import { type AuthFixture, basicHeader, makeAuthFixture } from "./helpers/auth-fixtures.js";
import {
  type SpawnedRegistry,
  type StartedRegistry,
  spawnRegistry,
  startRegistry,
} from "./helpers/registry.js";

const run = promisify(execFile);

const USERS = { alice: "wonderland", bob: "builder" };
const ACL = [
  { account: "alice", name: "alice/*", actions: ["pull", "push", "delete"] },
  { account: "bob", name: "bob/*", actions: ["pull", "push"] },
  { account: "*", name: "shared/*", actions: ["pull"] },
  { account: "", name: "public/*", actions: ["pull"] },
  { account: "alice", name: "public/*", actions: ["pull", "push"] },
];

let auth: AuthFixture;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(() => {
  auth = makeAuthFixture(USERS, ACL);
});
afterAll(() => auth.cleanup());
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function basicRegistry(): Promise<StartedRegistry> {
  const registry = await startRegistry({
    authorizer: createHtpasswdAuthorizer({
      htpasswdFile: auth.htpasswdFile,
      aclFile: auth.aclFile,
      realm: "test",
    }),
  });
  cleanups.push(() => registry.dispose());
  return registry;
}

async function tokenRegistry(ttlSeconds = 300): Promise<StartedRegistry> {
  const root = mkdtempSync(path.join(os.tmpdir(), "gantry-token-"));
  const registry = await startRegistry({
    root,
    authorizer: createTokenAuthorizer({
      htpasswdFile: auth.htpasswdFile,
      aclFile: auth.aclFile,
      dataRoot: root,
      service: "gantry-test",
      ttlSeconds,
    }),
  });
  cleanups.push(async () => {
    await registry.dispose();
    rmSync(root, { recursive: true, force: true });
  });
  return registry;
}

/** The status of a response whose body is drained, so the connection is free for the next request. */
async function statusOf(response: Promise<{ status: number; text(): Promise<string> }>): Promise<number> {
  const res = await response;
  await res.text();
  return res.status;
}

async function errorCodeOf(res: { json(): Promise<unknown> }): Promise<string | undefined> {
  return ((await res.json()) as { errors?: Array<{ code: string }> }).errors?.[0]?.code;
}

describe("Basic auth (htpasswd + ACL)", () => {
  it("denies anonymous requests with a Basic challenge", async () => {
    const { url } = await basicRegistry();
    for (const p of ["/v2/", "/v2/alice/app/tags/list", "/v2/_catalog"]) {
      const res = await fetch(`${url}${p}`);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe('Basic realm="test"');
      expect(await errorCodeOf(res)).toBe("UNAUTHORIZED");
    }
  });

  it("denies a wrong password and allows the right one", async () => {
    const { url } = await basicRegistry();
    const wrong = fetch(`${url}/v2/`, { headers: { authorization: basicHeader("alice", "nope") } });
    expect(await statusOf(wrong)).toBe(401);
    const right = fetch(`${url}/v2/`, { headers: { authorization: basicHeader("alice", USERS.alice) } });
    expect(await statusOf(right)).toBe(200);

    const alice = new AuthClient(url, { user: "alice", password: USERS.alice });
    const image = await alice.pushImage("alice/app", "v1");
    const got = await alice.request("/v2/alice/app/manifests/v1", {
      headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
    });
    expect(got.status).toBe(200);
    expect(got.headers.get("docker-content-digest")).toBe(image.digest);
    expect(await got.text()).toBe(image.manifest);
  });

  it("answers 403 DENIED when the ACL does not give the user the action", async () => {
    const { url } = await basicRegistry();
    const bob = new AuthClient(url, { user: "bob", password: USERS.bob });
    const res = await bob.request("/v2/alice/app/blobs/uploads/", { method: "POST" });
    expect(res.status).toBe(403);
    expect(await errorCodeOf(res)).toBe("DENIED");
    await expect(bob.pushImage("alice/app", "v1")).rejects.toMatchObject({ status: 403 });
    await bob.pushImage("bob/app", "v1");
    // Read-only namespace: pull allowed, push denied.
    const alice = new AuthClient(url, { user: "alice", password: USERS.alice });
    await alice.pushImage("public/base", "v1");
    expect(await statusOf(bob.request("/v2/public/base/manifests/v1"))).toBe(200);
    expect(await statusOf(bob.request("/v2/public/base/blobs/uploads/", { method: "POST" }))).toBe(403);
    // Delete needs the delete action: bob lacks it even in his own namespace.
    expect(await statusOf(bob.request("/v2/bob/app/manifests/v1", { method: "DELETE" }))).toBe(403);
  });

  it("lets anonymous clients pull where the ACL grants anonymous access", async () => {
    const { url } = await basicRegistry();
    await new AuthClient(url, { user: "alice", password: USERS.alice }).pushImage("public/base", "v1");
    expect(await statusOf(fetch(`${url}/v2/public/base/manifests/v1`))).toBe(200);
    const push = await fetch(`${url}/v2/public/base/blobs/uploads/`, { method: "POST" });
    expect(push.status).toBe(401);
    await push.text();
  });
});

describe("token auth", () => {
  it("runs the challenge → token → Bearer flow", async () => {
    const { url } = await tokenRegistry();
    const first = await fetch(`${url}/v2/alice/app/tags/list`);
    expect(first.status).toBe(401);
    await first.text();
    const challenge = parseChallenge(first.headers.get("www-authenticate"));
    expect(challenge).toEqual({
      scheme: "bearer",
      params: { realm: `${url}/token`, service: "gantry-test", scope: "repository:alice/app:pull" },
    });
    // The token endpoint grants what the ACL allows; the retry succeeds.
    const alice = new AuthClient(url, { user: "alice", password: USERS.alice });
    const image = await alice.pushImage("alice/app", "v1");
    const tags = await alice.request("/v2/alice/app/tags/list");
    expect(tags.status).toBe(200);
    expect(await tags.json()).toEqual({ name: "alice/app", tags: ["v1"] });
    expect(alice.tokens.length).toBeGreaterThan(0);
    const blob = await alice.request(`/v2/alice/app/blobs/${JSON.parse(image.manifest).layers[0].digest}`);
    expect(Buffer.from(await blob.arrayBuffer())).toEqual(image.layer);
  });

  it("limits a token to its scope", async () => {
    const { url } = await tokenRegistry();
    const alice = new AuthClient(url, { user: "alice", password: USERS.alice });
    await alice.pushImage("alice/app", "v1");
    const token = alice.tokens.at(-1)!;
    const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());
    expect(claims.access).toEqual([{ type: "repository", name: "alice/app", actions: ["pull", "push"] }]);
    // The same token cannot push to another repository, even one alice may push to.
    const res = await fetch(`${url}/v2/alice/other/blobs/uploads/`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
    expect(res.headers.get("www-authenticate")).toContain('scope="repository:alice/other:pull,push"');
    await res.text();
    // Bob asking for alice/app:push gets a token without it (never an error), and the push fails.
    const bob = new AuthClient(url, { user: "bob", password: USERS.bob });
    await expect(bob.pushImage("alice/app", "v2")).rejects.toMatchObject({ status: 401 });
    const bobClaims = JSON.parse(Buffer.from(bob.tokens.at(-1)!.split(".")[1]!, "base64url").toString());
    expect(bobClaims.access).toEqual([]);
  });

  it("rejects an expired token", async () => {
    const { url } = await tokenRegistry(1);
    const alice = new AuthClient(url, { user: "alice", password: USERS.alice });
    expect(await statusOf(alice.request("/v2/alice/app/tags/list"))).toBe(404);
    const token = alice.tokens.at(-1)!;
    await new Promise((r) => setTimeout(r, 2100));
    const res = await fetch(`${url}/v2/alice/app/tags/list`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
    await res.text();
  });

  it("gives a token its whole lifetime, not just the rest of the current second", async () => {
    const { url } = await tokenRegistry(1);
    const alice = new AuthClient(url, { user: "alice", password: USERS.alice });
    expect(await statusOf(alice.request("/v2/alice/app/tags/list"))).toBe(404);
    const received = Date.now();
    const token = alice.tokens.at(-1)!;
    // Claims are whole seconds; a 1 s token must still be good 0.95 s after it arrived, whatever the
    // millisecond it was issued at.
    await new Promise((r) => setTimeout(r, received + 950 - Date.now()));
    const res = await fetch(`${url}/v2/alice/app/tags/list`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(404);
    await res.text();
  });

  it("refuses bad credentials at the token endpoint and gives anonymous what the ACL allows", async () => {
    const { url } = await tokenRegistry();
    await new AuthClient(url, { user: "alice", password: USERS.alice }).pushImage("public/base", "v1");
    const bad = await fetch(`${url}/token?service=gantry-test&scope=repository:alice/app:pull`, {
      headers: { authorization: basicHeader("alice", "nope") },
    });
    expect(bad.status).toBe(401);
    await bad.text();
    const anonymous = new AuthClient(url);
    expect(await statusOf(anonymous.request("/v2/public/base/manifests/v1"))).toBe(200);
    await expect(anonymous.pushBlob("public/base", "x")).rejects.toBeInstanceOf(HttpError);
  });

  it("accepts the OAuth2 password grant by POST", async () => {
    const { url } = await tokenRegistry();
    const res = await fetch(`${url}/token`, {
      method: "POST",
      body: new URLSearchParams({
        grant_type: "password",
        service: "gantry-test",
        client_id: "test",
        username: "alice",
        password: USERS.alice,
        scope: "repository:alice/app:pull",
      }),
    });
    expect(res.status).toBe(200);
    const { access_token } = (await res.json()) as { access_token: string };
    const tags = await fetch(`${url}/v2/alice/app/tags/list`, {
      headers: { authorization: `Bearer ${access_token}` },
    });
    expect(tags.status).toBe(404); // authorized; the repository just does not exist yet
    await tags.text();
  });
});

describe("TLS", () => {
  let certDir: string;
  let cert: Buffer;
  let key: Buffer;
  beforeAll(async () => {
    certDir = mkdtempSync(path.join(os.tmpdir(), "gantry-tls-"));
    await run("openssl", [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      path.join(certDir, "key.pem"),
      "-out",
      path.join(certDir, "cert.pem"),
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
    ]);
    cert = readFileSync(path.join(certDir, "cert.pem"));
    key = readFileSync(path.join(certDir, "key.pem"));
  });
  afterAll(() => rmSync(certDir, { recursive: true, force: true }));

  it("serves HTTPS in-process with Basic auth", async () => {
    const registry = await startRegistry({
      tls: { cert, key },
      authorizer: createHtpasswdAuthorizer({ htpasswdFile: auth.htpasswdFile, realm: "tls" }),
    });
    cleanups.push(() => registry.dispose());
    expect(registry.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const dispatcher = new Agent({ connect: { ca: cert } });
    cleanups.push(() => dispatcher.close());
    const alice = new AuthClient(registry.url, { user: "alice", password: USERS.alice, dispatcher });
    const image = await alice.pushImage("alice/app", "v1");
    const res = await alice.request("/v2/alice/app/manifests/v1");
    expect(res.headers.get("docker-content-digest")).toBe(image.digest);
    await res.text();
    // Without trusting the certificate the connection is refused.
    await expect(fetch(`${registry.url}/v2/`)).rejects.toThrow();
  });

  it("serves HTTPS from `gantry registry serve --tls-cert --tls-key --auth token`", async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), "gantry-tls-root-"));
    const registry: SpawnedRegistry = await spawnRegistry({
      root,
      args: [
        "--tls-cert",
        path.join(certDir, "cert.pem"),
        "--tls-key",
        path.join(certDir, "key.pem"),
        "--auth",
        "token",
        "--htpasswd",
        auth.htpasswdFile,
        "--acl",
        auth.aclFile,
        "--log-level",
        "warn",
      ],
    });
    cleanups.push(async () => {
      await registry.stop();
      rmSync(root, { recursive: true, force: true });
    });
    expect(registry.url).toMatch(/^https:\/\//);
    const dispatcher = new Agent({ connect: { ca: cert } });
    cleanups.push(() => dispatcher.close());
    const first = await fetch(`${registry.url}/v2/alice/app/tags/list`, { dispatcher });
    expect(first.status).toBe(401);
    await first.text();
    expect(parseChallenge(first.headers.get("www-authenticate"))?.params.realm).toBe(`${registry.url}/token`);
    const alice = new AuthClient(registry.url, { user: "alice", password: USERS.alice, dispatcher });
    await alice.pushImage("alice/app", "v1");
    expect(await statusOf(alice.request("/v2/alice/app/tags/list"))).toBe(200);
  });
});

describe("skopeo interop", () => {
  const layoutDirs: string[] = [];
  afterAll(() => {
    for (const d of layoutDirs) rmSync(d, { recursive: true, force: true });
  });

  async function skopeo(...args: string[]): Promise<string> {
    const { stdout } = await run("skopeo", ["--insecure-policy", ...args], { timeout: 60_000 });
    return stdout;
  }

  async function exercise(url: string): Promise<void> {
    const host = new URL(url).host;
    const creds = `alice:${USERS.alice}`;
    const image = buildTestImage("skopeo interop\n");
    await new AuthClient(url, { user: "alice", password: USERS.alice }).pushImage(
      "alice/app",
      "v1",
      "skopeo interop\n",
    );

    const inspected = JSON.parse(
      await skopeo("inspect", "--creds", creds, "--tls-verify=false", `docker://${host}/alice/app:v1`),
    );
    expect(inspected.Digest).toBe(image.digest);
    expect(inspected.Architecture).toBe("amd64");

    // Registry to registry (token mode asks for two scopes; blobs may be mounted), then to an OCI layout and back.
    await skopeo(
      "copy",
      "--src-creds",
      creds,
      "--dest-creds",
      creds,
      "--src-tls-verify=false",
      "--dest-tls-verify=false",
      `docker://${host}/alice/app:v1`,
      `docker://${host}/alice/copy:v1`,
    );
    const layout = mkdtempSync(path.join(os.tmpdir(), "gantry-skopeo-"));
    layoutDirs.push(layout);
    await skopeo(
      "copy",
      "--src-creds",
      creds,
      "--src-tls-verify=false",
      `docker://${host}/alice/copy:v1`,
      `oci:${layout}:v1`,
    );
    await skopeo(
      "copy",
      "--dest-creds",
      creds,
      "--dest-tls-verify=false",
      `oci:${layout}:v1`,
      `docker://${host}/alice/pushed:v2`,
    );
    const pushed = JSON.parse(
      await skopeo(
        "inspect",
        "--raw",
        "--creds",
        creds,
        "--tls-verify=false",
        `docker://${host}/alice/pushed:v2`,
      ),
    );
    expect(pushed.layers[0].digest).toBe(JSON.parse(image.manifest).layers[0].digest);

    // Wrong password and a namespace alice may not push to both fail.
    await expect(
      skopeo("inspect", "--creds", "alice:wrong", "--tls-verify=false", `docker://${host}/alice/app:v1`),
    ).rejects.toThrow();
    await expect(
      skopeo(
        "copy",
        "--dest-creds",
        creds,
        "--dest-tls-verify=false",
        `oci:${layout}:v1`,
        `docker://${host}/bob/x:v1`,
      ),
    ).rejects.toThrow();
  }

  it("copies and inspects with --creds against Basic auth", async () => {
    const { url } = await basicRegistry();
    await exercise(url);
  });

  it("copies and inspects with --creds against token auth", async () => {
    const { url } = await tokenRegistry();
    await exercise(url);
  });
});

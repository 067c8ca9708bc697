import { statSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import bcrypt from "bcryptjs";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  defaultAccessPolicy,
  firstDenied,
  globToRegExp,
  grantedPart,
  parseAcl,
} from "../src/registry/auth/acl.js";
import { AuthConfigError } from "../src/registry/auth/errors.js";
import {
  createHtpasswdAuthorizer,
  HtpasswdVerifier,
  parseBasicAuthorization,
  parseHtpasswd,
} from "../src/registry/auth/htpasswd.js";
import { loadOrCreateSigningKey, signJwt, verifyJwt } from "../src/registry/auth/signing-key.js";
import { createTokenAuthorizer, type TokenService } from "../src/registry/auth/token.js";
import { accessCovers, parseScope, parseScopes } from "../src/registry/auth/token-scope.js";
import type { AccessRequest } from "../src/registry/auth/types.js";
import {
  type AuthFixture,
  basicHeader,
  fakeRequest,
  htpasswdText,
  makeAuthFixture,
} from "./helpers/auth-fixtures.js";

const fixtures: AuthFixture[] = [];
function fixture(users: Record<string, string> = {}, acl?: unknown): AuthFixture {
  const f = makeAuthFixture(users, acl);
  fixtures.push(f);
  return f;
}
afterEach(() => {
  vi.restoreAllMocks();
  for (const f of fixtures.splice(0)) f.cleanup();
});

const pull = (name: string): AccessRequest => ({ type: "repository", name, actions: ["pull"] });
const push = (name: string): AccessRequest => ({ type: "repository", name, actions: ["pull", "push"] });

describe("htpasswd parsing", () => {
  it("accepts bcrypt $2y$, $2a$ and $2b$, skipping comments and blank lines", () => {
    const text = [
      "# users",
      htpasswdText({ alice: "a" }, "$2y$"),
      "",
      htpasswdText({ bob: "b" }, "$2a$"),
      htpasswdText({ carol: "c" }, "$2b$"),
    ].join("\n");
    expect([...parseHtpasswd(text).keys()]).toEqual(["alice", "bob", "carol"]);
  });

  it.each([
    ["bob:$apr1$abc$0123456789abcdefghijk.", "Apache MD5 ($apr1$)"],
    ["bob:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "SHA-1 ({SHA})"],
    ["bob:$6$salt$hash", "SHA-512-crypt ($6$)"],
    ["bob:secret", "plain text"],
  ])("rejects %s naming the line and the hash kind", (line, kind) => {
    const text = `${htpasswdText({ alice: "a" })}\n# comment\n${line}\n`;
    let error: unknown;
    try {
      parseHtpasswd(text, "/etc/gantry/htpasswd");
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(AuthConfigError);
    const e = error as AuthConfigError;
    expect(e.location).toMatchObject({ file: "/etc/gantry/htpasswd", line: 3 });
    expect(e.message).toContain(kind);
    expect(e.message).toContain('user "bob"');
  });

  it("rejects lines without a colon and duplicate users", () => {
    const lineOf = (text: string) => {
      try {
        parseHtpasswd(text, "f");
      } catch (err) {
        return `${(err as AuthConfigError).location?.line}: ${(err as Error).message}`;
      }
    };
    expect(lineOf("justaname\n")).toBe('1: expected "user:hash"');
    expect(lineOf(`${htpasswdText({ alice: "a" })}\n${htpasswdText({ alice: "b" })}`)).toBe(
      '2: user "alice" is listed twice',
    );
  });

  it("reads Basic authorization headers", () => {
    expect(parseBasicAuthorization(basicHeader("alice", "p:w"))).toEqual({ user: "alice", password: "p:w" });
    expect(parseBasicAuthorization(undefined)).toBeUndefined();
    expect(parseBasicAuthorization("Bearer abc")).toBeUndefined();
    expect(parseBasicAuthorization(`Basic ${Buffer.from("nocolon").toString("base64")}`)).toBe("malformed");
    expect(parseBasicAuthorization("Basic !!!")).toBe("malformed");
  });
});

describe("htpasswd verifier", () => {
  it("verifies every bcrypt version tag", async () => {
    for (const prefix of ["$2y$", "$2a$", "$2b$"] as const) {
      const f = fixture();
      f.writeHtpasswd({ alice: "wonderland" }, prefix);
      const verifier = new HtpasswdVerifier({ file: f.htpasswdFile });
      expect(await verifier.verify("alice", "wonderland")).toBe(true);
      expect(await verifier.verify("alice", "wrong")).toBe(false);
      expect(await verifier.verify("nobody", "wonderland")).toBe(false);
    }
  });

  it("caches successful verifications and shares one bcrypt run between concurrent checks", async () => {
    const f = fixture({ alice: "wonderland" });
    const compare = vi.spyOn(bcrypt, "compare");
    const verifier = new HtpasswdVerifier({ file: f.htpasswdFile });
    const results = await Promise.all(
      Array.from({ length: 5 }, () => verifier.verify("alice", "wonderland")),
    );
    expect(results).toEqual([true, true, true, true, true]);
    expect(await verifier.verify("alice", "wonderland")).toBe(true);
    expect(compare).toHaveBeenCalledTimes(1);
    // Failures are not cached as successes, and a different password is a different cache entry.
    expect(await verifier.verify("alice", "nope")).toBe(false);
    expect(await verifier.verify("alice", "nope")).toBe(false);
    expect(compare).toHaveBeenCalledTimes(3);
  });

  it("expires cached verifications", async () => {
    const f = fixture({ alice: "wonderland" });
    const compare = vi.spyOn(bcrypt, "compare");
    const verifier = new HtpasswdVerifier({ file: f.htpasswdFile, cacheTtlMs: 1 });
    await verifier.verify("alice", "wonderland");
    await new Promise((r) => setTimeout(r, 5));
    await verifier.verify("alice", "wonderland");
    expect(compare).toHaveBeenCalledTimes(2);
  });

  it("reloads the file when it changes, dropping cached verifications", async () => {
    const f = fixture({ alice: "old" });
    const verifier = new HtpasswdVerifier({ file: f.htpasswdFile, checkIntervalMs: 0 });
    expect(await verifier.verify("alice", "old")).toBe(true);
    f.writeHtpasswd({ alice: "new", bob: "b" });
    expect(await verifier.verify("alice", "old")).toBe(false);
    expect(await verifier.verify("alice", "new")).toBe(true);
    expect(await verifier.verify("bob", "b")).toBe(true);
  });

  it("fails closed while a changed file is broken, and recovers when it is fixed", async () => {
    const f = fixture({ alice: "a" });
    const reloadErrors: unknown[] = [];
    const verifier = new HtpasswdVerifier({
      file: f.htpasswdFile,
      checkIntervalMs: 0,
      onReloadError: (err) => reloadErrors.push(err),
    });
    expect(await verifier.verify("alice", "a")).toBe(true);
    writeFileSync(f.htpasswdFile, "alice:$apr1$xyz$abc\n");
    expect(await verifier.verify("alice", "a")).toBe(false);
    expect(reloadErrors).toHaveLength(1);
    f.writeHtpasswd({ alice: "a" });
    expect(await verifier.verify("alice", "a")).toBe(true);
  });

  it("reports a broken file when created", () => {
    const f = fixture();
    writeFileSync(f.htpasswdFile, "alice:plain\n");
    expect(() => new HtpasswdVerifier({ file: f.htpasswdFile })).toThrow(AuthConfigError);
  });
});

describe("ACL", () => {
  const acl = parseAcl(
    JSON.stringify([
      { account: "alice", name: "team/*", actions: ["pull", "push"] },
      { account: "alice", name: "team/keep", actions: ["delete"] },
      { account: "*", name: "public/*", actions: ["pull"] },
      { account: "ci-?", name: "*", actions: ["*"] },
      { account: "", name: "open/app", actions: ["pull"] },
      { account: "admin", type: "registry", name: "catalog", actions: ["*"] },
    ]),
  );

  it("globs repository and account names", () => {
    expect(globToRegExp("team/*").test("team/sub/app")).toBe(true);
    expect(globToRegExp("team/*").test("teams/app")).toBe(false);
    expect(globToRegExp("a.b?").test("a.bc")).toBe(true);
    expect(globToRegExp("a.b?").test("axbc")).toBe(false);
  });

  it("gives each subject the union of its matching rules", () => {
    expect([...acl.actionsFor("alice", "repository", "team/app")].sort()).toEqual(["pull", "push"]);
    expect([...acl.actionsFor("alice", "repository", "team/keep")].sort()).toEqual([
      "delete",
      "pull",
      "push",
    ]);
    expect([...acl.actionsFor("alice", "repository", "public/x")]).toEqual(["pull"]);
    expect([...acl.actionsFor("bob", "repository", "team/app")]).toEqual([]);
    expect(acl.actionsFor("ci-1", "repository", "anything/at/all").has("delete")).toBe(true);
  });

  it("keeps anonymous and authenticated rules apart", () => {
    expect([...acl.actionsFor("", "repository", "open/app")]).toEqual(["pull"]);
    expect([...acl.actionsFor("", "repository", "public/x")]).toEqual([]);
    expect([...acl.actionsFor("alice", "repository", "open/app")]).toEqual([]);
  });

  it("checks registry-scoped rights separately", () => {
    const catalog: AccessRequest = { type: "registry", name: "catalog", actions: ["*"] };
    expect(firstDenied(acl, "admin", [catalog])).toBeUndefined();
    expect(firstDenied(acl, "alice", [catalog])).toEqual(catalog);
  });

  it("names the first denied request", () => {
    expect(firstDenied(acl, "alice", [pull("team/a"), push("team/b")])).toBeUndefined();
    expect(firstDenied(acl, "alice", [pull("team/a"), push("other/b")])).toEqual(push("other/b"));
  });

  it("grants the permitted subset of a scope", () => {
    const s = { type: "repository", name: "public/x", actions: ["pull", "push"] };
    expect(grantedPart(acl, "alice", s)).toEqual({ type: "repository", name: "public/x", actions: ["pull"] });
    expect(grantedPart(acl, "bob", { ...s, name: "team/a" })).toBeUndefined();
    expect(grantedPart(acl, "alice", { ...s, type: "plugin" })).toBeUndefined();
  });

  it("defaults to everything for users and nothing for anonymous", () => {
    expect(firstDenied(defaultAccessPolicy, "anyone", [push("x/y")])).toBeUndefined();
    expect(firstDenied(defaultAccessPolicy, "", [pull("x/y")])).toEqual(pull("x/y"));
  });

  it("reports malformed ACL files with the rule", () => {
    expect(() => parseAcl("{", "acl.json")).toThrow(/acl.json: not valid JSON/);
    expect(() => parseAcl('[{"account":"a","name":"x","actions":["fly"]}]', "acl.json")).toThrow(
      /acl.json: invalid ACL at rule 0\.actions\.0/,
    );
    expect(() => parseAcl('[{"account":"a","actions":["pull"]}]', "acl.json")).toThrow(/at rule 0\.name/);
  });
});

describe("htpasswd authorizer", () => {
  function make(acl?: unknown) {
    const f = fixture({ alice: "wonderland", bob: "builder" }, acl);
    return createHtpasswdAuthorizer({
      htpasswdFile: f.htpasswdFile,
      aclFile: acl === undefined ? undefined : f.aclFile,
      realm: "Gantry Registry",
    });
  }

  it("challenges requests without credentials and with wrong ones", async () => {
    const auth = make();
    const none = await auth.authorize(fakeRequest(), [pull("a/b")]);
    expect(none).toMatchObject({ ok: false, status: 401, challenge: 'Basic realm="Gantry Registry"' });
    const wrong = await auth.authorize(fakeRequest(basicHeader("alice", "nope")), [pull("a/b")]);
    expect(wrong).toMatchObject({ ok: false, status: 401 });
    const unknown = await auth.authorize(fakeRequest(basicHeader("mallory", "x")), []);
    expect(unknown).toMatchObject({ ok: false, status: 401 });
  });

  it("allows valid credentials (default policy: everything)", async () => {
    const auth = make();
    expect(await auth.authorize(fakeRequest(basicHeader("alice", "wonderland")), [push("a/b")])).toEqual({
      ok: true,
      principal: { subject: "alice" },
    });
    expect(await auth.authorize(fakeRequest(basicHeader("alice", "wonderland")), [])).toMatchObject({
      ok: true,
    });
  });

  it("answers 403 when an authenticated user lacks the action, and lets anonymous in where the ACL says", async () => {
    const auth = make([
      { account: "alice", name: "alice/*", actions: ["pull", "push"] },
      { account: "", name: "public/*", actions: ["pull"] },
    ]);
    const denied = await auth.authorize(fakeRequest(basicHeader("alice", "wonderland")), [push("bob/app")]);
    expect(denied).toMatchObject({ ok: false, status: 403 });
    expect(denied.ok === false && denied.message).toContain("repository:bob/app:pull,push");
    expect(await auth.authorize(fakeRequest(), [pull("public/x")])).toMatchObject({ ok: true });
    expect(await auth.authorize(fakeRequest(), [push("public/x")])).toMatchObject({ ok: false, status: 401 });
    // The bare /v2/ check always wants credentials, so clients learn this registry has auth.
    expect(await auth.authorize(fakeRequest(), [])).toMatchObject({ ok: false, status: 401 });
  });
});

describe("token scopes", () => {
  it("parses scopes, including names with a host:port and resource classes", () => {
    expect(parseScope("repository:ns/app:pull,push")).toEqual({
      type: "repository",
      name: "ns/app",
      actions: ["pull", "push"],
    });
    expect(parseScope("repository:localhost:5000/app:pull")?.name).toBe("localhost:5000/app");
    expect(parseScope("repository(plugin):x:pull")?.type).toBe("repository");
    expect(parseScope("registry:catalog:*")).toEqual({ type: "registry", name: "catalog", actions: ["*"] });
    expect(parseScope("nonsense")).toBeUndefined();
    expect(parseScope("repository:app")).toBeUndefined();
  });

  it("merges repeated and space-separated scopes", () => {
    expect(parseScopes(["repository:a:pull repository:b:push", "repository:a:push,pull"])).toEqual([
      { type: "repository", name: "a", actions: ["pull", "push"] },
      { type: "repository", name: "b", actions: ["push"] },
    ]);
  });

  it("checks coverage of every requested action", () => {
    const granted = [{ type: "repository", name: "a", actions: ["pull"] }];
    expect(accessCovers(granted, [pull("a")])).toBe(true);
    expect(accessCovers(granted, [push("a")])).toBe(false);
    expect(accessCovers(granted, [pull("b")])).toBe(false);
    expect(accessCovers([{ type: "repository", name: "a", actions: ["*"] }], [push("a")])).toBe(true);
    expect(accessCovers([], [])).toBe(true);
  });
});

describe("signing key and JWTs", () => {
  it("creates the key once, with private permissions, and reuses it", async () => {
    const f = fixture();
    const [k1, k2] = await Promise.all([loadOrCreateSigningKey(f.dir), loadOrCreateSigningKey(f.dir)]);
    expect(k1.kid).toBe(k2.kid);
    const file = path.join(f.dir, "auth", "token-key.pem");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect((await loadOrCreateSigningKey(f.dir)).kid).toBe(k1.kid);
  });

  it("signs and verifies, and rejects tampering and other keys", async () => {
    const a = await loadOrCreateSigningKey(fixture().dir);
    const b = await loadOrCreateSigningKey(fixture().dir);
    const token = signJwt({ sub: "alice", n: 1 }, a);
    expect(verifyJwt(token, a)).toEqual({ sub: "alice", n: 1 });
    expect(verifyJwt(token, b)).toBeUndefined();
    const [h, , s] = token.split(".");
    const forged = `${h}.${Buffer.from(JSON.stringify({ sub: "root", n: 1 })).toString("base64url")}.${s}`;
    expect(verifyJwt(forged, a)).toBeUndefined();
    expect(verifyJwt("a.b", a)).toBeUndefined();
  });
});

describe("token service", () => {
  let server: http.Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  /** Serves the token endpoint, and answers 200/401 on /check?scope=… through authorize(). */
  async function serve(tokens: TokenService): Promise<string> {
    server = http.createServer(async (req, res) => {
      if (await tokens.handle(req, res)) return;
      const url = new URL(req.url ?? "/", "http://x");
      const access = parseScopes(url.searchParams.getAll("scope")) as AccessRequest[];
      const decision = await tokens.authorize(req, access);
      if (decision.ok) res.writeHead(200).end(decision.principal.subject);
      else
        res
          .writeHead(decision.status, { "WWW-Authenticate": decision.challenge ?? "" })
          .end(decision.message);
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
  }

  function make(ttlSeconds = 300) {
    const f = fixture({ alice: "wonderland" }, [
      { account: "alice", name: "alice/*", actions: ["pull", "push"] },
      { account: "*", name: "shared/*", actions: ["pull"] },
      { account: "", name: "public/*", actions: ["pull"] },
    ]);
    const tokens = createTokenAuthorizer({
      htpasswdFile: f.htpasswdFile,
      aclFile: f.aclFile,
      dataRoot: f.dir,
      service: "gantry.test",
      ttlSeconds,
    });
    return { f, tokens };
  }

  async function getToken(base: string, scopes: string[], auth?: string) {
    const q = new URLSearchParams({ service: "gantry.test" });
    for (const s of scopes) q.append("scope", s);
    const res = await fetch(`${base}/token?${q}`, { headers: auth ? { authorization: auth } : {} });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  function claimsOf(token: unknown): Record<string, unknown> {
    return JSON.parse(Buffer.from(String(token).split(".")[1]!, "base64url").toString("utf8"));
  }

  it("grants only the permitted subset of requested scopes", async () => {
    const { tokens } = make();
    const base = await serve(tokens);
    const { status, body } = await getToken(
      base,
      ["repository:alice/app:pull,push", "repository:shared/lib:pull,push,delete", "repository:bob/app:push"],
      basicHeader("alice", "wonderland"),
    );
    expect(status).toBe(200);
    expect(body.token).toBe(body.access_token);
    expect(body.expires_in).toBe(300);
    expect(typeof body.issued_at).toBe("string");
    const claims = claimsOf(body.token);
    expect(claims.access).toEqual([
      { type: "repository", name: "alice/app", actions: ["pull", "push"] },
      { type: "repository", name: "shared/lib", actions: ["pull"] },
    ]);
    expect(claims).toMatchObject({ sub: "alice", aud: "gantry.test" });
  });

  it("issues anonymous tokens with what the ACL grants anonymous, and refuses bad credentials", async () => {
    const { tokens } = make();
    const base = await serve(tokens);
    const anon = await getToken(base, ["repository:public/x:pull,push", "repository:alice/app:pull"]);
    expect(anon.status).toBe(200);
    expect(claimsOf(anon.body.token).access).toEqual([
      { type: "repository", name: "public/x", actions: ["pull"] },
    ]);
    const bad = await getToken(base, ["repository:alice/app:pull"], basicHeader("alice", "wrong"));
    expect(bad.status).toBe(401);
  });

  it("supports the OAuth2 password and refresh_token grants", async () => {
    const { tokens } = make();
    const base = await serve(tokens);
    const form = new URLSearchParams({
      grant_type: "password",
      service: "gantry.test",
      client_id: "test",
      access_type: "offline",
      username: "alice",
      password: "wonderland",
      scope: "repository:alice/app:pull,push repository:bob/x:pull",
    });
    const res = await fetch(`${base}/token`, { method: "POST", body: form });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(claimsOf(body.access_token).access).toEqual([
      { type: "repository", name: "alice/app", actions: ["pull", "push"] },
    ]);
    expect(typeof body.refresh_token).toBe("string");

    const refresh = new URLSearchParams({
      grant_type: "refresh_token",
      service: "gantry.test",
      refresh_token: String(body.refresh_token),
      scope: "repository:alice/app:pull",
    });
    const res2 = await fetch(`${base}/token`, { method: "POST", body: refresh });
    expect(res2.status).toBe(200);
    expect(claimsOf(((await res2.json()) as Record<string, unknown>).access_token).sub).toBe("alice");

    // A refresh token is not an access token.
    const check = await fetch(`${base}/check?scope=repository:alice/app:pull`, {
      headers: { authorization: `Bearer ${body.refresh_token}` },
    });
    expect(check.status).toBe(401);

    const wrong = new URLSearchParams({ grant_type: "password", username: "alice", password: "x" });
    expect((await fetch(`${base}/token`, { method: "POST", body: wrong })).status).toBe(401);
  });

  it("challenges, accepts covering tokens, and flags insufficient scope", async () => {
    const { tokens } = make();
    const base = await serve(tokens);
    const port = new URL(base).port;
    const noToken = await fetch(`${base}/check?scope=repository:alice/app:pull`);
    expect(noToken.status).toBe(401);
    expect(noToken.headers.get("www-authenticate")).toBe(
      `Bearer realm="http://127.0.0.1:${port}/token",service="gantry.test",scope="repository:alice/app:pull"`,
    );
    const { body } = await getToken(base, ["repository:alice/app:pull"], basicHeader("alice", "wonderland"));
    const auth = { authorization: `Bearer ${body.token}` };
    const ok = await fetch(`${base}/check?scope=repository:alice/app:pull`, { headers: auth });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe("alice");
    const more = await fetch(`${base}/check?scope=repository:alice/app:pull,push`, { headers: auth });
    expect(more.status).toBe(401);
    expect(more.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
    expect(more.headers.get("www-authenticate")).toContain('scope="repository:alice/app:pull,push"');
  });

  it("rejects expired tokens, tokens for another service and garbage", async () => {
    const { f, tokens } = make();
    await tokens.ready();
    const key = await loadOrCreateSigningKey(f.dir);
    const now = Math.floor(Date.now() / 1000);
    const access = [{ type: "repository", name: "alice/app", actions: ["pull"] }];
    const expired = signJwt({ sub: "alice", aud: "gantry.test", exp: now - 1, access }, key);
    const otherService = signJwt({ sub: "alice", aud: "elsewhere", exp: now + 60, access }, key);
    for (const token of [expired, otherService, "not.a.jwt"]) {
      const decision = await tokens.authorize(fakeRequest(`Bearer ${token}`), [pull("alice/app")]);
      expect(decision).toMatchObject({ ok: false, status: 401 });
      expect(decision.ok === false && decision.challenge).toContain('error="invalid_token"');
    }
    const good = signJwt({ sub: "alice", aud: "gantry.test", exp: now + 60, access }, key);
    expect(await tokens.authorize(fakeRequest(`Bearer ${good}`), [pull("alice/app")])).toMatchObject({
      ok: true,
    });
  });
});

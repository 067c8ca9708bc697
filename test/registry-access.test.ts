/** How the server uses an Authorizer (a fake one here; real auth is tested in registry-auth*.test.ts). */
import type { IncomingMessage } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AccessRequest, Authorizer } from "../src/registry/auth/types.js";
import { errorCode, pushBlob, type StartedRegistry, startRegistry } from "./helpers/registry.js";

/** `Authorization: user <name>`; user "ro" may only pull, "rw" may do anything, nobody may read "secret/*". */
const fake: Authorizer & { seen: AccessRequest[][] } = {
  seen: [],
  async authorize(req: IncomingMessage, access: AccessRequest[]) {
    this.seen.push(access);
    const user = /^user (\w+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (!user)
      return { ok: false, status: 401, challenge: 'Basic realm="test"', message: "authentication required" };
    for (const a of access) {
      if (a.name.startsWith("secret/")) return { ok: false, status: 403, message: "no" };
      if (user === "ro" && a.actions.some((x) => x !== "pull"))
        return { ok: false, status: 403, message: "read only" };
    }
    return { ok: true, principal: { subject: user } };
  },
};

let reg: StartedRegistry;
beforeAll(async () => {
  reg = await startRegistry({ authorizer: fake });
});
afterAll(async () => {
  await reg.dispose();
});

const as = (user: string) => ({ Authorization: `user ${user}` });

describe("authorization", () => {
  it("GET /v2/ without credentials is 401 UNAUTHORIZED with the challenge", async () => {
    const res = await fetch(`${reg.url}/v2/`);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Basic realm="test"');
    expect(await errorCode(res)).toBe("UNAUTHORIZED");
    expect((await fetch(`${reg.url}/v2/`, { headers: as("ro") })).status).toBe(200);
  });

  it("asks for pull on reads, pull+push on uploads, delete on deletes, catalog scope for _catalog", async () => {
    fake.seen.length = 0;
    await fetch(`${reg.url}/v2/a/b/tags/list`, { headers: as("rw") });
    await fetch(`${reg.url}/v2/a/b/blobs/uploads/`, { method: "POST", headers: as("rw") });
    await fetch(`${reg.url}/v2/a/b/manifests/x`, { method: "DELETE", headers: as("rw") });
    await fetch(`${reg.url}/v2/_catalog`, { headers: as("rw") });
    expect(fake.seen).toEqual([
      [{ type: "repository", name: "a/b", actions: ["pull"] }],
      [{ type: "repository", name: "a/b", actions: ["pull", "push"] }],
      [{ type: "repository", name: "a/b", actions: ["delete"] }],
      [{ type: "registry", name: "catalog", actions: ["*"] }],
    ]);
  });

  it("an authenticated but forbidden request is 403 DENIED", async () => {
    const res = await fetch(`${reg.url}/v2/a/b/blobs/uploads/`, { method: "POST", headers: as("ro") });
    expect(res.status).toBe(403);
    expect(await errorCode(res)).toBe("DENIED");
  });

  it("healthz and metrics need no credentials", async () => {
    expect((await fetch(`${reg.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${reg.url}/metrics`)).status).toBe(200);
  });

  it("a mount from a repository the caller may not pull falls back to a session", async () => {
    const data = "secret layer";
    const digest = await (async () => {
      // Put it into secret/src behind the fake's back: push to an open repo, then mount as the server would.
      const d = await pushBlobAs("rw", "open/src", data);
      await reg.server.services!.repos.linkBlob("secret/src", d as `sha256:${string}`);
      return d;
    })();
    const denied = await fetch(`${reg.url}/v2/mine/app/blobs/uploads/?mount=${digest}&from=secret/src`, {
      method: "POST",
      headers: as("rw"),
    });
    expect(denied.status).toBe(202);
    const allowed = await fetch(`${reg.url}/v2/mine/app/blobs/uploads/?mount=${digest}&from=open/src`, {
      method: "POST",
      headers: as("rw"),
    });
    expect(allowed.status).toBe(201);
  });
});

async function pushBlobAs(user: string, repo: string, data: string): Promise<string> {
  const orig = globalThis.fetch;
  globalThis.fetch = ((input: string | URL | Request, init: RequestInit = {}) =>
    orig(input, {
      ...init,
      headers: { ...(init.headers as Record<string, string>), ...as(user) },
    })) as typeof fetch;
  try {
    return await pushBlob(reg.url, repo, data);
  } finally {
    globalThis.fetch = orig;
  }
}

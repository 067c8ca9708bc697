import { readdir } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorCode, pushBlob, type StartedRegistry, sha256, startRegistry } from "./helpers/registry.js";

let reg: StartedRegistry;
beforeAll(async () => {
  reg = await startRegistry();
});
afterAll(async () => {
  await reg.dispose();
});

async function start(repo = "ns/up"): Promise<{ location: string; uuid: string }> {
  const res = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: "POST" });
  expect(res.status).toBe(202);
  expect(res.headers.get("range")).toBe("0-0");
  expect(res.headers.get("content-length")).toBe("0");
  const location = res.headers.get("location")!;
  const uuid = res.headers.get("docker-upload-uuid")!;
  expect(location).toBe(`/v2/${repo}/blobs/uploads/${uuid}`);
  return { location, uuid };
}

const at = (location: string, query = ""): string => `${reg.url}${location}${query}`;

describe("monolithic uploads", () => {
  it("POST ?digest= with the body → 201 Location + Docker-Content-Digest", async () => {
    const data = "monolithic content";
    const d = sha256(data);
    const res = await fetch(`${reg.url}/v2/ns/mono/blobs/uploads/?digest=${d}`, {
      method: "POST",
      body: data,
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("location")).toBe(`/v2/ns/mono/blobs/${d}`);
    expect(res.headers.get("docker-content-digest")).toBe(d);
    expect(await (await fetch(`${reg.url}/v2/ns/mono/blobs/${d}`)).text()).toBe(data);
  });
  it("a wrong digest is 400 DIGEST_INVALID and nothing is kept", async () => {
    const d = sha256("other");
    const res = await fetch(`${reg.url}/v2/ns/mono/blobs/uploads/?digest=${d}`, {
      method: "POST",
      body: "data",
    });
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe("DIGEST_INVALID");
    expect((await fetch(`${reg.url}/v2/ns/mono/blobs/${d}`, { method: "HEAD" })).status).toBe(404);
  });
  it("POST then PUT with the whole body", async () => {
    const { location } = await start();
    const data = "single put";
    const res = await fetch(at(location, `?digest=${sha256(data)}`), { method: "PUT", body: data });
    expect(res.status).toBe(201);
    expect(res.headers.get("docker-content-digest")).toBe(sha256(data));
  });
});

describe("chunked uploads", () => {
  it("PATCH chunks with Content-Range, status GET, final PUT", async () => {
    const { location, uuid } = await start();
    const parts = ["first chunk|", "second chunk|", "third"];
    let offset = 0;
    let loc = location;
    for (const p of parts) {
      const res = await fetch(at(loc), {
        method: "PATCH",
        headers: {
          "Content-Type": "application/octet-stream",
          "Content-Range": `${offset}-${offset + p.length - 1}`,
          "Content-Length": String(p.length),
        },
        body: p,
      });
      expect(res.status).toBe(202);
      offset += p.length;
      expect(res.headers.get("range")).toBe(`0-${offset - 1}`);
      expect(res.headers.get("docker-upload-uuid")).toBe(uuid);
      loc = res.headers.get("location")!;
    }
    const status = await fetch(at(loc));
    expect(status.status).toBe(204);
    expect(status.headers.get("range")).toBe(`0-${offset - 1}`);
    expect(status.headers.get("location")).toBe(location);
    const all = parts.join("");
    const done = await fetch(at(loc, `?digest=${sha256(all)}`), { method: "PUT" });
    expect(done.status).toBe(201);
    expect(done.headers.get("location")).toBe(`/v2/ns/up/blobs/${sha256(all)}`);
    expect(await (await fetch(`${reg.url}/v2/ns/up/blobs/${sha256(all)}`)).text()).toBe(all);
    // The session is gone.
    expect((await fetch(at(loc))).status).toBe(404);
  });

  it("an out-of-order chunk is 416 and leaves the session as it was", async () => {
    const { location } = await start();
    const ok = await fetch(at(location), {
      method: "PATCH",
      headers: { "Content-Range": "0-3" },
      body: "abcd",
    });
    expect(ok.status).toBe(202);
    const bad = await fetch(at(location), {
      method: "PATCH",
      headers: { "Content-Range": "10-13" },
      body: "wxyz",
    });
    expect(bad.status).toBe(416);
    expect(bad.headers.get("range")).toBe("0-3");
    expect(bad.headers.get("location")).toBe(location);
    expect(await errorCode(bad)).toBe("BLOB_UPLOAD_INVALID");
    const again = await fetch(at(location), {
      method: "PATCH",
      headers: { "Content-Range": "0-3" },
      body: "abcd",
    });
    expect(again.status).toBe(416);
    await again.body?.cancel();
    const status = await fetch(at(location));
    expect(status.headers.get("range")).toBe("0-3");
    const fin = await fetch(at(location, `?digest=${sha256("abcdefg")}`), {
      method: "PUT",
      headers: { "Content-Range": "4-6" },
      body: "efg",
    });
    expect(fin.status).toBe(201);
  });

  it("streamed PATCH without Content-Range appends", async () => {
    const { location } = await start();
    const a = Buffer.alloc(256 * 1024, 1);
    const b = Buffer.alloc(100 * 1024, 2);
    for (const chunk of [a, b]) {
      const res = await fetch(at(location), {
        method: "PATCH",
        body: new ReadableStream({
          start(c) {
            c.enqueue(chunk.subarray(0, 1000));
            c.enqueue(chunk.subarray(1000));
            c.close();
          },
        }),
        duplex: "half",
      } as RequestInit);
      expect(res.status).toBe(202);
    }
    const all = Buffer.concat([a, b]);
    const status = await fetch(at(location));
    expect(status.headers.get("range")).toBe(`0-${all.length - 1}`);
    const fin = await fetch(at(location, `?digest=${sha256(all)}`), { method: "PUT" });
    expect(fin.status).toBe(201);
  });

  it("PUT with the wrong digest is 400 DIGEST_INVALID and discards the session", async () => {
    const { location } = await start();
    await fetch(at(location), { method: "PATCH", body: "some bytes" });
    const res = await fetch(at(location, `?digest=${sha256("different")}`), { method: "PUT" });
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe("DIGEST_INVALID");
    expect((await fetch(at(location))).status).toBe(404);
  });

  it("PUT without or with a malformed digest is 400 DIGEST_INVALID", async () => {
    const { location } = await start();
    let res = await fetch(at(location), { method: "PUT" });
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe("DIGEST_INVALID");
    res = await fetch(at(location, "?digest=sha256:zz"), { method: "PUT" });
    expect(await errorCode(res)).toBe("DIGEST_INVALID");
  });

  it("a malformed Content-Range is 416 BLOB_UPLOAD_INVALID with the current Range", async () => {
    const { location, uuid } = await start();
    const res = await fetch(at(location), {
      method: "PATCH",
      headers: { "Content-Range": "x-y" },
      body: "1",
    });
    expect(res.status).toBe(416);
    expect(res.headers.get("range")).toBe("0-0");
    expect(res.headers.get("blob-upload-session-id")).toBe(uuid);
    expect(await errorCode(res)).toBe("BLOB_UPLOAD_INVALID");
  });

  it("DELETE cancels (204); the session is then unknown (404 BLOB_UPLOAD_UNKNOWN)", async () => {
    const { location } = await start();
    const res = await fetch(at(location), { method: "DELETE" });
    expect(res.status).toBe(204);
    const after = await fetch(at(location));
    expect(after.status).toBe(404);
    expect(await errorCode(after)).toBe("BLOB_UPLOAD_UNKNOWN");
  });

  it("unknown, malformed, or other-repository session ids are BLOB_UPLOAD_UNKNOWN", async () => {
    const { uuid } = await start("ns/a");
    for (const u of [
      `/v2/ns/b/blobs/uploads/${uuid}`,
      "/v2/ns/a/blobs/uploads/not-a-uuid",
      "/v2/ns/a/blobs/uploads/00000000-0000-0000-0000-000000000000",
    ]) {
      const res = await fetch(at(u), { method: "PATCH", body: "x" });
      expect(res.status, u).toBe(404);
      expect(await errorCode(res)).toBe("BLOB_UPLOAD_UNKNOWN");
    }
  });
});

describe("cross-repository mount", () => {
  it("mounts a blob linked in `from` → 201", async () => {
    const d = await pushBlob(reg.url, "src/repo", "mount me");
    const res = await fetch(`${reg.url}/v2/dst/repo/blobs/uploads/?mount=${d}&from=src/repo`, {
      method: "POST",
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("location")).toBe(`/v2/dst/repo/blobs/${d}`);
    expect(res.headers.get("docker-content-digest")).toBe(d);
    expect((await fetch(`${reg.url}/v2/dst/repo/blobs/${d}`, { method: "HEAD" })).status).toBe(200);
  });
  it("falls back to a new session (202) when `from` does not have it", async () => {
    const d = sha256("not there");
    const res = await fetch(`${reg.url}/v2/dst/repo/blobs/uploads/?mount=${d}&from=src/repo`, {
      method: "POST",
    });
    expect(res.status).toBe(202);
    expect(res.headers.get("docker-upload-uuid")).toBeTruthy();
    const bad = await fetch(`${reg.url}/v2/dst/repo/blobs/uploads/?mount=${d}&from=..%2Fetc`, {
      method: "POST",
    });
    expect(bad.status).toBe(202);
  });
});

describe("sessions on disk", () => {
  it("survive a server restart and can be resumed", async () => {
    const { location, uuid } = await start("ns/restart");
    await fetch(at(location), { method: "PATCH", headers: { "Content-Range": "0-4" }, body: "hello" });
    await reg.restart();
    const status = await fetch(at(location));
    expect(status.status).toBe(204);
    expect(status.headers.get("range")).toBe("0-4");
    expect(status.headers.get("docker-upload-uuid")).toBe(uuid);
    await fetch(at(location), { method: "PATCH", headers: { "Content-Range": "5-10" }, body: " world" });
    const fin = await fetch(at(location, `?digest=${sha256("hello world")}`), { method: "PUT" });
    expect(fin.status).toBe(201);
  });

  it("expire after the TTL and are swept", async () => {
    const short = await startRegistry({ uploadTtlMs: 300, uploadSweepIntervalMs: 100 });
    try {
      const res = await fetch(`${short.url}/v2/ns/ttl/blobs/uploads/`, { method: "POST" });
      const location = res.headers.get("location")!;
      expect((await fetch(`${short.url}${location}`)).status).toBe(204);
      await new Promise((r) => setTimeout(r, 900));
      const after = await fetch(`${short.url}${location}`);
      expect(after.status).toBe(404);
      expect(await errorCode(after)).toBe("BLOB_UPLOAD_UNKNOWN");
      expect(await readdir(path.join(short.root, "uploads"))).toEqual([]);
    } finally {
      await short.dispose();
    }
  });
});

describe("robustness", () => {
  it("a client that disconnects mid-chunk leaves the session at its previous offset", async () => {
    const net = await import("node:net");
    const { location } = await start("ns/cut");
    await fetch(at(location), { method: "PATCH", body: "12345" });
    const { hostname, port } = new URL(reg.url);
    await new Promise<void>((resolve) => {
      const socket = net.connect(Number(port), hostname, () => {
        socket.write(`PATCH ${location} HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n`);
        socket.write("partial data");
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 100);
      });
    });
    await new Promise((r) => setTimeout(r, 100));
    const status = await fetch(at(location));
    expect(status.status).toBe(204);
    expect(status.headers.get("range")).toBe("0-4");
    const fin = await fetch(at(location, `?digest=${sha256("1234567")}`), { method: "PUT", body: "67" });
    expect(fin.status).toBe(201);
  });

  it("concurrent PATCHes on one session are serialised; the loser gets 416", async () => {
    const { location } = await start("ns/race");
    const results = await Promise.all(
      ["aaaa", "bbbb"].map((body) =>
        fetch(at(location), { method: "PATCH", headers: { "Content-Range": "0-3" }, body }).then(
          (r) => r.status,
        ),
      ),
    );
    expect(results.sort()).toEqual([202, 416]);
    expect((await fetch(at(location))).headers.get("range")).toBe("0-3");
  });
});

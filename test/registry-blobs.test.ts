import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorCode, pushBlob, type StartedRegistry, sha256, startRegistry } from "./helpers/registry.js";

let reg: StartedRegistry;
beforeAll(async () => {
  reg = await startRegistry();
});
afterAll(async () => {
  await reg.dispose();
});

describe("registry base and health", () => {
  it("GET /v2/ answers 200 with the API version header", async () => {
    const res = await fetch(`${reg.url}/v2/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("docker-distribution-api-version")).toBe("registry/2.0");
    expect(await res.json()).toEqual({});
  });
  it("GET /healthz", async () => {
    const res = await fetch(`${reg.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });
  it("GET /metrics is Prometheus text", async () => {
    const res = await fetch(`${reg.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain; version=0.0.4");
  });
  it("unknown paths are 404 with a JSON error, wrong methods 405 UNSUPPORTED", async () => {
    const res = await fetch(`${reg.url}/v2/foo/bar/baz`);
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe("UNSUPPORTED");
    const res2 = await fetch(`${reg.url}/v2/_catalog`, { method: "POST" });
    expect(res2.status).toBe(405);
    expect(await errorCode(res2)).toBe("UNSUPPORTED");
  });
});

describe("blobs", () => {
  const data = "hello blob world, this is some content 0123456789";
  let digest: string;
  beforeAll(async () => {
    digest = await pushBlob(reg.url, "ns/app", data);
  });

  it("HEAD gives length, digest, ETag, Accept-Ranges and no body", async () => {
    const res = await fetch(`${reg.url}/v2/ns/app/blobs/${digest}`, { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe(String(data.length));
    expect(res.headers.get("docker-content-digest")).toBe(digest);
    expect(res.headers.get("etag")).toBe(`"${digest}"`);
    expect(res.headers.get("accept-ranges")).toBe("bytes");
  });

  it("GET streams the content", async () => {
    const res = await fetch(`${reg.url}/v2/ns/app/blobs/${digest}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(data);
  });

  it("Range gives 206 with Content-Range; suffix and open ranges work", async () => {
    let res = await fetch(`${reg.url}/v2/ns/app/blobs/${digest}`, { headers: { Range: "bytes=6-9" } });
    expect(res.status).toBe(206);
    expect(res.headers.get("content-range")).toBe(`bytes 6-9/${data.length}`);
    expect(await res.text()).toBe("blob");
    res = await fetch(`${reg.url}/v2/ns/app/blobs/${digest}`, { headers: { Range: "bytes=-4" } });
    expect(res.status).toBe(206);
    expect(await res.text()).toBe("6789");
    res = await fetch(`${reg.url}/v2/ns/app/blobs/${digest}`, { headers: { Range: "bytes=40-" } });
    expect(res.status).toBe(206);
    expect(await res.text()).toBe(data.slice(40));
  });

  it("unsatisfiable Range is 416 with Content-Range */size", async () => {
    const res = await fetch(`${reg.url}/v2/ns/app/blobs/${digest}`, {
      headers: { Range: "bytes=1000-2000" },
    });
    expect(res.status).toBe(416);
    expect(res.headers.get("content-range")).toBe(`bytes */${data.length}`);
    expect(await errorCode(res)).toBe("SIZE_INVALID");
  });

  it("If-None-Match with the ETag gives 304", async () => {
    const res = await fetch(`${reg.url}/v2/ns/app/blobs/${digest}`, {
      headers: { "If-None-Match": `"${digest}"` },
    });
    expect(res.status).toBe(304);
  });

  it("a blob is visible only in repositories it is linked to", async () => {
    const res = await fetch(`${reg.url}/v2/other/repo/blobs/${digest}`);
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe("BLOB_UNKNOWN");
  });

  it("unknown blob is 404 BLOB_UNKNOWN; HEAD has no body", async () => {
    const missing = sha256("nope");
    const res = await fetch(`${reg.url}/v2/ns/app/blobs/${missing}`);
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe("BLOB_UNKNOWN");
    const head = await fetch(`${reg.url}/v2/ns/app/blobs/${missing}`, { method: "HEAD" });
    expect(head.status).toBe(404);
    expect(await head.text()).toBe("");
  });

  it("bad digests are 400 DIGEST_INVALID", async () => {
    for (const bad of ["sha256:abc", "md5:0123", "sha256:" + "G".repeat(64), "nocolon"]) {
      const res = await fetch(`${reg.url}/v2/ns/app/blobs/${bad}`);
      expect(res.status, bad).toBe(400);
      expect(await errorCode(res)).toBe("DIGEST_INVALID");
    }
  });

  it("DELETE unlinks from the repository (202), then 404", async () => {
    const d = await pushBlob(reg.url, "ns/del", "to be deleted");
    await pushBlob(reg.url, "ns/keep", "to be deleted");
    const res = await fetch(`${reg.url}/v2/ns/del/blobs/${d}`, { method: "DELETE" });
    expect(res.status).toBe(202);
    const again = await fetch(`${reg.url}/v2/ns/del/blobs/${d}`, { method: "HEAD" });
    expect(again.status).toBe(404);
    const del2 = await fetch(`${reg.url}/v2/ns/del/blobs/${d}`, { method: "DELETE" });
    expect(del2.status).toBe(404);
    expect(await errorCode(del2)).toBe("BLOB_UNKNOWN");
    const other = await fetch(`${reg.url}/v2/ns/keep/blobs/${d}`, { method: "HEAD" });
    expect(other.status).toBe(200);
  });

  it("serves a larger blob intact", async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7 + 3) & 0xff;
    const d = await pushBlob(reg.url, "ns/big", big);
    const res = await fetch(`${reg.url}/v2/ns/big/blobs/${d}`);
    const got = Buffer.from(await res.arrayBuffer());
    expect(got.length).toBe(big.length);
    expect(sha256(got)).toBe(d);
  });

  it("concurrent and slow readers of multi-MiB blobs and ranges all get intact bytes (send buffers are reused only once written)", async () => {
    const blobs = [0, 1, 2].map((seed) => {
      const b = Buffer.alloc(5 * 1024 * 1024 + seed * 4099);
      for (let i = 0; i + 4 <= b.length; i += 4)
        b.writeUInt32LE((Math.imul(i + seed, 2654435761) ^ seed) >>> 0, i);
      return b;
    });
    const digests = await Promise.all(blobs.map((b) => pushBlob(reg.url, "ns/many", b)));
    // A reader that goes away half-way must not hurt the others.
    const abort = new AbortController();
    const aborted = fetch(`${reg.url}/v2/ns/many/blobs/${digests[0]}`, { signal: abort.signal }).then(
      async (res) => {
        const reader = res.body!.getReader();
        await reader.read();
        abort.abort();
      },
    );
    const slow = async (i: number): Promise<Buffer> => {
      const res = await fetch(`${reg.url}/v2/ns/many/blobs/${digests[i]}`);
      const parts: Buffer[] = [];
      const reader = res.body!.getReader();
      for (let n = 0; ; n++) {
        const { done, value } = await reader.read();
        if (done) break;
        parts.push(Buffer.from(value));
        if (n % 16 === 0) await new Promise((r) => setTimeout(r, 2));
      }
      return Buffer.concat(parts);
    };
    const wholes = await Promise.all(Array.from({ length: 12 }, (_, k) => slow(k % 3)));
    for (const [k, got] of wholes.entries()) expect(sha256(got)).toBe(digests[k % 3]);
    const start = 1024 * 1024 - 5;
    const end = 4 * 1024 * 1024 + 11;
    const ranged = await fetch(`${reg.url}/v2/ns/many/blobs/${digests[1]}`, {
      headers: { range: `bytes=${start}-${end}` },
    });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(blobs[1]!.subarray(start, end + 1))).toBe(true);
    await aborted.catch(() => {});
  });
});

describe("edge cases", () => {
  it("an empty blob can be pushed, HEAD and GET", async () => {
    const d = await pushBlob(reg.url, "ns/empty", "");
    const head = await fetch(`${reg.url}/v2/ns/empty/blobs/${d}`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe("0");
    const get = await fetch(`${reg.url}/v2/ns/empty/blobs/${d}`);
    expect(get.status).toBe(200);
    expect(await get.text()).toBe("");
  });

  it("keep-alive connections survive error responses", async () => {
    const { Agent, fetch: ufetch } = await import("undici");
    const agent = new Agent({ connections: 1 });
    try {
      for (let i = 0; i < 5; i++) {
        const res = await ufetch(`${reg.url}/v2/ns/app/blobs/${sha256(`missing ${i}`)}`, {
          dispatcher: agent,
        });
        expect(res.status).toBe(404);
        await res.text();
      }
      const ok = await ufetch(`${reg.url}/v2/`, { dispatcher: agent });
      expect(ok.status).toBe(200);
      await ok.text();
    } finally {
      await agent.close();
    }
  });
});

import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorCode, pushImage, type StartedRegistry, startRegistry } from "./helpers/registry.js";

let reg: StartedRegistry;
beforeAll(async () => {
  reg = await startRegistry();
  await pushImage(reg.url, "ok/name", "v1");
});
afterAll(async () => {
  await reg.dispose();
});

/** Sends a raw request target (fetch would normalise `..` away). */
function rawGet(url: string, target: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => {
      socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    });
    let data = "";
    socket.on("data", (d) => (data += d.toString()));
    socket.on("end", () => {
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(data)?.[1]);
      resolve({ status, body: data.slice(data.indexOf("\r\n\r\n") + 4) });
    });
    socket.on("error", reject);
  });
}

describe("repository names and path tricks", () => {
  it("names with slashes, dots, dashes and underscores work", async () => {
    await pushImage(reg.url, "a/b.c/d_e/f-g/h__i", "t");
    const res = await fetch(`${reg.url}/v2/a/b.c/d_e/f-g/h__i/tags/list`);
    expect(await res.json()).toEqual({ name: "a/b.c/d_e/f-g/h__i", tags: ["t"] });
  });

  const bad = [
    "/v2/ok/../name/tags/list",
    "/v2/ok/%2e%2e/name/tags/list",
    "/v2/ok/%2E%2E/%2e%2e/etc/tags/list",
    "/v2/ok%2fname/tags/list",
    "/v2/Upper/tags/list",
    "/v2/bad--/tags/list",
    "/v2/-lead/tags/list",
    "/v2/a//b/tags/list",
    "/v2/ok/.hidden/tags/list",
    "/v2/ok/%zz/tags/list",
    `/v2/${"a".repeat(256)}/tags/list`,
    `/v2/${Array.from({ length: 100 }, () => "abc").join("/")}/tags/list`,
  ];
  for (const target of bad) {
    it(`rejects ${target.slice(0, 60)} with 400 NAME_INVALID`, async () => {
      const res = await rawGet(reg.url, target);
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body).errors[0].code).toBe("NAME_INVALID");
      expect(res.body.length).toBeLessThan(2000);
    });
  }

  it("a 255-character name is accepted", async () => {
    const name = `${"a".repeat(127)}/${"b".repeat(127)}`;
    const res = await fetch(`${reg.url}/v2/${name}/tags/list`);
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe("NAME_UNKNOWN");
  });

  it("`..` in a blob, manifest or upload reference never escapes", async () => {
    for (const target of [
      "/v2/ok/name/blobs/..%2f..%2fetc%2fpasswd",
      "/v2/ok/name/manifests/..%2f..%2fetc",
      "/v2/ok/name/blobs/uploads/..%2f..",
      "/v2/ok/name/manifests/sha256:..",
    ]) {
      const res = await rawGet(reg.url, target);
      expect(res.status, target).toBeGreaterThanOrEqual(400);
      expect(res.status, target).toBeLessThan(500);
    }
  });
});

/** The server over HTTPS (`tls: {cert, key}`, the `--tls-cert/--tls-key` flags), with skopeo on top. */
import { execFile } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { Agent, fetch as undiciFetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pushImage, type StartedRegistry, startRegistry, tempRoot } from "./helpers/registry.js";

const run = promisify(execFile);
let work: string;
let reg: StartedRegistry;
beforeAll(async () => {
  work = await tempRoot("gantry-tls-");
  const key = path.join(work, "key.pem");
  const cert = path.join(work, "cert.pem");
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    key,
    "-out",
    cert,
    "-days",
    "1",
    "-subj",
    "/CN=127.0.0.1",
    "-addext",
    "subjectAltName=IP:127.0.0.1",
  ]);
  reg = await startRegistry({ tls: { cert: await readFile(cert), key: await readFile(key) } });
});
afterAll(async () => {
  await reg.dispose();
  await rm(work, { recursive: true, force: true });
});

describe("TLS", () => {
  it("serves the API over https", async () => {
    expect(reg.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
    const res = await undiciFetch(`${reg.url}/v2/`, { dispatcher });
    expect(res.status).toBe(200);
    expect(res.headers.get("docker-distribution-api-version")).toBe("registry/2.0");
    await dispatcher.close();
  });

  it("skopeo lists tags over https with --tls-verify=false", async () => {
    const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
    const orig = globalThis.fetch;
    globalThis.fetch = ((input: string | URL | Request, init?: RequestInit) =>
      undiciFetch(input as string, { ...(init as object), dispatcher })) as unknown as typeof fetch;
    try {
      await pushImage(reg.url, "tls/app", "1");
    } finally {
      globalThis.fetch = orig;
      await dispatcher.close();
    }
    const policy = path.join(work, "policy.json");
    await writeFile(policy, JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }));
    const { stdout } = await run("skopeo", [
      "--policy",
      policy,
      "list-tags",
      "--tls-verify=false",
      `docker://${new URL(reg.url).host}/tls/app`,
    ]);
    expect(JSON.parse(stdout)).toMatchObject({ Tags: ["1"] });
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  errorCode,
  pushBlob,
  pushImage,
  type StartedRegistry,
  sha256,
  startRegistry,
} from "./helpers/registry.js";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";

let reg: StartedRegistry;
beforeAll(async () => {
  reg = await startRegistry();
});
afterAll(async () => {
  await reg.dispose();
});

const put = (repo: string, ref: string, body: string, contentType = OCI_MANIFEST) =>
  fetch(`${reg.url}/v2/${repo}/manifests/${ref}`, {
    method: "PUT",
    headers: { "Content-Type": contentType },
    body,
  });

describe("manifest push and pull", () => {
  it("PUT by tag → 201 Location + Docker-Content-Digest; GET/HEAD by tag and digest", async () => {
    const img = await pushImage(reg.url, "ns/m", "v1");
    for (const ref of ["v1", img.digest]) {
      const head = await fetch(`${reg.url}/v2/ns/m/manifests/${ref}`, { method: "HEAD" });
      expect(head.status).toBe(200);
      expect(head.headers.get("content-type")).toBe(OCI_MANIFEST);
      expect(head.headers.get("docker-content-digest")).toBe(img.digest);
      expect(head.headers.get("content-length")).toBe(String(Buffer.byteLength(img.manifest)));
      const get = await fetch(`${reg.url}/v2/ns/m/manifests/${ref}`, { headers: { Accept: OCI_MANIFEST } });
      expect(get.status).toBe(200);
      expect(await get.text()).toBe(img.manifest);
    }
  });

  it("PUT response headers", async () => {
    const config = await pushBlob(reg.url, "ns/h", "{}");
    const body = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: config, size: 2 },
      layers: [],
    });
    const res = await put("ns/h", "latest", body);
    expect(res.status).toBe(201);
    expect(res.headers.get("location")).toBe(`/v2/ns/h/manifests/${sha256(body)}`);
    expect(res.headers.get("docker-content-digest")).toBe(sha256(body));
    expect(res.headers.get("oci-subject")).toBeNull();
  });

  it("content negotiation: a stored type the client does not accept is 404 MANIFEST_UNKNOWN", async () => {
    await pushImage(reg.url, "ns/neg", "v1");
    let res = await fetch(`${reg.url}/v2/ns/neg/manifests/v1`, { headers: { Accept: DOCKER_MANIFEST } });
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe("MANIFEST_UNKNOWN");
    for (const accept of [`${DOCKER_MANIFEST}, ${OCI_MANIFEST};q=0.9`, "*/*", "application/*"]) {
      res = await fetch(`${reg.url}/v2/ns/neg/manifests/v1`, { headers: { Accept: accept } });
      expect(res.status, accept).toBe(200);
      await res.body?.cancel();
    }
  });

  it("Docker schema 2 manifests and OCI indexes over child manifests", async () => {
    const a = await pushImage(reg.url, "ns/multi", undefined);
    const b = await pushImage(reg.url, "ns/multi", undefined);
    const cfg = await pushBlob(reg.url, "ns/multi", '{"d":1}');
    const docker = JSON.stringify({
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST,
      config: { mediaType: "application/vnd.docker.container.image.v1+json", digest: cfg, size: 7 },
      layers: [],
    });
    expect((await put("ns/multi", "docker", docker, DOCKER_MANIFEST)).status).toBe(201);
    const res = await fetch(`${reg.url}/v2/ns/multi/manifests/docker`, {
      headers: { Accept: DOCKER_MANIFEST },
    });
    expect(res.headers.get("content-type")).toBe(DOCKER_MANIFEST);
    await res.body?.cancel();
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        {
          mediaType: OCI_MANIFEST,
          digest: a.digest,
          size: Buffer.byteLength(a.manifest),
          platform: { architecture: "amd64", os: "linux" },
        },
        {
          mediaType: OCI_MANIFEST,
          digest: b.digest,
          size: Buffer.byteLength(b.manifest),
          platform: { architecture: "arm64", os: "linux" },
        },
      ],
    });
    expect((await put("ns/multi", "all", index, OCI_INDEX)).status).toBe(201);
    const got = await fetch(`${reg.url}/v2/ns/multi/manifests/all`, { headers: { Accept: OCI_INDEX } });
    expect(got.headers.get("content-type")).toBe(OCI_INDEX);
    expect(await got.text()).toBe(index);
    const missingChild = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ mediaType: OCI_MANIFEST, digest: sha256("x"), size: 1 }],
    });
    const bad = await put("ns/multi", "bad", missingChild, OCI_INDEX);
    expect(bad.status).toBe(404);
    expect(await errorCode(bad)).toBe("MANIFEST_BLOB_UNKNOWN");
  });
});

describe("manifest validation", () => {
  it("a referenced blob missing from the repository is 404 MANIFEST_BLOB_UNKNOWN", async () => {
    const elsewhere = await pushBlob(reg.url, "ns/elsewhere", "{}");
    const body = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: elsewhere, size: 2 },
      layers: [],
    });
    const res = await put("ns/v", "x", body);
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe("MANIFEST_BLOB_UNKNOWN");
  });

  it("invalid JSON or schema is 400 MANIFEST_INVALID", async () => {
    for (const body of [
      "{not json",
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, layers: "no" }),
    ]) {
      const res = await put("ns/v", "x", body);
      expect(res.status).toBe(400);
      expect(await errorCode(res)).toBe("MANIFEST_INVALID");
    }
  });

  it("Content-Type must match the manifest's mediaType", async () => {
    const img = await pushImage(reg.url, "ns/ct", "v1");
    const res = await put("ns/ct", "v2", img.manifest, DOCKER_MANIFEST);
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe("MANIFEST_INVALID");
  });

  it("PUT by digest checks the digest", async () => {
    const img = await pushImage(reg.url, "ns/bd", "v1");
    const ok = await put("ns/bd", img.digest, img.manifest);
    expect(ok.status).toBe(201);
    const bad = await put("ns/bd", sha256("something else"), img.manifest);
    expect(bad.status).toBe(400);
    expect(await errorCode(bad)).toBe("DIGEST_INVALID");
  });

  it("an invalid tag is 400 MANIFEST_INVALID on PUT and 404 MANIFEST_UNKNOWN on GET/DELETE", async () => {
    const img = await pushImage(reg.url, "ns/bt", "v1");
    const res = await put("ns/bt", "-bad", img.manifest);
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe("MANIFEST_INVALID");
    for (const method of ["GET", "DELETE"]) {
      const r = await fetch(`${reg.url}/v2/ns/bt/manifests/-bad`, { method });
      expect(r.status).toBe(404);
      expect(await errorCode(r)).toBe("MANIFEST_UNKNOWN");
    }
  });

  it("a manifest over 4 MiB is 413 SIZE_INVALID", async () => {
    const big = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      pad: "x".repeat(4 * 1024 * 1024),
    });
    const res = await put("ns/big", "v1", big);
    expect(res.status).toBe(413);
    expect(await errorCode(res)).toBe("SIZE_INVALID");
  });

  it("unknown tags and digests are 404 MANIFEST_UNKNOWN", async () => {
    for (const ref of ["nosuchtag", sha256("nothing")]) {
      const res = await fetch(`${reg.url}/v2/ns/m/manifests/${ref}`);
      expect(res.status).toBe(404);
      expect(await errorCode(res)).toBe("MANIFEST_UNKNOWN");
    }
  });
});

describe("subject and delete", () => {
  it("a manifest with a subject answers OCI-Subject, even before the subject exists", async () => {
    const subject = { mediaType: OCI_MANIFEST, digest: sha256("future subject"), size: 14 };
    const cfg = await pushBlob(reg.url, "ns/s", "{}");
    const body = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: "application/vnd.example.sig",
      config: { mediaType: "application/vnd.oci.empty.v1+json", digest: cfg, size: 2 },
      layers: [],
      subject,
    });
    const res = await put("ns/s", sha256(body), body);
    expect(res.status).toBe(201);
    expect(res.headers.get("oci-subject")).toBe(subject.digest);
  });

  it("DELETE by tag removes the tag (202), by digest the manifest (202)", async () => {
    const img = await pushImage(reg.url, "ns/d", "v1");
    await fetch(`${reg.url}/v2/ns/d/manifests/v2`, {
      method: "PUT",
      headers: { "Content-Type": OCI_MANIFEST },
      body: img.manifest,
    });
    let res = await fetch(`${reg.url}/v2/ns/d/manifests/v1`, { method: "DELETE" });
    expect(res.status).toBe(202);
    expect((await fetch(`${reg.url}/v2/ns/d/manifests/v1`, { method: "HEAD" })).status).toBe(404);
    expect((await fetch(`${reg.url}/v2/ns/d/manifests/v2`, { method: "HEAD" })).status).toBe(200);
    res = await fetch(`${reg.url}/v2/ns/d/manifests/${img.digest}`, { method: "DELETE" });
    expect(res.status).toBe(202);
    expect((await fetch(`${reg.url}/v2/ns/d/manifests/${img.digest}`, { method: "HEAD" })).status).toBe(404);
    expect((await fetch(`${reg.url}/v2/ns/d/manifests/v2`, { method: "HEAD" })).status).toBe(404);
    res = await fetch(`${reg.url}/v2/ns/d/manifests/${img.digest}`, { method: "DELETE" });
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe("MANIFEST_UNKNOWN");
  });
});

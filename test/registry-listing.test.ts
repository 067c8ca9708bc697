import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorCode, pushImage, type StartedRegistry, sha256, startRegistry } from "./helpers/registry.js";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";

let reg: StartedRegistry;
beforeAll(async () => {
  reg = await startRegistry();
});
afterAll(async () => {
  await reg.dispose();
});

describe("tags list", () => {
  beforeAll(async () => {
    const img = await pushImage(reg.url, "lib/tagged", "b");
    for (const t of ["a", "c", "d", "e"]) {
      const res = await fetch(`${reg.url}/v2/lib/tagged/manifests/${t}`, {
        method: "PUT",
        headers: { "Content-Type": OCI_MANIFEST },
        body: img.manifest,
      });
      expect(res.status).toBe(201);
    }
  });

  it("lists every tag sorted", async () => {
    const res = await fetch(`${reg.url}/v2/lib/tagged/tags/list`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ name: "lib/tagged", tags: ["a", "b", "c", "d", "e"] });
    expect(res.headers.get("link")).toBeNull();
  });

  it("paginates with n and last and a Link header", async () => {
    let res = await fetch(`${reg.url}/v2/lib/tagged/tags/list?n=2`);
    expect(await res.json()).toEqual({ name: "lib/tagged", tags: ["a", "b"] });
    expect(res.headers.get("link")).toBe('</v2/lib/tagged/tags/list?n=2&last=b>; rel="next"');
    res = await fetch(`${reg.url}/v2/lib/tagged/tags/list?n=2&last=b`);
    expect(await res.json()).toEqual({ name: "lib/tagged", tags: ["c", "d"] });
    res = await fetch(`${reg.url}/v2/lib/tagged/tags/list?n=2&last=d`);
    expect(await res.json()).toEqual({ name: "lib/tagged", tags: ["e"] });
    expect(res.headers.get("link")).toBeNull();
    res = await fetch(`${reg.url}/v2/lib/tagged/tags/list?n=0`);
    expect(await res.json()).toEqual({ name: "lib/tagged", tags: [] });
  });

  it("a bad n is 400; an unknown repository 404 NAME_UNKNOWN", async () => {
    let res = await fetch(`${reg.url}/v2/lib/tagged/tags/list?n=-1`);
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe("UNSUPPORTED");
    res = await fetch(`${reg.url}/v2/no/such/tags/list`);
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe("NAME_UNKNOWN");
  });
});

describe("catalog", () => {
  it("lists repositories sorted, paginated with Link", async () => {
    const r = await startRegistry();
    try {
      for (const name of ["zeta", "alpha/one", "alpha/two", "mid"]) await pushImage(r.url, name, "1");
      let res = await fetch(`${r.url}/v2/_catalog`);
      expect(await res.json()).toEqual({ repositories: ["alpha/one", "alpha/two", "mid", "zeta"] });
      res = await fetch(`${r.url}/v2/_catalog?n=3`);
      expect(await res.json()).toEqual({ repositories: ["alpha/one", "alpha/two", "mid"] });
      expect(res.headers.get("link")).toBe('</v2/_catalog?n=3&last=mid>; rel="next"');
      res = await fetch(`${r.url}/v2/_catalog?n=3&last=mid`);
      expect(await res.json()).toEqual({ repositories: ["zeta"] });
    } finally {
      await r.dispose();
    }
  });
});

describe("referrers", () => {
  it("lists manifests whose subject is the digest, filtered by artifactType", async () => {
    const subject = await pushImage(reg.url, "ref/app", "v1");
    const subj = {
      mediaType: OCI_MANIFEST,
      digest: subject.digest,
      size: Buffer.byteLength(subject.manifest),
    };
    const sig = await pushImage(reg.url, "ref/app", undefined, {
      subject: subj,
      artifactType: "application/vnd.example.signature",
      annotations: { "org.example.who": "me" },
    });
    const sbom = await pushImage(reg.url, "ref/app", undefined, {
      subject: subj,
      artifactType: "application/spdx+json",
    });

    let res = await fetch(`${reg.url}/v2/ref/app/referrers/${subject.digest}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(OCI_INDEX);
    expect(res.headers.get("oci-filters-applied")).toBeNull();
    const index = (await res.json()) as {
      schemaVersion: number;
      mediaType: string;
      manifests: Array<Record<string, unknown>>;
    };
    expect(index.schemaVersion).toBe(2);
    expect(index.mediaType).toBe(OCI_INDEX);
    const byDigest = new Map(index.manifests.map((m) => [m.digest, m]));
    expect(byDigest.size).toBe(2);
    expect(byDigest.get(sig.digest)).toMatchObject({
      mediaType: OCI_MANIFEST,
      artifactType: "application/vnd.example.signature",
      annotations: { "org.example.who": "me" },
      size: Buffer.byteLength(sig.manifest),
    });
    expect(byDigest.get(sbom.digest)).toMatchObject({ artifactType: "application/spdx+json" });

    res = await fetch(
      `${reg.url}/v2/ref/app/referrers/${subject.digest}?artifactType=application/spdx%2Bjson`,
    );
    expect(res.headers.get("oci-filters-applied")).toBe("artifactType");
    const filtered = (await res.json()) as { manifests: Array<{ digest: string }> };
    expect(filtered.manifests.map((m) => m.digest)).toEqual([sbom.digest]);
  });

  it("is an empty index (200) when there are none; 400 for a bad digest", async () => {
    let res = await fetch(`${reg.url}/v2/ref/app/referrers/${sha256("none")}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] });
    res = await fetch(`${reg.url}/v2/ref/app/referrers/sha256:nothex`);
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe("DIGEST_INVALID");
  });
});

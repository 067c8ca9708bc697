import { utimes } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runGc } from "../src/registry/gc.js";
import { pushBlob, pushImage, type StartedRegistry, sha256, startRegistry } from "./helpers/registry.js";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";

let reg: StartedRegistry;
beforeEach(async () => {
  reg = await startRegistry();
});
afterEach(async () => {
  await reg.dispose();
});

function gc(options: { graceMs?: number; dryRun?: boolean; deleteUntagged?: boolean } = {}) {
  const s = reg.server.services!;
  return runGc({
    blobs: s.blobs,
    repos: s.repos,
    uploads: s.uploads,
    graceMs: 0,
    ...options,
  });
}

async function exists(digest: string): Promise<boolean> {
  return (await reg.server.services!.blobs.stat(digest as `sha256:${string}`)) !== undefined;
}

describe("garbage collection", () => {
  it("sweeps unreferenced blobs and keeps everything a manifest reaches (dry run first)", async () => {
    const kept = await pushImage(reg.url, "gc/a", "keep");
    const untagged = await pushImage(reg.url, "gc/a", undefined);
    const orphan = await pushBlob(reg.url, "gc/a", "orphan blob");
    const gone = await pushImage(reg.url, "gc/b", "x");
    expect((await fetch(`${reg.url}/v2/gc/b/manifests/${gone.digest}`, { method: "DELETE" })).status).toBe(
      202,
    );

    const dry = await gc({ dryRun: true });
    const dryDigests = dry.blobsDeleted.map((b) => b.digest).sort();
    const expected = [orphan, gone.digest, gone.config, ...gone.layers].sort();
    expect(dryDigests).toEqual(expected);
    for (const d of expected) expect(await exists(d)).toBe(true);

    const real = await gc();
    expect(real.blobsDeleted.map((b) => b.digest).sort()).toEqual(expected);
    expect(real.bytesFreed).toBeGreaterThan(0);
    for (const d of expected) expect(await exists(d)).toBe(false);
    for (const img of [kept, untagged]) {
      for (const d of [img.digest, img.config, ...img.layers]) expect(await exists(d)).toBe(true);
    }
    const pull = await fetch(`${reg.url}/v2/gc/a/blobs/${kept.layers[0]}`);
    expect(pull.status).toBe(200);
    await pull.body?.cancel();
    // A dangling link is not visible.
    expect((await fetch(`${reg.url}/v2/gc/a/blobs/${orphan}`, { method: "HEAD" })).status).toBe(404);
  });

  it("the grace period protects fresh blobs of unfinished pushes", async () => {
    const fresh = await pushBlob(reg.url, "gc/g", "layer of a push in flight");
    const old = await pushBlob(reg.url, "gc/g", "old orphan");
    const past = new Date(Date.now() - 2 * 3600_000);
    await utimes(path.join(reg.root, "blobs", "sha256", old.slice(7)), past, past);
    const report = await gc({ graceMs: 3600_000 });
    expect(report.blobsDeleted.map((b) => b.digest)).toEqual([old]);
    expect(await exists(fresh)).toBe(true);
  });

  it("a HEAD (push about to skip the blob) or a mount restarts the grace period", async () => {
    const headed = await pushBlob(reg.url, "gc/h", "old blob a client HEADs");
    const mounted = await pushBlob(reg.url, "gc/h", "old blob a client mounts");
    const past = new Date(Date.now() - 2 * 3600_000);
    for (const d of [headed, mounted])
      await utimes(path.join(reg.root, "blobs", "sha256", d.slice(7)), past, past);
    expect((await fetch(`${reg.url}/v2/gc/h/blobs/${headed}`, { method: "HEAD" })).status).toBe(200);
    const m = await fetch(`${reg.url}/v2/gc/h2/blobs/uploads/?mount=${mounted}&from=gc/h`, {
      method: "POST",
    });
    expect(m.status).toBe(201);
    const report = await gc({ graceMs: 3600_000 });
    expect(report.blobsDeleted).toEqual([]);
  });

  it("--delete-untagged removes manifests no tag reaches, keeping index children and referrers", async () => {
    const child = await pushImage(reg.url, "gc/u", undefined);
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ mediaType: OCI_MANIFEST, digest: child.digest, size: Buffer.byteLength(child.manifest) }],
    });
    const put = await fetch(`${reg.url}/v2/gc/u/manifests/multi`, {
      method: "PUT",
      headers: { "Content-Type": OCI_INDEX },
      body: index,
    });
    expect(put.status).toBe(201);
    const tagged = await pushImage(reg.url, "gc/u", "v1");
    const sig = await pushImage(reg.url, "gc/u", undefined, {
      subject: { mediaType: OCI_MANIFEST, digest: tagged.digest, size: Buffer.byteLength(tagged.manifest) },
      artifactType: "application/vnd.example.sig",
    });
    const loose = await pushImage(reg.url, "gc/u", undefined);

    const dry = await gc({ deleteUntagged: true, dryRun: true });
    expect(dry.manifestsDeleted).toEqual([{ repository: "gc/u", digest: loose.digest }]);
    expect((await fetch(`${reg.url}/v2/gc/u/manifests/${loose.digest}`, { method: "HEAD" })).status).toBe(
      200,
    );

    const report = await gc({ deleteUntagged: true });
    expect(report.manifestsDeleted).toEqual([{ repository: "gc/u", digest: loose.digest }]);
    const digests = (r: typeof report) => r.blobsDeleted.map((b) => b.digest).sort();
    expect(digests(dry)).toEqual(digests(report));
    expect(report.blobsDeleted.map((b) => b.digest).sort()).toEqual(
      [loose.digest, loose.config, ...loose.layers].sort(),
    );
    expect((await fetch(`${reg.url}/v2/gc/u/manifests/${loose.digest}`, { method: "HEAD" })).status).toBe(
      404,
    );
    for (const d of [child.digest, sig.digest, tagged.digest, sha256(index)]) {
      expect((await fetch(`${reg.url}/v2/gc/u/manifests/${d}`, { method: "HEAD" })).status, d).toBe(200);
    }
    for (const d of [...child.layers, ...sig.layers, sig.config]) expect(await exists(d)).toBe(true);
  });

  it("without --delete-untagged, untagged manifests keep their blobs; recent manifests survive the policy", async () => {
    const loose = await pushImage(reg.url, "gc/r", undefined);
    const report = await gc({ deleteUntagged: true, graceMs: 3600_000 });
    expect(report.manifestsDeleted).toEqual([]);
    expect(await exists(loose.layers[0]!)).toBe(true);
  });

  it("removes expired upload sessions (and lists them in a dry run)", async () => {
    const short = await startRegistry({ uploadTtlMs: 50, uploadSweepIntervalMs: 3600_000 });
    try {
      const res = await fetch(`${short.url}/v2/gc/up/blobs/uploads/`, { method: "POST" });
      const uuid = res.headers.get("docker-upload-uuid")!;
      await new Promise((r) => setTimeout(r, 120));
      const s = short.server.services!;
      const opts = { blobs: s.blobs, repos: s.repos, uploads: s.uploads, graceMs: 0 };
      expect((await runGc({ ...opts, dryRun: true })).uploadsDeleted).toEqual([uuid]);
      expect((await runGc(opts)).uploadsDeleted).toEqual([uuid]);
      expect((await runGc(opts)).uploadsDeleted).toEqual([]);
    } finally {
      await short.dispose();
    }
  });

  it("runs in the background when the server has a GC interval", async () => {
    const bg = await startRegistry({ gcIntervalMs: 100, gcGraceMs: 3600_000 });
    try {
      const kept = await pushImage(bg.url, "gc/bg", "1");
      const orphan = await pushBlob(bg.url, "gc/bg", "background orphan");
      const past = new Date(Date.now() - 2 * 3600_000);
      await utimes(path.join(bg.root, "blobs", "sha256", orphan.slice(7)), past, past);
      const stat = (d: string) => bg.server.services!.blobs.stat(d as `sha256:${string}`);
      for (let i = 0; i < 50 && (await stat(orphan)); i++) await new Promise((r) => setTimeout(r, 50));
      expect(await stat(orphan)).toBeUndefined();
      expect(await stat(kept.layers[0]!)).toBeDefined();
    } finally {
      await bg.dispose();
    }
  });
});

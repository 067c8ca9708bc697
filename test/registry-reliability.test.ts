/**
 * Crash safety and concurrency of the registry as a real child process (`spawnRegistry`; build first with
 * `npx tsc -p tsconfig.build.json`): SIGKILL in the middle of a chunked upload and of manifest PUTs, then a
 * restart on the same root must keep everything committed and show nothing half-written; 50 concurrent
 * pushes of one blob and of 50 tags; `gantry registry gc` running while pushes run loses nothing referenced.
 */
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import {
  GANTRY_BIN,
  pushBlob,
  pushImage,
  type SpawnedRegistry,
  sha256,
  spawnRegistry,
  tempRoot,
} from "./helpers/registry.js";

const run = promisify(execFile);
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const GC_GRACE_MS = 2000;
const BURST = 200;
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function freshRoot(): Promise<string> {
  const root = await tempRoot("gantry-reliability-");
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  return root;
}

async function start(root: string): Promise<SpawnedRegistry> {
  const registry = await spawnRegistry({ root, args: ["--log-level", "warn"] });
  cleanups.push(() => registry.stop("SIGKILL"));
  return registry;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A request body that sends `head`, then stalls until the server dies (or `release` is called). */
function stallingBody(head: Buffer): { body: Readable; sent: Promise<void> } {
  let markSent: () => void = () => {};
  const sent = new Promise<void>((resolve) => (markSent = resolve));
  const body = new Readable({
    read() {
      if (head.length > 0) {
        this.push(head);
        head = Buffer.alloc(0);
        setTimeout(markSent, 300); // let the bytes cross the socket and reach the server's file
      }
    },
  });
  return { body, sent };
}

async function getBytes(url: string): Promise<{ status: number; body: Buffer; digest?: string }> {
  const res = await request(url, { headers: { accept: OCI_MANIFEST } });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, body, digest: res.headers["docker-content-digest"] as string | undefined };
}

/** Every file under blobs/ named like a digest holds exactly the bytes of that digest. */
async function expectEveryStoredBlobIntact(root: string): Promise<number> {
  const dir = path.join(root, "blobs", "sha256");
  let checked = 0;
  for (const name of await readdir(dir)) {
    if (!/^[0-9a-f]{64}$/.test(name)) continue;
    const hex = createHash("sha256")
      .update(await readFile(path.join(dir, name)))
      .digest("hex");
    expect(hex, `blob file ${name}`).toBe(name);
    checked++;
  }
  return checked;
}

/** The manifest under `ref` is served whole, with the digest it claims, and every blob it names is intact. */
async function expectImageIntact(url: string, repo: string, ref: string, digest?: string): Promise<void> {
  const manifest = await getBytes(`${url}/v2/${repo}/manifests/${ref}`);
  expect(manifest.status, `${repo}:${ref}`).toBe(200);
  expect(manifest.digest).toBe(sha256(manifest.body));
  if (digest) expect(manifest.digest).toBe(digest);
  const parsed = JSON.parse(manifest.body.toString()) as {
    config: { digest: string };
    layers: { digest: string }[];
  };
  for (const d of [parsed.config.digest, ...parsed.layers.map((l) => l.digest)]) {
    const blob = await getBytes(`${url}/v2/${repo}/blobs/${d}`);
    expect(blob.status, `${repo} blob ${d}`).toBe(200);
    expect(sha256(blob.body)).toBe(d);
  }
}

async function tagsOf(url: string, repo: string): Promise<string[]> {
  const res = await request(`${url}/v2/${repo}/tags/list?n=1000`);
  if (res.statusCode === 404) {
    await res.body.dump();
    return [];
  }
  return ((await res.body.json()) as { tags: string[] | null }).tags ?? [];
}

describe("SIGKILL and restart", () => {
  it("keeps committed data and shows no half-written blob after a kill mid chunked upload", async () => {
    const root = await freshRoot();
    let registry = await start(root);
    const before = await pushImage(registry.url, "app/one", "before");
    const bigBlob = randomBytes(1 << 20);
    const bigDigest = await pushBlob(registry.url, "app/one", bigBlob);

    // A chunked upload: two PATCHes accepted, the third one is killed half-way.
    const data = randomBytes(768 * 1024);
    const dataDigest = sha256(data);
    const chunk = 256 * 1024;
    const startRes = await request(`${registry.url}/v2/app/one/blobs/uploads/`, { method: "POST" });
    expect(startRes.statusCode).toBe(202);
    await startRes.body.dump();
    let location = new URL(startRes.headers.location as string, registry.url).toString();
    for (let i = 0; i < 2; i++) {
      const res = await request(location, {
        method: "PATCH",
        headers: {
          "content-type": "application/octet-stream",
          "content-range": `${i * chunk}-${(i + 1) * chunk - 1}`,
        },
        body: data.subarray(i * chunk, (i + 1) * chunk),
      });
      expect(res.statusCode).toBe(202);
      expect(res.headers.range).toBe(`0-${(i + 1) * chunk - 1}`);
      await res.body.dump();
      location = new URL(res.headers.location as string, registry.url).toString();
    }
    const stalled = stallingBody(data.subarray(2 * chunk, 2 * chunk + chunk / 2));
    const inFlight = request(location, {
      method: "PATCH",
      headers: { "content-type": "application/octet-stream" },
      body: stalled.body,
    }).catch((err: unknown) => err);
    await stalled.sent;
    await registry.stop("SIGKILL");
    await inFlight;

    registry = await start(root);
    const path = new URL(location).pathname;
    // The blob being uploaded is not visible, and every stored blob hashes to its name.
    const head = await request(`${registry.url}/v2/app/one/blobs/${dataDigest}`, { method: "HEAD" });
    expect(head.statusCode).toBe(404);
    await head.body.dump();
    expect(await expectEveryStoredBlobIntact(root)).toBeGreaterThanOrEqual(4);
    await expectImageIntact(registry.url, "app/one", "before", before.digest);
    const big = await getBytes(`${registry.url}/v2/app/one/blobs/${bigDigest}`);
    expect(sha256(big.body)).toBe(bigDigest);

    // The session resumes at the last accepted chunk (the killed chunk's bytes are dropped), or is unknown.
    const status = await request(`${registry.url}${path}`);
    await status.body.dump();
    let resumeAt: number;
    if (status.statusCode === 204) {
      expect(status.headers.range).toBe(`0-${2 * chunk - 1}`);
      resumeAt = 2 * chunk;
    } else {
      expect(status.statusCode).toBe(404);
      resumeAt = -1;
    }
    if (resumeAt >= 0) {
      const put = await request(`${registry.url}${path}?digest=${dataDigest}`, {
        method: "PUT",
        headers: {
          "content-type": "application/octet-stream",
          "content-range": `${resumeAt}-${data.length - 1}`,
        },
        body: data.subarray(resumeAt),
      });
      expect(put.statusCode).toBe(201);
      await put.body.dump();
    } else {
      await pushBlob(registry.url, "app/one", data);
    }
    const done = await getBytes(`${registry.url}/v2/app/one/blobs/${dataDigest}`);
    expect(sha256(done.body)).toBe(dataDigest);
  });

  it("keeps every acknowledged manifest and no half-written one after a kill mid manifest PUTs", async () => {
    const root = await freshRoot();
    let registry = await start(root);
    const kept = await pushImage(registry.url, "app/two", "kept");
    const config = await pushBlob(registry.url, "app/two", '{"architecture":"amd64","os":"linux"}');
    const layer = await pushBlob(registry.url, "app/two", randomBytes(4096));
    const manifestFor = (i: number) =>
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: config, size: 38 },
        layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: layer, size: 4096 }],
        annotations: { n: String(i), pad: "x".repeat(2048) },
      });

    // One manifest streamed slowly (killed half-way)...
    const slow = Buffer.from(manifestFor(999));
    const stalled = stallingBody(slow.subarray(0, slow.length >> 1));
    const slowPut = request(`${registry.url}/v2/app/two/manifests/slow`, {
      method: "PUT",
      headers: { "content-type": OCI_MANIFEST, "content-length": String(slow.length) },
      body: stalled.body,
    }).catch((err: unknown) => err);
    await stalled.sent;
    // Then a burst of whole manifests, killed as soon as a few are acknowledged while the rest are in flight.
    const acknowledged = new Set<string>();
    const burst = Array.from({ length: BURST }, async (_, i) => {
      const res = await request(`${registry.url}/v2/app/two/manifests/t${i}`, {
        method: "PUT",
        headers: { "content-type": OCI_MANIFEST },
        body: manifestFor(i),
      }).catch(() => undefined);
      if (res?.statusCode === 201) acknowledged.add(`t${i}`);
      await res?.body.dump().catch(() => {});
    });
    for (let waited = 0; acknowledged.size < 3 && waited < 5000; waited += 1) await sleep(1);
    await registry.stop("SIGKILL");
    await Promise.all([slowPut, ...burst]);

    registry = await start(root);
    await expectImageIntact(registry.url, "app/two", "kept", kept.digest);
    const slowGet = await getBytes(`${registry.url}/v2/app/two/manifests/slow`);
    expect(slowGet.status).toBe(404);
    const tags = await tagsOf(registry.url, "app/two");
    for (const tag of acknowledged) expect(tags).toContain(tag);
    // (The kill usually lands while part of the burst is unanswered; either way these must hold.)
    expect(acknowledged.size).toBeGreaterThan(0);
    // Every tag that exists resolves to a complete manifest with intact blobs.
    for (const tag of tags) await expectImageIntact(registry.url, "app/two", tag);
    await expectEveryStoredBlobIntact(root);
    // And pushing again works.
    const again = await request(`${registry.url}/v2/app/two/manifests/slow`, {
      method: "PUT",
      headers: { "content-type": OCI_MANIFEST },
      body: slow,
    });
    expect(again.statusCode).toBe(201);
    await again.body.dump();
    await expectImageIntact(registry.url, "app/two", "slow", sha256(slow));
  });
});

describe("concurrency", () => {
  it("accepts 50 concurrent pushes of one blob and of 50 tags, and lists exactly those tags", async () => {
    const root = await freshRoot();
    const registry = await start(root);
    const shared = randomBytes(256 * 1024);
    const digests = await Promise.all(
      Array.from({ length: 50 }, () => pushBlob(registry.url, "app/many", shared)),
    );
    expect(new Set(digests)).toEqual(new Set([sha256(shared)]));
    const blob = await getBytes(`${registry.url}/v2/app/many/blobs/${sha256(shared)}`);
    expect(sha256(blob.body)).toBe(sha256(shared));

    const tags = Array.from({ length: 50 }, (_, i) => `v${String(i).padStart(2, "0")}`);
    const images = await Promise.all(
      tags.map((tag) =>
        pushImage(registry.url, "app/many", tag, { layers: [`layer ${tag}`, "shared layer"] }),
      ),
    );
    expect(await tagsOf(registry.url, "app/many")).toEqual(tags);
    for (let i = 0; i < tags.length; i += 7)
      await expectImageIntact(registry.url, "app/many", tags[i]!, images[i]!.digest);
  });

  it("loses nothing referenced when `gantry registry gc` runs during pushes", async () => {
    const root = await freshRoot();
    const registry = await start(root);
    const old = await Promise.all(
      Array.from({ length: 5 }, (_, i) => pushImage(registry.url, "app/gc", `old${i}`)),
    );
    // Garbage the GC should remove: blobs no manifest references, older than the grace period. The grace
    // period is what protects blobs uploaded just before a GC whose manifest arrives just after it, so it
    // must exceed the time one push takes (with --grace 0s a committed manifest can be lost; see report).
    const garbage = await Promise.all(
      Array.from({ length: 5 }, (_, i) => pushBlob(registry.url, "app/junk", `junk ${i}`)),
    );
    await sleep(GC_GRACE_MS + 500);

    const pushed: Array<{ tag: string; digest: string }> = [];
    const failures: string[] = [];
    let pushing = true;
    const pushers = Array.from({ length: 4 }, async (_, worker) => {
      for (let n = 0; pushing; n++) {
        const tag = `w${worker}-${n}`;
        try {
          const image = await pushImage(registry.url, "app/gc", tag, {
            layers: [`${tag} a ${Math.random()}`, `${tag} b`],
          });
          pushed.push({ tag, digest: image.digest });
        } catch (err) {
          failures.push(String(err));
        }
      }
    });
    const gcRuns: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { stdout } = await run(process.execPath, [
        GANTRY_BIN,
        "--root",
        root,
        "registry",
        "gc",
        "--grace",
        `${GC_GRACE_MS}ms`,
        "--format",
        "json",
      ]);
      gcRuns.push(stdout);
      await sleep(100);
    }
    pushing = false;
    await Promise.all(pushers);

    const deleted = gcRuns.flatMap((s) =>
      (JSON.parse(s) as { blobsDeleted: { digest: string }[] }).blobsDeleted.map((b) => b.digest),
    );
    for (const g of garbage) expect(deleted).toContain(g);
    expect(pushed.length).toBeGreaterThan(10);
    for (const { tag, digest } of pushed) await expectImageIntact(registry.url, "app/gc", tag, digest);
    for (let i = 0; i < old.length; i++)
      await expectImageIntact(registry.url, "app/gc", `old${i}`, old[i]!.digest);
    expect(failures).toEqual([]);
  });
});

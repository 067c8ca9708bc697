/**
 * Push and pull against CNCF Distribution (`docker-registry`) on loopback, with and without htpasswd:
 * Gantry pushes, skopeo reads the same digests; skopeo pushes, Gantry pulls the same digests into its data
 * root; a second push skips existing blobs and a push into another repository mounts them.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pullImage, pushImage, RegistryClient, type TransferEvent } from "../src/client/index.js";
import { ContentStore } from "../src/image/content-store.js";
import { FsRepositoryStore } from "../src/image/repository-store.js";
import type { StoredLayer } from "../src/image/store-types.js";
import { type ImportedBusybox, importBusybox } from "./helpers/busybox-image.js";
import { type Distribution, haveDistribution, startDistribution } from "./helpers/distribution.js";

const run = promisify(execFile);
const USERS = { alice: "wonderland" };
const creds = { username: "alice", password: "wonderland" };

let work: string;
let root: string;
let busybox: ImportedBusybox;
let open: Distribution;
let locked: Distribution;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "gantry-client-dist-"));
  root = join(work, "root");
  busybox = await importBusybox(root);
  [open, locked] = await Promise.all([startDistribution(), startDistribution({ users: USERS })]);
}, 60_000);
afterAll(async () => {
  await Promise.all([open?.stop(), locked?.stop()]);
  await rm(work, { recursive: true, force: true });
});

async function skopeoInspect(host: string, ref: string, extra: string[] = []) {
  const { stdout } = await run("skopeo", [
    "inspect",
    "--tls-verify=false",
    ...extra,
    `docker://${host}/${ref}`,
  ]);
  return JSON.parse(stdout) as { Digest: string; Layers: string[] };
}

describe.skipIf(!haveDistribution)("against docker-registry", () => {
  it("pushes the busybox image; skopeo sees the same manifest digest and layer", async () => {
    const events: TransferEvent[] = [];
    const pushed = await pushImage({
      root,
      source: "localhost/gantry/busybox:latest",
      destination: `${open.host}/team/busybox:1`,
      onProgress: (e) => events.push(e),
    });
    expect(pushed.digest).toBe(busybox.manifest.digest);
    expect(pushed.size).toBe(busybox.manifest.size);
    const seen = await skopeoInspect(open.host, "team/busybox:1");
    expect(seen.Digest).toBe(busybox.manifest.digest);
    expect(seen.Layers).toEqual([busybox.layer.digest]);
    expect(events.filter((e) => e.status === "done").map((e) => e.digest)).toContain(busybox.layer.digest);

    // Again: every blob exists already.
    const again: TransferEvent[] = [];
    await pushImage({
      root,
      source: "localhost/gantry/busybox:latest",
      destination: `${open.host}/team/busybox:1`,
      onProgress: (e) => again.push(e),
    });
    expect(again.map((e) => e.status).sort()).toEqual(["skipped", "skipped"]);

    // Into another repository of the same registry: mounted, not uploaded.
    const other: TransferEvent[] = [];
    await pushImage({
      root,
      source: "localhost/gantry/busybox:latest",
      destination: `${open.host}/other/bb:2`,
      onProgress: (e) => other.push(e),
    });
    expect(other.map((e) => e.status).sort()).toEqual(["mounted", "mounted"]);
    expect((await skopeoInspect(open.host, "other/bb:2")).Digest).toBe(busybox.manifest.digest);
  });

  it("uploads in chunks (PATCH with Content-Range) as Distribution expects", async () => {
    // A fresh data root: no record of the blobs being on this registry, so nothing is mounted.
    const fresh = join(work, "root-chunked");
    await importBusybox(fresh);
    const events: TransferEvent[] = [];
    const pushed = await pushImage({
      root: fresh,
      source: "localhost/gantry/busybox:latest",
      destination: `${open.host}/chunked/busybox:1`,
      upload: { chunkSize: 256 * 1024 },
      onProgress: (e) => events.push(e),
    });
    expect(events.filter((e) => e.status === "done").length).toBe(2);
    const layerProgress = events.filter((e) => e.digest === busybox.layer.digest && e.status === "uploading");
    expect(layerProgress.length).toBeGreaterThan(4);
    const seen = await skopeoInspect(open.host, "chunked/busybox:1");
    expect(seen.Digest).toBe(pushed.digest);
    const { stdout } = await run("skopeo", [
      "copy",
      "--src-tls-verify=false",
      `docker://${open.host}/chunked/busybox:1`,
      `oci:${join(work, "chunked-check")}:x`,
    ]);
    expect(stdout).toContain("Writing manifest");
  });

  it("needs credentials with htpasswd, and works with them", async () => {
    await expect(
      pushImage({
        root,
        source: "localhost/gantry/busybox:latest",
        destination: `${locked.host}/a/b:1`,
        client: { dockerConfig: join(work, "none.json") },
      }),
    ).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    const pushed = await pushImage({
      root,
      source: "localhost/gantry/busybox:latest",
      destination: `${locked.host}/a/b:1`,
      client: { credentials: creds },
    });
    const seen = await skopeoInspect(locked.host, "a/b:1", ["--creds", "alice:wonderland"]);
    expect(seen.Digest).toBe(pushed.digest);
  });

  it("pulls what skopeo pushed, with identical digests, into the data root", async () => {
    const ociDir = join(work, "oci");
    await run("skopeo", ["copy", `oci:${root}:gantry/busybox:latest`, `oci:${ociDir}:bb`]);
    await run("skopeo", [
      "copy",
      "--dest-tls-verify=false",
      "--dest-creds",
      "alice:wonderland",
      "--format",
      "v2s2",
      `oci:${ociDir}:bb`,
      `docker://${locked.host}/skopeo/bb:v2s2`,
    ]);
    const expected = await skopeoInspect(locked.host, "skopeo/bb:v2s2", ["--creds", "alice:wonderland"]);
    const fresh = join(work, "pulled");
    // The layers are announced (with their diffIDs) once their blobs are in, before the tag is written.
    const announced: Array<{ layers: StoredLayer[]; blobsIn: boolean; tagged: boolean }> = [];
    const pulled = await pullImage({
      root: fresh,
      ref: `${locked.host}/skopeo/bb:v2s2`,
      client: { credentials: creds },
      onLayersStored: (layers) =>
        announced.push({
          layers,
          blobsIn: layers.every((l) => existsSync(ContentStore.blobPathIn(fresh, l.digest))),
          tagged: existsSync(FsRepositoryStore.tagPathIn(fresh, "skopeo/bb", "v2s2")),
        }),
    });
    expect(pulled).toEqual({ repository: "skopeo/bb", tag: "v2s2", manifestDigest: expected.Digest });
    expect(announced).toHaveLength(1);
    expect(announced[0]!.layers.map((l) => l.digest)).toEqual(expected.Layers);
    expect(announced[0]!.layers.map((l) => l.diffId)).toEqual([busybox.layer.diffId]);
    expect(announced[0]).toMatchObject({ blobsIn: true, tagged: false });
    const repos = await FsRepositoryStore.open(fresh);
    const tagged = await repos.resolveTag("skopeo/bb", "v2s2");
    expect(tagged?.digest).toBe(expected.Digest);
    expect(tagged?.mediaType).toBe("application/vnd.docker.distribution.manifest.v2+json");
    const blobs = await ContentStore.open(fresh);
    for (const layer of expected.Layers) expect(await blobs.has(layer as `sha256:${string}`)).toBe(true);
    // Listed in the data root's index.json (skopeo's oci: transport only selects OCI media types, so the
    // same image pushed in OCI form is checked with skopeo below).
    const index = JSON.parse(await readFile(join(fresh, "index.json"), "utf8"));
    expect(index.manifests.map((m: { digest: string }) => m.digest)).toContain(expected.Digest);

    await run("skopeo", [
      "copy",
      "--dest-tls-verify=false",
      "--dest-creds",
      "alice:wonderland",
      `oci:${ociDir}:bb`,
      `docker://${locked.host}/skopeo/bb:oci`,
    ]);
    const ociExpected = await skopeoInspect(locked.host, "skopeo/bb:oci", ["--creds", "alice:wonderland"]);
    const ociPulled = await pullImage({
      root: fresh,
      ref: `${locked.host}/skopeo/bb:oci`,
      client: { credentials: creds },
    });
    expect(ociPulled.manifestDigest).toBe(ociExpected.Digest);
    const { stdout } = await run("skopeo", ["inspect", `oci:${fresh}:skopeo/bb:oci`]);
    expect(JSON.parse(stdout).Digest).toBe(ociExpected.Digest);
  });

  it("reports a missing tag as MANIFEST_UNKNOWN", async () => {
    const client = new RegistryClient({ host: open.host });
    try {
      await expect(client.getManifest("team/busybox", "nope")).rejects.toMatchObject({
        status: 404,
        registryCode: "MANIFEST_UNKNOWN",
      });
    } finally {
      await client.close();
    }
  });
});

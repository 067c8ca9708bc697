/** Interop: a real OCI layout pushed and pulled back with skopeo through the registry. */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { pack } from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StartedRegistry, startRegistry, tempRoot } from "./helpers/registry.js";

const run = promisify(execFile);
const sha = (b: Uint8Array | string): string => createHash("sha256").update(b).digest("hex");

async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on("data", (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve, reject) => {
    p.on("end", resolve);
    p.on("error", reject);
  });
  for (const [name, content] of Object.entries(files)) {
    p.entry({ name, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 }, content);
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** Writes a one-layer OCI image layout to `dir` tagged `tag`; returns the manifest digest. */
async function makeLayout(dir: string, tag: string): Promise<string> {
  await mkdir(path.join(dir, "blobs", "sha256"), { recursive: true });
  const put = async (bytes: Buffer | string): Promise<{ digest: string; size: number }> => {
    const hex = sha(bytes);
    await writeFile(path.join(dir, "blobs", "sha256", hex), bytes);
    return { digest: `sha256:${hex}`, size: Buffer.byteLength(bytes) };
  };
  const tar = await tarOf({ "hello.txt": "hello from gantry\n", "etc/os-release": "ID=gantry-test\n" });
  const layer = await put(gzipSync(tar));
  const config = await put(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: { Cmd: ["/bin/sh"] },
      rootfs: { type: "layers", diff_ids: [`sha256:${sha(tar)}`] },
    }),
  );
  const manifest = await put(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layer }],
    }),
  );
  await writeFile(path.join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await writeFile(
    path.join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          ...manifest,
          annotations: { "org.opencontainers.image.ref.name": tag },
        },
      ],
    }),
  );
  return manifest.digest;
}

let reg: StartedRegistry;
let work: string;
let policy: string;
beforeAll(async () => {
  reg = await startRegistry();
  work = await tempRoot("gantry-skopeo-");
  policy = path.join(work, "policy.json");
  await writeFile(policy, JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }));
});
afterAll(async () => {
  await reg.dispose();
  await rm(work, { recursive: true, force: true });
});

const skopeo = (...args: string[]) =>
  run("skopeo", ["--policy", policy, ...args], {
    timeout: 60_000,
    env: { ...process.env, REGISTRY_AUTH_FILE: path.join(work, "auth.json") },
  });

describe("skopeo interop", () => {
  it("copies an OCI layout in, inspects, lists tags and copies it back out with identical digests", async () => {
    const src = path.join(work, "src");
    const digest = await makeLayout(src, "tag");
    const host = new URL(reg.url).host;
    const ref = `docker://${host}/ns/app:1`;

    await skopeo("copy", "--dest-tls-verify=false", `oci:${src}:tag`, ref);

    const { stdout: inspectOut } = await skopeo("inspect", "--tls-verify=false", ref);
    const inspected = JSON.parse(inspectOut) as { Digest: string; Layers: string[] };
    expect(inspected.Digest).toBe(digest);

    const { stdout: raw } = await skopeo("inspect", "--raw", "--tls-verify=false", ref);
    expect(`sha256:${sha(raw)}`).toBe(digest);

    const { stdout: tagsOut } = await skopeo("list-tags", "--tls-verify=false", `docker://${host}/ns/app`);
    expect(JSON.parse(tagsOut)).toMatchObject({ Tags: ["1"] });

    // A second copy to another repository reuses the blobs (HEAD-skip / cross-repo mount).
    await skopeo(
      "copy",
      "--src-tls-verify=false",
      "--dest-tls-verify=false",
      ref,
      `docker://${host}/other/app:2`,
    );

    const out = path.join(work, "out");
    await skopeo("copy", "--src-tls-verify=false", `docker://${host}/other/app:2`, `oci:${out}:1`);
    const index = JSON.parse(await readFile(path.join(out, "index.json"), "utf8")) as {
      manifests: Array<{ digest: string }>;
    };
    expect(index.manifests[0]!.digest).toBe(digest);
    const manifestBytes = await readFile(path.join(out, "blobs", "sha256", digest.slice(7)));
    expect(`sha256:${sha(manifestBytes)}`).toBe(digest);
  });
});

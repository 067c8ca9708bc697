/**
 * Proves the data root is a valid OCI image layout for standard tools, without Gantry running: images
 * written with the stores are inspected and copied by skopeo (`oci:ROOT:REPO:TAG`) and unpacked by umoci
 * (`--image ROOT:REPO:TAG`), including repository names with slashes.
 */
import { execFile } from "node:child_process";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContentStore } from "../src/image/content-store.js";
import { sha256Of } from "../src/image/digest.js";
import { isToolAddressable } from "../src/image/oci-layout.js";
import { parseManifest } from "../src/image/oci-schemas.js";
import { FsRepositoryStore } from "../src/image/repository-store.js";
import { makeTempDir, type WrittenImage, writeSmallImage } from "./helpers/image-fixtures.js";

const run = promisify(execFile);

async function toolAvailable(tool: string): Promise<boolean> {
  try {
    await run(tool, ["--version"]);
    return true;
  } catch {
    return false;
  }
}
const haveTools = (await toolAvailable("skopeo")) && (await toolAvailable("umoci"));
const rootless = process.getuid?.() !== 0;

describe.skipIf(!haveTools)("the data root read by skopeo and umoci", () => {
  let work: string;
  let cleanup: () => Promise<void>;
  let dataRoot: string;
  let app: WrittenImage;
  let tool: WrittenImage;

  beforeAll(async () => {
    ({ dir: work, cleanup } = await makeTempDir("gantry-interop-"));
    dataRoot = join(work, "root");
    const blobs = await ContentStore.open(dataRoot);
    const repos = await FsRepositoryStore.open(dataRoot);
    app = await writeSmallImage(
      blobs,
      repos,
      "library/app",
      [
        { path: "hello.txt", content: "hello from gantry\n" },
        { path: "etc/app/config.ini", content: "[app]\nname=library/app\n" },
        { path: "bin/run", content: "#!/bin/sh\necho run\n", mode: 0o755 },
      ],
      { tag: "1", cmd: ["/bin/run"] },
    );
    await repos.setTag("library/app", "latest", app.manifestDescriptor);
    // A second, different image in a nested repository, so each ref must select the right manifest.
    tool = await writeSmallImage(
      blobs,
      repos,
      "team/tools/x",
      [{ path: "tool.txt", content: "the tool\n" }],
      {
        tag: "v2.0",
      },
    );
  });
  afterAll(async () => {
    await cleanup?.();
  });

  it("index.json names every tag as <repository>:<tag>", async () => {
    const index = JSON.parse(await readFile(join(dataRoot, "index.json"), "utf8"));
    const names = index.manifests.map(
      (m: { annotations: Record<string, string> }) => m.annotations["org.opencontainers.image.ref.name"],
    );
    expect(names).toEqual(["library/app:1", "library/app:latest", "team/tools/x:v2.0"]);
  });

  it.each([
    ["library/app:1", () => app],
    ["library/app:latest", () => app],
    ["team/tools/x:v2.0", () => tool],
  ])("skopeo inspect oci:ROOT:%s resolves the right manifest", async (ref, image) => {
    const { stdout } = await run("skopeo", ["inspect", `oci:${dataRoot}:${ref}`]);
    const inspected = JSON.parse(stdout);
    expect(inspected.Digest).toBe(image().manifestDescriptor.digest);
    expect(inspected.Architecture).toBe("amd64");
    expect(inspected.Os).toBe("linux");
    expect(inspected.Layers).toEqual([image().layer.descriptor.digest]);
  });

  it("skopeo inspect fails for a tag that does not exist", async () => {
    await expect(run("skopeo", ["inspect", `oci:${dataRoot}:library/app:nope`])).rejects.toThrow(
      /no descriptor found/,
    );
  });

  it("skopeo copy oci:ROOT:library/app:1 dir:… copies the manifest, config and layer intact", async () => {
    const out = join(work, "copied");
    await run("skopeo", ["copy", `oci:${dataRoot}:library/app:1`, `dir:${out}`]);
    const manifestBytes = await readFile(join(out, "manifest.json"));
    expect(sha256Of(manifestBytes)).toBe(app.manifestDescriptor.digest);
    const parsed = parseManifest(manifestBytes);
    expect(parsed.kind).toBe("oci-manifest");
    const files = await readdir(out);
    for (const digest of [app.layer.descriptor.digest, app.manifest.config.digest]) {
      const hex = digest.slice("sha256:".length);
      expect(files).toContain(hex);
      expect(sha256Of(await readFile(join(out, hex)))).toBe(digest);
    }
  });

  it("umoci unpack --image ROOT:library/app:1 yields the layer's files", async () => {
    const bundle = join(work, "bundle-app");
    await run("umoci", [
      "unpack",
      ...(rootless ? ["--rootless"] : []),
      "--image",
      `${dataRoot}:library/app:1`,
      bundle,
    ]);
    const rootfs = join(bundle, "rootfs");
    expect(await readFile(join(rootfs, "hello.txt"), "utf8")).toBe("hello from gantry\n");
    expect(await readFile(join(rootfs, "etc/app/config.ini"), "utf8")).toBe("[app]\nname=library/app\n");
    expect((await stat(join(rootfs, "bin/run"))).mode & 0o777).toBe(0o755);
    const runtimeConfig = JSON.parse(await readFile(join(bundle, "config.json"), "utf8"));
    expect(runtimeConfig.process.args).toEqual(["/bin/run"]);
  });

  it("umoci unpack picks the nested repository's image by its ref", async () => {
    const bundle = join(work, "bundle-tool");
    await run("umoci", [
      "unpack",
      ...(rootless ? ["--rootless"] : []),
      "--image",
      `${dataRoot}:team/tools/x:v2.0`,
      bundle,
    ]);
    expect((await readdir(join(bundle, "rootfs"))).sort()).toEqual(["tool.txt"]);
    expect(await readFile(join(bundle, "rootfs", "tool.txt"), "utf8")).toBe("the tool\n");
  });

  it("umoci lists exactly the tagged refs", async () => {
    const { stdout } = await run("umoci", ["ls", "--layout", dataRoot]);
    expect(stdout.trim().split("\n").sort()).toEqual([
      "library/app:1",
      "library/app:latest",
      "team/tools/x:v2.0",
    ]);
  });
});

describe.skipIf(!haveTools)("which distribution-spec names the tools can address", () => {
  // Valid distribution-spec names/tags; the tools additionally enforce the image-spec ref.name grammar.
  const cases: Array<[string, string]> = [
    ["my--r/x", "y"],
    ["x.y_z", "Tag_1"],
    ["app", "1.0-rc.1"],
    ["a/b/c/d", "latest"],
    ["a__b/c", "x"],
    ["a---b", "x"],
    ["app", "_x"],
    ["app", "x_"],
    ["app", "v1.-x"],
    ["app", "a__b"],
  ];
  let work: string;
  let cleanup: () => Promise<void>;
  let dataRoot: string;
  let image: WrittenImage;

  beforeAll(async () => {
    ({ dir: work, cleanup } = await makeTempDir("gantry-interop-names-"));
    dataRoot = join(work, "root");
    const blobs = await ContentStore.open(dataRoot);
    const repos = await FsRepositoryStore.open(dataRoot);
    image = await writeSmallImage(blobs, repos, "seed", [{ path: "f", content: "f\n" }]);
    for (const [repo, tag] of cases) {
      await repos.linkManifest(repo, { ...image.manifestDescriptor, pushedAt: Date.now() });
      await repos.setTag(repo, tag, image.manifestDescriptor);
    }
  });
  afterAll(async () => {
    await cleanup?.();
  });

  it("every tag is listed in index.json, addressable or not", async () => {
    const index = JSON.parse(await readFile(join(dataRoot, "index.json"), "utf8"));
    expect(index.manifests).toHaveLength(cases.length);
  });

  it.each(cases)("isToolAddressable(%s, %s) predicts what skopeo and umoci do", async (repo, tag) => {
    const ref = `${repo}:${tag}`;
    const skopeoOk = await run("skopeo", ["inspect", `oci:${dataRoot}:${ref}`]).then(
      ({ stdout }) => JSON.parse(stdout).Digest === image.manifestDescriptor.digest,
      () => false,
    );
    const bundle = join(work, `bundle-${repo.replaceAll("/", "_")}-${tag}`);
    const umociArgs = [
      "unpack",
      ...(rootless ? ["--rootless"] : []),
      "--image",
      `${dataRoot}:${ref}`,
      bundle,
    ];
    const umociOk = await run("umoci", umociArgs).then(
      () => true,
      () => false,
    );
    expect(skopeoOk).toBe(isToolAddressable(repo, tag));
    expect(umociOk).toBe(isToolAddressable(repo, tag));
  });
});

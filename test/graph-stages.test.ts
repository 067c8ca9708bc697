/**
 * Stages in the graph compiler: --target (name, index, "did you mean"), pruning of stages nothing needs
 * (their images are never resolved), COPY --from stage/index/image, RUN --mount from=, circular and
 * forward references, ONBUILD triggers from a base image's config and from a base stage, and the local
 * resolver (tags, digests, OCI index platform selection, IMAGE_NOT_FOUND), all on a real data root.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildAst } from "../src/frontend/ast-build.js";
import { parseDockerfile } from "../src/frontend/parse.js";
import { compileGraph } from "../src/graph/compile.js";
import { createLocalImageResolver } from "../src/graph/local-resolver.js";
import type { BuildGraph, CompileOptions, CopyOp, ExecOp, ImageResolver } from "../src/graph/types.js";
import { ContentStore } from "../src/image/content-store.js";
import { writeImage } from "../src/image/image-builder.js";
import { OCI_INDEX } from "../src/image/media-types.js";
import type { Platform } from "../src/image/oci-types.js";
import { FsRepositoryStore } from "../src/image/repository-store.js";
import { BUSYBOX_REF, HOST_PLATFORM, type ImportedBusybox, importBusybox } from "./helpers/busybox-image.js";

let root: string;
let busybox: ImportedBusybox;
const OTHER: Platform = {
  os: "linux",
  architecture: HOST_PLATFORM.architecture === "arm64" ? "amd64" : "arm64",
};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "gantry-graph-stages-"));
  busybox = await importBusybox(root);
  const blobs = await ContentStore.open(root);
  const repos = await FsRepositoryStore.open(root);
  const layer = { ...busybox.layer, createdBy: "busybox" };
  // An image whose config carries ONBUILD triggers (one needs a stage of the child's Dockerfile).
  await writeImage(blobs, repos, {
    repository: "test/onbuild",
    tag: "1",
    layers: [layer],
    platform: HOST_PLATFORM,
    config: { Env: ["PATH=/bin"], OnBuild: ["ENV FROM_TRIGGER=yes", "COPY --from=helper /x /from-helper"] },
    created: new Date(0),
  });
  // An OCI index with the busybox manifest for the host and another image for OTHER.
  const other = await writeImage(blobs, repos, {
    repository: "test/multi",
    layers: [layer],
    platform: OTHER,
    config: { Env: ["PATH=/bin", "ARCH=other"] },
    created: new Date(0),
  });
  const host = await writeImage(blobs, repos, {
    repository: "test/multi",
    layers: [layer],
    platform: HOST_PLATFORM,
    config: { Env: ["PATH=/bin", "ARCH=host"] },
    created: new Date(0),
  });
  const index = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [
      { ...other.manifest, platform: OTHER },
      { ...host.manifest, platform: HOST_PLATFORM },
    ],
  };
  const info = await blobs.writeBytes(Buffer.from(JSON.stringify(index)));
  const desc = { mediaType: OCI_INDEX, digest: info.digest, size: info.size };
  await repos.linkManifest("test/multi", { ...desc, pushedAt: Date.now() });
  await repos.setTag("test/multi", "latest", desc);
}, 120_000);
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The real local resolver, recording every reference it is asked for. */
function recordingResolver(): { resolve: ImageResolver; asked: string[] } {
  const local = createLocalImageResolver(root);
  const asked: string[] = [];
  return {
    asked,
    resolve: (ref, platform) => {
      asked.push(ref);
      return local(ref, platform);
    },
  };
}

async function compile(text: string, opts: Partial<CompileOptions> = {}): Promise<BuildGraph> {
  const raw = parseDockerfile(text, "Dockerfile");
  return compileGraph(buildAst(raw), {
    buildArgs: {},
    platform: HOST_PLATFORM,
    buildPlatform: HOST_PLATFORM,
    resolveImage: createLocalImageResolver(root),
    sourceLines: raw.lines,
    ...opts,
  });
}

const MULTI = [
  `FROM ${BUSYBOX_REF} AS base`,
  "RUN echo base",
  "FROM localhost/does/not-exist:1 AS unused",
  "RUN echo never",
  "FROM base AS build",
  "RUN echo build > /out",
  "FROM localhost/also/missing:2 AS tools",
  "FROM scratch AS final",
  "COPY --from=build /out /out",
  "COPY --from=0 /bin/busybox /bin/",
  "RUN --mount=type=bind,from=base,target=/b true",
].join("\n");

describe("target and pruning", () => {
  it("builds only what the target needs, in dependency order, and never resolves the rest", async () => {
    const { resolve, asked } = recordingResolver();
    const g = await compile(MULTI, { resolveImage: resolve });
    expect(g.target).toBe(4);
    expect(g.order).toEqual([0, 2, 4]);
    expect(asked).toEqual([BUSYBOX_REF]);
    expect(g.stages.map((s) => s.skipped === true)).toEqual([false, true, false, true, false]);
    expect(g.stages[2]!.base).toEqual({ kind: "stage", index: 0 });
    expect(g.stages[2]!.baseConfig.Env).toEqual(g.stages[0]!.steps.at(-1)!.config.Env);
    expect(g.stages[4]!.dependsOn).toEqual([0, 2]);
    const [copyBuild, copyIndex, run] = g.stages[4]!.steps;
    expect((copyBuild!.op as CopyOp).from).toEqual({ kind: "stage", index: 2 });
    expect((copyIndex!.op as CopyOp).from).toEqual({ kind: "stage", index: 0 });
    expect((run!.op as ExecOp).mounts[0]).toMatchObject({ type: "bind", from: { kind: "stage", index: 0 } });
    expect(copyBuild!.name).toBe("[final 1/3] COPY --from=build /out /out");
  });

  it("--target by name or index; an unneeded missing image only fails when targeted", async () => {
    const byName = await compile(MULTI, { target: "BUILD" });
    expect([byName.target, byName.order]).toEqual([2, [0, 2]]);
    const byIndex = await compile(MULTI, { target: "0" });
    expect(byIndex.order).toEqual([0]);
    await expect(compile(MULTI, { target: "unused" })).rejects.toMatchObject({
      code: "IMAGE_NOT_FOUND",
      location: { line: 3, column: 6 },
    });
  });

  it("an unknown target suggests the closest stage", async () => {
    await expect(compile(MULTI, { target: "biuld" })).rejects.toMatchObject({
      message: 'target stage "biuld" could not be found',
      hint: "did you mean build?",
    });
  });
});

describe("stage references", () => {
  it("COPY --from an image resolves it for the target platform", async () => {
    const { resolve, asked } = recordingResolver();
    const g = await compile(`FROM scratch\nCOPY --from=${BUSYBOX_REF} /bin/busybox /bin/\n`, {
      resolveImage: resolve,
    });
    const from = (g.stages[0]!.steps[0]!.op as CopyOp).from;
    expect(from.kind === "image" && from.image.manifestDigest).toBe(busybox.manifest.digest);
    expect(asked).toEqual([BUSYBOX_REF]);
  });

  it("a misspelt stage in --from is taken as an image, and the error suggests the stage", async () => {
    const err = await compile(`FROM scratch AS build\nFROM scratch\nCOPY --from=biuld /a /a\n`).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: "IMAGE_NOT_FOUND", location: { line: 3, column: 13 } });
    expect((err as { hint: string }).hint).toContain("did you mean the stage build?");
  });

  it("variables in --from and mount from= are rejected, as BuildKit does", async () => {
    await expect(compile("FROM scratch\nARG S=x\nCOPY --from=$S /a /a\n")).rejects.toMatchObject({
      code: "INSTRUCTION",
      message: expect.stringContaining("--from"),
      location: { line: 3 },
    });
    await expect(compile("FROM scratch\nRUN --mount=from=$S,target=/x true\n")).rejects.toMatchObject({
      code: "INSTRUCTION",
      location: { line: 2 },
    });
  });

  it("circular references and stages used before they are defined are errors at the reference", async () => {
    await expect(
      compile("FROM scratch AS a\nCOPY --from=b /x /x\nFROM scratch AS b\nCOPY --from=a /y /y\n"),
    ).rejects.toMatchObject({
      message: "circular dependency detected on stage: a",
      location: { line: 4, column: 13 },
    });
    await expect(compile("FROM scratch AS a\nCOPY --from=a /x /x\n")).rejects.toMatchObject({
      message: "circular dependency detected on stage: a",
    });
    await expect(
      compile("FROM scratch AS a\nCOPY --from=b /x /x\nFROM scratch AS b\n", { target: "a" }),
    ).rejects.toMatchObject({
      message: 'cannot copy from stage "b", it needs to be defined before current stage "a"',
      location: { line: 2, column: 13 },
    });
    await expect(compile("FROM later\nFROM scratch AS later\n", { target: "0" })).rejects.toMatchObject({
      message: 'stage "later" is used before it is defined',
    });
    await expect(compile("FROM scratch\nCOPY --from=7 /a /a\n")).rejects.toMatchObject({
      message: "invalid stage index 7",
    });
  });
});

describe("ONBUILD", () => {
  it("runs a base image's triggers first (they may need another stage) and clears them", async () => {
    const { resolve, asked } = recordingResolver();
    const text = `FROM ${BUSYBOX_REF} AS helper\nFROM ${BUSYBOX_REF} AS skipped\nFROM localhost/test/onbuild:1\nRUN echo $FROM_TRIGGER\n`;
    const g = await compile(text, { resolveImage: resolve });
    expect(g.order).toEqual([0, 2]);
    expect(asked).toEqual(["localhost/test/onbuild:1", BUSYBOX_REF]);
    const [env, copy, run] = g.stages[2]!.steps;
    expect(env!).toMatchObject({
      onbuild: true,
      createdBy: "ENV FROM_TRIGGER=yes",
      location: { start: { line: 3 } },
    });
    expect(env!.name).toBe("[stage-2 1/3] ONBUILD ENV FROM_TRIGGER=yes");
    expect((copy!.op as CopyOp).from).toEqual({ kind: "stage", index: 0 });
    expect((run!.op as ExecOp).env).toContain("FROM_TRIGGER=yes");
    expect(g.stages[2]!.baseConfig.OnBuild).toBeUndefined();
    expect(run!.config.OnBuild).toBeUndefined();
  });

  it("runs the ONBUILD instructions of a base stage in the child, not in the stage itself", async () => {
    const g = await compile("FROM scratch AS base\nONBUILD ENV CHILD=1\nFROM base\nENV X=2\n");
    expect(g.stages[0]!.steps.at(-1)!.config.OnBuild).toEqual(["ENV CHILD=1"]);
    const child = g.stages[1]!;
    expect(child.steps.map((s) => [s.createdBy, s.onbuild === true])).toEqual([
      ["ENV CHILD=1", true],
      ["ENV X=2", false],
    ]);
    expect(child.steps[0]!.location.start.line).toBe(2);
    expect(child.steps.at(-1)!.config.OnBuild).toBeUndefined();
  });
});

describe("local resolver", () => {
  const local = () => createLocalImageResolver(root);

  it("resolves tags and digests, short Docker Hub style names included", async () => {
    const byTag = await local()(BUSYBOX_REF, HOST_PLATFORM);
    expect(byTag).toMatchObject({ repository: "gantry/busybox", manifestDigest: busybox.manifest.digest });
    expect(byTag.config.Cmd).toEqual(["sh"]);
    expect(byTag.history).toEqual([expect.objectContaining({ created_by: "gantry import" })]);
    const byDigest = await local()(`gantry/busybox@${busybox.manifest.digest}`, HOST_PLATFORM);
    expect(byDigest.layers.map((l) => l.digest)).toEqual([busybox.layer.digest]);
  });

  it("picks the platform's manifest from an OCI index", async () => {
    const host = await local()("localhost/test/multi", HOST_PLATFORM);
    const other = await local()("localhost/test/multi:latest", OTHER);
    expect(host.config.Env).toContain("ARCH=host");
    expect(other.config.Env).toContain("ARCH=other");
    expect(other.platform).toMatchObject(OTHER);
    await expect(
      local()("localhost/test/multi", { os: "linux", architecture: "s390x" }),
    ).rejects.toMatchObject({
      code: "IMAGE_NOT_FOUND",
      message: expect.stringContaining("no manifest for linux/s390x"),
    });
  });

  it("reports IMAGE_NOT_FOUND for missing images and data roots, and bad references clearly", async () => {
    await expect(local()("localhost/nope:1", HOST_PLATFORM)).rejects.toMatchObject({
      code: "IMAGE_NOT_FOUND",
    });
    await expect(
      createLocalImageResolver(join(root, "absent"))(BUSYBOX_REF, HOST_PLATFORM),
    ).rejects.toMatchObject({
      code: "IMAGE_NOT_FOUND",
    });
    await expect(local()("Bad//Name", HOST_PLATFORM)).rejects.toMatchObject({ code: "IMAGE_REFERENCE" });
  });
});

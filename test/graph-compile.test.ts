/**
 * The graph compiler against a real local data root (busybox imported through the real import path,
 * resolved by the local resolver): stage dispatch, per-instruction config and history, RUN/COPY ops.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildAst } from "../src/frontend/ast-build.js";
import { parseDockerfile } from "../src/frontend/parse.js";
import { compileGraph } from "../src/graph/compile.js";
import { createLocalImageResolver } from "../src/graph/local-resolver.js";
import type { BuildGraph, CompileOptions, CopyOp, ExecOp, Step } from "../src/graph/types.js";
import { BUSYBOX_REF, HOST_PLATFORM, type ImportedBusybox, importBusybox } from "./helpers/busybox-image.js";

let root: string;
let busybox: ImportedBusybox;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "gantry-graph-"));
  busybox = await importBusybox(root);
}, 120_000);
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

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

const steps = (g: BuildGraph, stage = g.target): Step[] => g.stages[stage]!.steps;
const last = (g: BuildGraph): Step => steps(g).at(-1)!;

describe("FROM and the base image", () => {
  it("resolves an image from the data root and starts from its config", async () => {
    const g = await compile(`FROM ${BUSYBOX_REF}\nRUN echo hi\n`);
    const stage = g.stages[0]!;
    expect(stage.base.kind).toBe("image");
    if (stage.base.kind !== "image") return;
    expect(stage.base.image.manifestDigest).toBe(busybox.manifest.digest);
    expect(stage.base.image.diffIds).toEqual([busybox.layer.diffId]);
    expect(stage.baseConfig.Cmd).toEqual(["sh"]);
    const run = last(g).op as ExecOp;
    expect(run.args).toEqual(["/bin/sh", "-c", "echo hi"]);
    expect(run.env).toEqual(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]);
    expect(run.cwd).toBe("/");
    expect(last(g).createdBy).toBe("RUN /bin/sh -c echo hi # buildkit");
    expect(last(g).emptyLayer).toBe(false);
    expect(last(g).name).toBe("[1/1] RUN echo hi");
  });
});

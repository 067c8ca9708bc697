/**
 * `gantry graph` end to end: spawns bin/gantry (built with `npm run build`) on a data root with busybox
 * imported, and checks the text, dot and JSON outputs, build args, --target, and located errors.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BuildGraph } from "../src/graph/types.js";
import { type ImportedBusybox, importBusybox } from "./helpers/busybox-image.js";

const repo = path.join(import.meta.dirname, "..");
const bin = path.join(repo, "bin", "gantry");
const FILE = "fixtures/graph/multi-stage.Dockerfile";
let root: string;
let busybox: ImportedBusybox;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "gantry-graph-cli-"));
  busybox = await importBusybox(root);
}, 120_000);
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function gantry(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [bin, "--root", root, ...args], {
    cwd: repo,
    input,
    encoding: "utf8",
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("gantry graph", () => {
  it("prints a text outline of the stages the target needs", () => {
    const r = gantry(["graph", FILE, "--build-arg", "VERSION=2", "--build-arg", "EXTRA=1"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toMatch(
      /^stage 0: build {2}linux\/\S+ {2}FROM localhost\/gantry\/busybox:latest @[0-9a-f]{12}$/,
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^ {2}\[build 3\/3\] RUN --mount=type=cache,target=\/root\/\.cache echo .*… {2}\[layer\]$/,
      ),
    );
    expect(r.stdout).toContain("stage 2: final (target)");
    expect(r.stdout).toContain("not needed for the target: 1: docs");
    expect(r.stdout).toContain("unused build args: EXTRA");
  });

  it("prints JSON that is the BuildGraph", () => {
    const r = gantry(["graph", FILE, "--format", "json", "--build-arg", "VERSION=2"]);
    expect(r.status).toBe(0);
    const g = JSON.parse(r.stdout) as BuildGraph;
    expect(g.order).toEqual([0, 2]);
    expect(g.target).toBe(2);
    const base = g.stages[0]!.base;
    expect(base.kind === "image" && base.image.manifestDigest).toBe(busybox.manifest.digest);
    const run = g.stages[0]!.steps[2]!;
    expect(run.createdBy).toBe('RUN |1 VERSION=2 /bin/sh -c echo "v$VERSION" > /src/version # buildkit');
    expect(g.stages[2]!.steps[0]!.op).toMatchObject({ kind: "copy", from: { kind: "stage", index: 0 } });
  });

  it("prints dot with one cluster per stage and edges for FROM stage and COPY --from", () => {
    const r = gantry(
      ["graph", "--format", "dot", "-"],
      "FROM localhost/gantry/busybox AS a\nRUN x\nFROM a AS b\nFROM scratch\nCOPY --from=b /x /x\n",
    );
    expect(r.status).toBe(0);
    expect(r.stdout.startsWith("digraph build {")).toBe(true);
    expect(r.stdout.match(/subgraph cluster_\d+ \{/g)).toHaveLength(3);
    expect(r.stdout).toContain('s0_0 -> s1_base [label="FROM"];');
    expect(r.stdout).toContain('s1_base -> s2_0 [label="copy"];');
    expect(r.stdout.trimEnd().endsWith("}")).toBe(true);
  });

  it("--target selects a stage; a missing base image is an error at its FROM with a hint", () => {
    const ok = gantry(["graph", FILE, "--target", "build", "--format", "json"]);
    expect(JSON.parse(ok.stdout).order).toEqual([0]);
    const r = gantry(["graph", FILE, "--target", "docs"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${FILE}:9:6: error: image "localhost/not/pulled:1" not found locally`);
    expect(r.stderr).toContain("FROM localhost/not/pulled:1 AS docs");
    expect(r.stderr).toContain("hint:");
    expect(r.stderr).not.toContain("    at ");
  });

  it("unknown targets and bad flags are usage errors", () => {
    const r = gantry(["graph", FILE, "--target", "buidl"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('target stage "buidl" could not be found');
    expect(r.stderr).toContain("did you mean build?");
    expect(gantry(["graph", FILE, "--format", "svg"]).status).toBe(2);
    expect(gantry(["graph", FILE, "--platform", "linux/"]).status).toBe(2);
  });
});

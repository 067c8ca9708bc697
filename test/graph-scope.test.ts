// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Dockerfile sources contain ${…} on purpose
/**
 * ARG/ENV scoping of the graph compiler, as BuildKit's dockerfile2llb: global ARGs only in FROM unless
 * re-declared, build args over defaults, predefined platform args, proxy args, ENV over ARG, ARG values in
 * RUN's environment and history but not in the image config, unused build args, expansion errors located.
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
import { BUSYBOX_REF, HOST_PLATFORM, importBusybox } from "./helpers/busybox-image.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "gantry-graph-scope-"));
  await importBusybox(root);
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
const steps = (g: BuildGraph): Step[] => g.stages[g.target]!.steps;
const exec = (s: Step): ExecOp => s.op as ExecOp;

describe("global ARGs", () => {
  it("are usable in FROM, and inside a stage only when re-declared", async () => {
    const text = `ARG IMG=${BUSYBOX_REF}\nARG V=1\nFROM $IMG\nRUN echo $V\nARG V\nARG IMG\nRUN echo $V\n`;
    const g = await compile(text);
    const [before, , , after] = steps(g);
    expect(exec(before!).env.some((e) => e.startsWith("V="))).toBe(false);
    expect(exec(after!).env).toContain("V=1");
    expect(exec(after!).env).toContain(`IMG=${BUSYBOX_REF}`);
    expect(after!.createdBy).toBe(`RUN |2 V=1 IMG=${BUSYBOX_REF} /bin/sh -c echo $V # buildkit`);
    expect(after!.config.Env).toEqual(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]);
  });

  it("take build args over defaults, and a default sees earlier globals", async () => {
    const text =
      "ARG REPO=localhost/gantry\nARG IMG=${REPO}/busybox:latest\nFROM ${IMG}\nARG IMG\nRUN true\n";
    const g = await compile(text, { buildArgs: { REPO: "localhost/gantry" } });
    expect(exec(steps(g)[1]!).env).toContain(`IMG=${BUSYBOX_REF}`);
    await expect(compile(text, { buildArgs: { IMG: "localhost/nothing/here:1" } })).rejects.toMatchObject({
      code: "IMAGE_NOT_FOUND",
      location: { line: 3, column: 6 },
    });
  });

  it("predefined platform args are global; inside a stage they need ARG", async () => {
    const arm = { os: "linux", architecture: "arm", variant: "v7" };
    const text = `FROM ${BUSYBOX_REF}\nRUN echo $TARGETARCH\nARG TARGETPLATFORM TARGETARCH TARGETVARIANT BUILDPLATFORM\nRUN echo\n`;
    const g = await compile(text, {
      platform: arm,
      resolveImage: (ref) => createLocalImageResolver(root)(ref, HOST_PLATFORM),
    });
    expect(exec(steps(g)[0]!).env.some((e) => e.startsWith("TARGET"))).toBe(false);
    const env = exec(steps(g)[2]!).env;
    expect(env).toContain("TARGETPLATFORM=linux/arm/v7");
    expect(env).toContain("TARGETARCH=arm");
    expect(env).toContain("TARGETVARIANT=v7");
    expect(env).toContain(`BUILDPLATFORM=linux/${HOST_PLATFORM.architecture}`);
    expect(g.stages[0]!.platform).toEqual(arm);
  });

  it("FROM --platform is expanded with global args", async () => {
    const g = await compile(`FROM --platform=$BUILDPLATFORM ${BUSYBOX_REF}\nRUN true\n`, {
      platform: { os: "linux", architecture: "arm64" },
    });
    expect(g.stages[0]!.platform).toEqual(HOST_PLATFORM);
  });
});

describe("ARG and ENV in a stage", () => {
  it("ENV overrides an ARG of the same name; ARG values never reach the config", async () => {
    const text = `FROM ${BUSYBOX_REF}\nARG VER=arg\nENV VER=env-\${VER}\nRUN echo\nARG VER=again\nRUN echo\n`;
    const g = await compile(text, { buildArgs: { VER: "cli" } });
    const [, env, run1, , run2] = steps(g);
    expect(env!.config.Env).toContain("VER=env-cli");
    expect(exec(run1!).env).toContain("VER=env-cli");
    expect(run1!.createdBy).toBe("RUN |1 VER=env-cli /bin/sh -c echo # buildkit");
    // A build arg wins over a later default too, and ARG sets the run environment (not the config).
    expect(exec(run2!).env).toContain("VER=cli");
    expect(run2!.config.Env).toContain("VER=env-cli");
  });

  it("an ARG without a value is in scope as empty in history, absent from env", async () => {
    const g = await compile(`FROM ${BUSYBOX_REF}\nARG EMPTY\nRUN true\n`);
    const run = steps(g)[1]!;
    expect(run.createdBy).toBe("RUN |1 EMPTY= /bin/sh -c true # buildkit");
    expect(exec(run).env.some((e) => e.startsWith("EMPTY"))).toBe(false);
    expect(steps(g)[0]!.createdBy).toBe("ARG EMPTY");
  });

  it("image ENV applies to expansion", async () => {
    const g = await compile(`FROM ${BUSYBOX_REF}\nCOPY a \${PATH%%:*}/\n`);
    expect((steps(g)[0]!.op as CopyOp).dest).toBe("/usr/local/sbin/");
  });

  it("a stage built FROM another inherits its ARG values", async () => {
    const g = await compile(`FROM ${BUSYBOX_REF} AS base\nARG X=1\nFROM base\nRUN echo\n`);
    expect(exec(steps(g)[0]!).env).toContain("X=1");
    expect(steps(g)[0]!.createdBy).toBe("RUN |1 X=1 /bin/sh -c echo # buildkit");
  });
});

describe("proxy and unused build args", () => {
  it("proxy args reach RUN without a declaration but not config, history or env", async () => {
    const g = await compile(`FROM ${BUSYBOX_REF}\nRUN true\n`, {
      buildArgs: {
        HTTP_PROXY: "http://proxy:3128",
        no_proxy: "localhost",
        UNUSED: "1",
        BUILDKIT_INLINE_CACHE: "1",
      },
    });
    const run = steps(g)[0]!;
    expect(exec(run).proxyEnv).toEqual([
      "HTTP_PROXY=http://proxy:3128",
      "http_proxy=http://proxy:3128",
      "NO_PROXY=localhost",
      "no_proxy=localhost",
    ]);
    expect(exec(run).env.join(" ")).not.toContain("proxy");
    expect(run.createdBy).toBe("RUN /bin/sh -c true # buildkit");
    expect(g.unusedBuildArgs).toEqual(["UNUSED"]);
  });

  it("args declared only in a stage that is not built count as unused", async () => {
    const text = `FROM ${BUSYBOX_REF} AS a\nARG ONLY_A\nFROM ${BUSYBOX_REF}\nARG USED\n`;
    expect((await compile(text, { buildArgs: { ONLY_A: "1", USED: "2" } })).unusedBuildArgs).toEqual([
      "ONLY_A",
    ]);
  });
});

describe("expansion errors", () => {
  it("`${x:?msg}` fails at the word with file:line:col", async () => {
    const err = await compile(`FROM ${BUSYBOX_REF}\nWORKDIR /a/\${DIR:?set DIR}\n`).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "EXPANSION", location: { file: "Dockerfile", line: 2, column: 12 } }); // the `$`
    expect((err as Error).message).toContain("DIR: set DIR");
    expect((err as { location: { sourceLine: string } }).location.sourceLine).toBe(
      "WORKDIR /a/${DIR:?set DIR}",
    );
  });

  it("a blank base name is an error at FROM", async () => {
    await expect(compile("ARG IMG\nFROM $IMG\n")).rejects.toMatchObject({
      message: "base name ($IMG) should not be blank",
      location: { line: 2, column: 6 },
    });
  });
});

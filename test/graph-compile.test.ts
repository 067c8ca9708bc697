// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Dockerfile sources contain ${…} on purpose
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

describe("metadata instructions", () => {
  it("records config and BuildKit's history text for each instruction", async () => {
    const g = await compile(
      [
        `FROM ${BUSYBOX_REF}`,
        "ENV A=1 B=${A}2", // B sees the environment before this ENV: A is unset
        "LABEL org.x=y other=$B",
        "USER 1000:1000",
        "EXPOSE 80 53/udp 8000-8002/tcp",
        "VOLUME /data /cache",
        "STOPSIGNAL SIGQUIT",
        "HEALTHCHECK --interval=30s --timeout=1m30s --retries=3 CMD wget -q localhost",
        'SHELL ["/bin/ash", "-eo", "pipefail", "-c"]',
        "MAINTAINER me@example.com",
        "ONBUILD RUN echo child",
        "ENTRYPOINT /app",
        'CMD ["--help"]',
      ].join("\n"),
    );
    const s = steps(g);
    expect(s.map((x) => x.createdBy)).toEqual([
      "ENV A=1 B=2",
      "LABEL org.x=y other=2",
      "USER 1000:1000",
      "EXPOSE [80/tcp 53/udp 8000/tcp 8001/tcp 8002/tcp]",
      "VOLUME [/data /cache]",
      "STOPSIGNAL SIGQUIT",
      "HEALTHCHECK {Test:[CMD-SHELL wget -q localhost] Interval:30s Timeout:1m30s StartPeriod:0s StartInterval:0s Retries:3}",
      "SHELL [/bin/ash -eo pipefail -c]",
      "MAINTAINER me@example.com",
      "ONBUILD RUN echo child",
      'ENTRYPOINT ["/bin/ash" "-eo" "pipefail" "-c" "/app"]',
      'CMD ["--help"]',
    ]);
    expect(s.every((x) => x.emptyLayer && x.op.kind === "config")).toBe(true);
    expect(s.find((x) => x.createdBy.startsWith("ONBUILD"))?.noHistory).toBe(true);
    const c = last(g).config;
    expect(c.Env).toEqual([
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "A=1",
      "B=2",
    ]);
    expect(c.Labels).toEqual({ "org.x": "y", other: "2" });
    expect(c.User).toBe("1000:1000");
    expect(Object.keys(c.ExposedPorts ?? {})).toEqual([
      "80/tcp",
      "53/udp",
      "8000/tcp",
      "8001/tcp",
      "8002/tcp",
    ]);
    expect(c.Volumes).toEqual({ "/data": {}, "/cache": {} });
    expect(c.StopSignal).toBe("SIGQUIT");
    expect(c.Healthcheck).toEqual({
      Test: ["CMD-SHELL", "wget -q localhost"],
      Interval: 30_000_000_000,
      Timeout: 90_000_000_000,
      Retries: 3,
    });
    expect(c.OnBuild).toEqual(["RUN echo child"]);
    expect(c.Entrypoint).toEqual(["/bin/ash", "-eo", "pipefail", "-c", "/app"]);
    expect(c.Cmd).toEqual(["--help"]);
    expect(last(g).author).toBe("me@example.com");
  });

  it("ENTRYPOINT resets a CMD inherited from the base, but keeps one set in the stage", async () => {
    const reset = await compile(`FROM ${BUSYBOX_REF}\nENTRYPOINT ["/bin/echo"]\n`);
    expect(reset.stages[0]!.baseConfig.Cmd).toEqual(["sh"]);
    expect(last(reset).config.Cmd).toBeUndefined();
    const kept = await compile(`FROM ${BUSYBOX_REF}\nCMD ["x"]\nENTRYPOINT ["/bin/echo"]\n`);
    expect(last(kept).config.Cmd).toEqual(["x"]);
  });

  it("WORKDIR is relative to the previous one, expanded, and creates its directory", async () => {
    const g = await compile(
      `FROM ${BUSYBOX_REF}\nENV D=src\nWORKDIR /app\nWORKDIR $D/../lib\nWORKDIR /\nRUN pwd\n`,
    );
    const [, wd1, wd2, wd3, run] = steps(g);
    expect([wd1!.createdBy, wd1!.mkdir, wd1!.emptyLayer]).toEqual(["WORKDIR /app", "/app", false]);
    expect([wd2!.createdBy, wd2!.mkdir]).toEqual(["WORKDIR /app/lib", "/app/lib"]);
    expect([wd3!.createdBy, wd3!.mkdir, wd3!.emptyLayer]).toEqual(["WORKDIR /", undefined, true]);
    expect((run!.op as ExecOp).cwd).toBe("/");
  });
});

describe("RUN", () => {
  it("wraps shell form in SHELL, keeps exec form, and records mounts with defaults", async () => {
    const g = await compile(
      [
        `FROM ${BUSYBOX_REF}`,
        "WORKDIR /w",
        "ARG CACHE=/root/.cache",
        'RUN ["echo", "$HOME"]',
        "RUN --network=none --mount=type=cache,target=$CACHE,sharing=locked --mount=type=secret,id=tok --mount=type=tmpfs,target=tmp,size=64m --mount=type=ssh --mount=type=bind,source=src,target=/src,rw make",
      ].join("\n"),
    );
    const [, , exec, run] = steps(g).map((s) => s.op as ExecOp);
    expect(exec!.args).toEqual(["echo", "$HOME"]);
    expect(run!.args).toEqual(["/bin/sh", "-c", "make"]);
    expect(run!.network).toBe("none");
    expect(run!.env).toContain("CACHE=/root/.cache");
    expect(run!.mounts).toEqual([
      { type: "cache", readonly: false, target: "/root/.cache", id: "/root/.cache", sharing: "locked" },
      {
        type: "secret",
        readonly: true,
        target: "/run/secrets/tok",
        id: "tok",
        required: false,
        mode: 0o400,
        uid: 0,
        gid: 0,
      },
      { type: "tmpfs", readonly: false, target: "/w/tmp", size: 64 * 1024 * 1024 },
      {
        type: "ssh",
        readonly: true,
        target: "/run/buildkit/ssh_agent.0",
        id: "default",
        required: false,
        mode: 0o600,
        uid: 0,
        gid: 0,
      },
      {
        type: "bind",
        readonly: false,
        target: "/src",
        from: { kind: "context", name: "context" },
        source: "/src",
      },
    ]);
    expect(steps(g)[3]!.createdBy).toBe("RUN |1 CACHE=/root/.cache /bin/sh -c make # buildkit");
  });

  it("runs a heredoc body through the shell, and a #! heredoc as a file", async () => {
    const g = await compile(
      `FROM ${BUSYBOX_REF}\nRUN <<EOF\necho one\necho two\nEOF\nRUN <<-SCRIPT\n\t#!/bin/sh\n\techo hi\n\tSCRIPT\nRUN cat <<A > /a\nx\nA\n`,
    );
    const [plain, shebang, complex] = steps(g).map((s) => s.op as ExecOp);
    expect(plain!.args).toEqual(["/bin/sh", "-c", "echo one\necho two\n"]);
    expect(shebang!.args).toEqual(["/bin/sh", "-c", "/dev/pipes/SCRIPT"]);
    expect(shebang!.inlineFiles).toEqual([
      { path: "/dev/pipes/SCRIPT", content: "#!/bin/sh\necho hi\n", mode: 0o755 },
    ]);
    expect(complex!.args).toEqual(["/bin/sh", "-c", "cat <<A > /a\nx\nA"]);
  });
});

describe("COPY and ADD", () => {
  it("expands sources, destination and flags; heredocs only with an unquoted delimiter", async () => {
    const g = await compile(
      [
        `FROM ${BUSYBOX_REF}`,
        "ARG SRC=app U=1000",
        "WORKDIR /srv",
        "COPY --chown=$U:$U --chmod=0755 --exclude=*.tmp $SRC/ ./",
        'COPY <<EOF <<"RAW" /etc/',
        'x=$SRC "q"',
        "EOF",
        "y=$SRC",
        "RAW",
        "ADD --checksum=sha256:0123456789012345678901234567890123456789012345678901234567890123 https://example.com/a.tgz /a/",
        "ADD --keep-git-dir git@github.com:moby/buildkit.git#v0.12:docs /docs",
      ].join("\n"),
    );
    const [, , copy, heredoc, url, git] = steps(g);
    const op = copy!.op as CopyOp;
    expect(op).toMatchObject({
      instruction: "COPY",
      from: { kind: "context", name: "context" },
      sources: [{ kind: "path", pattern: "app/" }],
      dest: "./",
      workdir: "/srv",
      chown: "1000:1000",
      chmod: "0755",
      excludes: ["*.tmp"],
      link: false,
    });
    expect(copy!.createdBy).toBe("COPY --chown=1000:1000 --chmod=0755 app/ ./ # buildkit");
    expect((heredoc!.op as CopyOp).sources).toEqual([
      { kind: "heredoc", name: "EOF", content: 'x=app "q"\n' },
      { kind: "heredoc", name: "RAW", content: "y=$SRC\n" },
    ]);
    expect(heredoc!.createdBy).toBe("COPY <<EOF <<RAW /etc/ # buildkit");
    expect((url!.op as CopyOp).sources).toEqual([{ kind: "url", url: "https://example.com/a.tgz" }]);
    expect((url!.op as CopyOp).checksum).toMatch(/^sha256:/);
    expect((git!.op as CopyOp).sources).toEqual([
      { kind: "git", url: "git@github.com:moby/buildkit.git", ref: "v0.12", subdir: "docs" },
    ]);
    expect((git!.op as CopyOp).keepGitDir).toBe(true);
  });

  it("rejects URLs in COPY and bad --chmod values, at the word", async () => {
    await expect(compile(`FROM ${BUSYBOX_REF}\nCOPY https://example.com/x /x\n`)).rejects.toMatchObject({
      message: "source can't be a URL for COPY",
      location: { line: 2, column: 6 },
    });
    await expect(compile(`FROM ${BUSYBOX_REF}\nCOPY --chmod=999 a /x\n`)).rejects.toMatchObject({
      code: "INSTRUCTION",
      location: { line: 2 },
    });
  });
});

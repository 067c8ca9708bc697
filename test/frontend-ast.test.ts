/** Typed AST: one test per instruction kind, checking fields and source ranges (raw trees built by hand). */
import { describe, expect, it } from "vitest";
import type { Instruction } from "../src/frontend/ast.js";
import { allInstructions, buildAst } from "../src/frontend/ast-build.js";
import { parseDockerfile } from "../src/frontend/parse.js";
import { rawFromLines } from "./helpers/raw-builder.js";

/** The single instruction after `FROM scratch` in `line`. */
function one(line: string): Instruction {
  const ast = buildAst(rawFromLines(`FROM scratch\n${line}`));
  expect(ast.stages[0]!.instructions).toHaveLength(1);
  return ast.stages[0]!.instructions[0]!;
}

const at = (line: number, start: number, end: number) => ({
  start: { line, column: start },
  end: { line, column: end },
});

describe("buildAst", () => {
  it("groups global ARGs and stages", () => {
    const ast = buildAst(
      rawFromLines("ARG V=1\nFROM alpine:$V AS Build\nRUN x\nFROM build\nCOPY --from=build /a /b"),
    );
    expect(ast.globalArgs).toHaveLength(1);
    expect(ast.stages.map((s) => [s.index, s.name, s.instructions.length])).toEqual([
      [0, "build", 1],
      [1, undefined, 1],
    ]);
    expect(allInstructions(ast).map((i) => i.kind)).toEqual(["Arg", "From", "Run", "From", "Copy"]);
  });

  it("From: image, platform, stage name (lower-cased) with ranges", () => {
    const ast = buildAst(rawFromLines("FROM --platform=$BUILDPLATFORM golang:1.22 AS Builder"));
    const from = ast.stages[0]!.from;
    expect(from.kind).toBe("From");
    expect(from.image).toEqual({ value: "golang:1.22", range: at(1, 32, 43) });
    expect(from.platform).toEqual({ value: "$BUILDPLATFORM", range: at(1, 17, 31) });
    expect(from.stageName).toEqual({ value: "builder", range: at(1, 47, 54) });
    expect(from.stageNameAsWritten).toBe("Builder");
    expect(from.asKeyword?.value).toBe("AS");
    expect(from.keywordRange).toEqual(at(1, 1, 5));
  });

  it("Run: mounts, network, security, shell command", () => {
    const run = one(
      "RUN --mount=type=cache,target=/root/.cache,sharing=locked,id=pip --mount=type=secret,id=tok,required --network=none --security=insecure pip install x",
    );
    if (run.kind !== "Run") throw new Error(run.kind);
    expect(run.mounts).toHaveLength(2);
    expect(run.mounts[0]).toMatchObject({
      type: "cache",
      target: "/root/.cache",
      sharing: "locked",
      id: "pip",
      readonly: false,
    });
    expect(run.mounts[1]).toMatchObject({ type: "secret", id: "tok", required: true, readonly: true });
    expect(run.mounts[0]!.range).toEqual(at(2, 13, 65));
    expect(run.network).toEqual({ value: "none", range: at(2, 112, 116) });
    expect(run.security?.value).toBe("insecure");
    expect(run.command).toMatchObject({ form: "shell", text: "pip install x" });
  });

  it("Run: bind mount defaults and exec form", () => {
    const run = one('RUN --mount=type=bind,from=build,source=/out,target=/in,rw ["ls", "/in"]');
    if (run.kind !== "Run") throw new Error(run.kind);
    expect(run.mounts[0]).toMatchObject({
      type: "bind",
      from: "build",
      source: "/out",
      target: "/in",
      readonly: false,
    });
    expect(run.command.form).toBe("exec");
    if (run.command.form === "exec") expect(run.command.args.map((a) => a.value)).toEqual(["ls", "/in"]);
  });

  it("Run: tmpfs size and ssh mount", () => {
    const run = one("RUN --mount=type=tmpfs,target=/t,size=64m --mount=type=ssh,mode=0600,uid=1 make");
    if (run.kind !== "Run") throw new Error(run.kind);
    expect(run.mounts[0]).toMatchObject({ type: "tmpfs", size: "64m", readonly: false });
    expect(run.mounts[1]).toMatchObject({ type: "ssh", mode: 0o600, uid: 1 });
  });

  it("Cmd and Entrypoint: exec and shell forms", () => {
    const cmd = one('CMD ["nginx", "-g", "daemon off;"]');
    expect(cmd).toMatchObject({ kind: "Cmd", command: { form: "exec" } });
    const ep = one("ENTRYPOINT /bin/run --fast");
    expect(ep).toMatchObject({ kind: "Entrypoint", command: { form: "shell", text: "/bin/run --fast" } });
    if (ep.kind === "Entrypoint") expect(ep.command.range).toEqual(at(2, 12, 27));
  });

  it("Shell: JSON args", () => {
    const sh = one('SHELL ["/bin/bash", "-eo", "pipefail", "-c"]');
    if (sh.kind !== "Shell") throw new Error(sh.kind);
    expect(sh.shell.map((s) => s.value)).toEqual(["/bin/bash", "-eo", "pipefail", "-c"]);
  });

  it("Label and Env: pairs with key/value ranges, legacy form", () => {
    const label = one("LABEL a=1 org.title=x");
    if (label.kind !== "Label") throw new Error(label.kind);
    expect(label.pairs.map((p) => [p.key.value, p.value.value, p.legacy])).toEqual([
      ["a", "1", false],
      ["org.title", "x", false],
    ]);
    expect(label.pairs[1]!.key.range).toEqual(at(2, 11, 20));
    expect(label.pairs[1]!.value.range).toEqual(at(2, 21, 22));
    const env = one("ENV PATH /usr/bin:/bin");
    if (env.kind !== "Env") throw new Error(env.kind);
    expect(env.pairs).toHaveLength(1);
    expect(env.pairs[0]).toMatchObject({
      key: { value: "PATH" },
      value: { value: "/usr/bin:/bin" },
      legacy: true,
    });
    expect(env.pairs[0]!.range).toEqual(at(2, 5, 23));
  });

  it("Maintainer, User, Workdir, Stopsignal: the single argument", () => {
    expect(one("MAINTAINER Jane <j@x.org>")).toMatchObject({
      kind: "Maintainer",
      maintainer: { value: "Jane <j@x.org>" },
    });
    expect(one("USER app:app")).toMatchObject({
      kind: "User",
      user: { value: "app:app", range: at(2, 6, 13) },
    });
    expect(one("WORKDIR /src")).toMatchObject({
      kind: "Workdir",
      path: { value: "/src", range: at(2, 9, 13) },
    });
    expect(one("STOPSIGNAL SIGQUIT")).toMatchObject({ kind: "Stopsignal", signal: { value: "SIGQUIT" } });
  });

  it("Expose and Volume: every word", () => {
    const ex = one("EXPOSE 80 443/tcp");
    if (ex.kind !== "Expose") throw new Error(ex.kind);
    expect(ex.ports).toEqual([
      { value: "80", range: at(2, 8, 10) },
      { value: "443/tcp", range: at(2, 11, 18) },
    ]);
    const vol = one('VOLUME ["/data", "/logs"]');
    expect(vol).toMatchObject({ kind: "Volume", paths: [{ value: "/data" }, { value: "/logs" }] });
  });

  it("Copy: flags, sources, dest", () => {
    const c = one(
      "COPY --from=build --chown=app:app --chmod=755 --link --parents --exclude=*.md --exclude=.git a/ b/ /dst/",
    );
    if (c.kind !== "Copy") throw new Error(c.kind);
    expect(c.from).toEqual({ value: "build", range: at(2, 13, 18) });
    expect(c.chown?.value).toBe("app:app");
    expect(c.chmod?.value).toBe("755");
    expect(c.link).toBe(true);
    expect(c.parents).toBe(true);
    expect(c.excludes.map((e) => e.value)).toEqual(["*.md", ".git"]);
    expect(c.sources.map((s) => (s.type === "path" ? s.path.value : s.heredoc.name))).toEqual(["a/", "b/"]);
    expect(c.dest).toEqual({ value: "/dst/", range: at(2, 100, 105) });
  });

  it("Copy: heredoc source maps to its body", () => {
    const raw = rawFromLines("FROM scratch\nCOPY <<EOF /etc/motd");
    raw.instructions[1]!.heredocs = [
      { name: "EOF", fileDescriptor: 0, chomp: false, expand: true, content: "hi\n", range: at(3, 1, 4) },
    ];
    const c = buildAst(raw).stages[0]!.instructions[0]!;
    if (c.kind !== "Copy") throw new Error(c.kind);
    expect(c.sources[0]).toMatchObject({ type: "heredoc", heredoc: { name: "EOF", content: "hi\n" } });
  });

  it("Add: git/url flags", () => {
    const a = one(
      "ADD --keep-git-dir=true --checksum=sha256:abc --unpack=false --link=FALSE https://x/y.tgz /opt/",
    );
    if (a.kind !== "Add") throw new Error(a.kind);
    expect(a).toMatchObject({
      keepGitDir: true,
      unpack: false,
      link: false,
      checksum: { value: "sha256:abc" },
    });
    expect(one("ADD a b")).toMatchObject({ kind: "Add", unpack: undefined, link: false });
  });

  it("Arg: names and defaults with split ranges", () => {
    const ast = buildAst(rawFromLines("ARG A B=2\nFROM scratch"));
    const arg = ast.globalArgs[0]!;
    expect(arg.args[0]).toMatchObject({ name: { value: "A" } });
    expect(arg.args[0]!.defaultValue).toBeUndefined();
    expect(arg.args[1]!.name).toEqual({ value: "B", range: at(1, 7, 8) });
    expect(arg.args[1]!.defaultValue).toEqual({ value: "2", range: at(1, 9, 10) });
  });

  it("Onbuild: typed trigger", () => {
    const ob = one("ONBUILD COPY --chown=1 . /app");
    if (ob.kind !== "Onbuild") throw new Error(ob.kind);
    expect(ob.trigger).toMatchObject({ kind: "Copy", chown: { value: "1" }, dest: { value: "/app" } });
    expect(ob.expression).toBe("COPY --chown=1 . /app");
  });

  it("Healthcheck: durations in ms, retries, NONE", () => {
    const hc = one(
      "HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=0 --start-interval=2s --retries=3 CMD curl -f http://x/",
    );
    if (hc.kind !== "Healthcheck" || hc.check.type !== "cmd") throw new Error("not cmd");
    expect(hc.check).toMatchObject({
      interval: 90_000,
      timeout: 500,
      startPeriod: 0,
      startInterval: 2000,
      retries: 3,
    });
    expect(hc.check.command).toMatchObject({ form: "shell", text: "curl -f http://x/" });
    expect(one("HEALTHCHECK none")).toMatchObject({ kind: "Healthcheck", check: { type: "none" } });
    const ex = one('HEALTHCHECK CMD ["pg_isready"]');
    if (ex.kind === "Healthcheck" && ex.check.type === "cmd") expect(ex.check.command.form).toBe("exec");
  });

  it("keeps keyword case and the original line", () => {
    const run = one("Run echo hi");
    expect(run).toMatchObject({ keyword: "Run", original: "Run echo hi", range: at(2, 1, 12) });
  });

  it("heredocs through the real parser: RUN script and COPY inline files", () => {
    const src = [
      "FROM alpine",
      "RUN <<EOF",
      "echo one",
      "EOF",
      "COPY --chmod=755 <<-'A' <<B /opt/",
      "\t#!/bin/sh $X",
      "A",
      "b $Y",
      "B",
    ].join("\n");
    const [run, copy] = buildAst(parseDockerfile(src, "Dockerfile")).stages[0]!.instructions;
    if (run?.kind !== "Run" || copy?.kind !== "Copy") throw new Error("kinds");
    expect(run.command).toMatchObject({
      form: "shell",
      text: "<<EOF",
      heredocs: [{ name: "EOF", content: "echo one\n" }],
    });
    expect(copy.sources).toMatchObject([
      { type: "heredoc", heredoc: { name: "A", chomp: true, expand: false } },
      { type: "heredoc", heredoc: { name: "B", expand: true, content: "b $Y\n" } },
    ]);
    expect(copy.dest.value).toBe("/opt/");
    expect(copy.chmod?.value).toBe("755");
  });

  it("ranges from the real parser point at flags and args", () => {
    const ast = buildAst(parseDockerfile("FROM a\nCOPY --from=build \\\n  src /dst\n", "Dockerfile"));
    const copy = ast.stages[0]!.instructions[0]!;
    if (copy.kind !== "Copy") throw new Error(copy.kind);
    expect(copy.from?.range).toEqual(at(2, 13, 18));
    expect(copy.dest.range).toEqual(at(3, 7, 11));
    expect(copy.range.start).toEqual({ line: 2, column: 1 });
    expect(copy.range.end.line).toBe(3);
  });
});

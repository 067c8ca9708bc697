/** `gantry check` end to end: builds dist/, spawns bin/gantry, checks text/JSON output and exit codes. */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";

const root = path.resolve(__dirname, "..");
const gantry = path.join(root, "bin", "gantry");

function run(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [gantry, ...args], { cwd: root, input, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  // Others' files may not compile at every moment; tsc still emits, so only the output matters here.
  try {
    execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: root, stdio: "ignore" });
  } catch {
    /* type errors elsewhere do not stop emitting */
  }
}, 180_000);

describe("gantry check (text)", () => {
  it("prints each finding with location, source line, caret and hint; exit 0 for warnings", () => {
    const r = run(["check", "fixtures/lint/warnings.Dockerfile"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    const i = lines.indexOf(
      "fixtures/lint/warnings.Dockerfile:5:6: UndefinedVar: Usage of undefined variable '$APP_HOM' (did you mean $APP_HOME?)",
    );
    expect(i).toBeGreaterThanOrEqual(0);
    expect(lines[i + 1]).toBe("   5 | COPY $APP_HOM/src /dst");
    expect(lines[i + 2]).toBe("     |      ^^^^^^^^^^^^");
    expect(r.stdout).toContain(
      "fixtures/lint/warnings.Dockerfile:1:21: StageNameCasing: Stage name 'Build' should be lowercase",
    );
    expect(r.stdout).toContain("  hint: did you mean build?");
    expect(r.stdout).toContain('COPY --from "biuld" is not a stage');
    expect(lines.filter((l) => /^fixtures\/lint\/warnings\.Dockerfile:\d+:\d+: /.test(l))).toHaveLength(11);
    expect(r.stdout.trimEnd().split("\n").at(-1)).toBe("fixtures/lint/warnings.Dockerfile: 11 warnings");
  });

  it("reports a clean file", () => {
    const r = run(["check", "fixtures/lint/clean.Dockerfile"]);
    expect(r).toMatchObject({ code: 0, stdout: "fixtures/lint/clean.Dockerfile: no problems found\n" });
  });

  it("exits 1 when # check=error=true and findings exist", () => {
    const r = run(["check", "fixtures/lint/error-true.Dockerfile"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("StageNameCasing");
    expect(r.stdout).not.toContain("JSONArgsRecommended");
    expect(r.stdout).toContain("1 error (check=error=true)");
  });

  it("exits 0 when skip=all silences everything even with error=true", () => {
    expect(run(["check", "fixtures/lint/skip-all.Dockerfile"]).code).toBe(0);
  });

  it.each([
    ["unknown-instruction", "2:1: error: unknown instruction: RUNN", "hint: did you mean RUN?"],
    ["unknown-flag", "2:18: error: unknown flag: lnk", "hint: did you mean --link?"],
    ["bad-stage-name", '1:16: error: invalid name for build stage: "1build"', "^^^^^^"],
    ["onbuild-onbuild", "2:9: error: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed", "^^^^^^^"],
    [
      "shell-not-json",
      "2:7: error: SHELL requires the arguments to be in JSON form",
      'SHELL ["/bin/bash", "-c"]',
    ],
    ["healthcheck-duration", '2:24: error: time: missing unit in duration "10"', "^^"],
    ["json-non-string", "2:5: error:", "CMD"],
    ["bad-check-directive", "1:1: error: failed to parse check options", "# check=skip"],
  ])("invalid/%s exits 1 with a located error", (name, head, detail) => {
    const r = run(["check", `fixtures/invalid/${name}.Dockerfile`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`fixtures/invalid/${name}.Dockerfile:${head}`);
    expect(r.stderr).toContain(detail);
    expect(r.stderr).not.toContain("internal");
  });

  it("reads standard input with -", () => {
    const r = run(["check", "-"], "FROM alpine AS Base\n");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("<stdin>:1:16: StageNameCasing:");
    const bad = run(["check", "-"], "FROM alpine\nCOPPY a b\n");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("<stdin>:2:1: error: unknown instruction: COPPY");
  });

  it("uses .dockerignore from the Dockerfile's directory or --context", () => {
    const r = run(["check", "fixtures/lint/ignored/Dockerfile"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'CopyIgnoredFile: Attempting to Copy file "./tmp/helloworld.txt" that is excluded by .dockerignore',
    );
    expect(r.stdout).not.toContain("forever");
    const empty = mkdtempSync(path.join(tmpdir(), "gantry-ctx-"));
    const other = run(["check", "fixtures/lint/ignored/Dockerfile", "--context", empty]);
    expect(other.stdout).not.toContain("CopyIgnoredFile");
  });
});

describe("gantry check --format json", () => {
  it("prints findings with stable fields", () => {
    const r = run(["check", "fixtures/lint/warnings.Dockerfile", "--format", "json"]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      file: string;
      ok: boolean;
      findings: Array<Record<string, unknown>>;
    };
    expect(doc.file).toBe("fixtures/lint/warnings.Dockerfile");
    expect(doc.ok).toBe(true);
    expect(doc.findings).toHaveLength(11);
    const undef = doc.findings.find((f) => f.rule === "UndefinedVar");
    expect(undef).toEqual({
      rule: "UndefinedVar",
      message: "Usage of undefined variable '$APP_HOM' (did you mean $APP_HOME?)",
      file: "fixtures/lint/warnings.Dockerfile",
      line: 5,
      column: 6,
      endLine: 5,
      endColumn: 18,
      severity: "warning",
      url: "https://docs.docker.com/go/dockerfile/rule/undefined-var/",
      suggestion: "$APP_HOME",
    });
    for (const f of doc.findings) {
      expect(Object.keys(f).slice(0, 5)).toEqual(["rule", "message", "file", "line", "column"]);
    }
  });

  it("reports errors as JSON with exit 1", () => {
    const r = run(["check", "fixtures/invalid/unknown-flag.Dockerfile", "--format", "json"]);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as { ok: boolean; error: Record<string, unknown> };
    expect(doc.ok).toBe(false);
    expect(doc.error).toMatchObject({
      code: "INSTRUCTION",
      message: "unknown flag: lnk",
      line: 2,
      column: 18,
      hint: "did you mean --link?",
    });
  });

  it("marks error=true findings as errors", () => {
    const r = run(["check", "fixtures/lint/error-true.Dockerfile", "--format=json"]);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as { ok: boolean; findings: Array<{ severity: string }> };
    expect(doc.ok).toBe(false);
    expect(doc.findings.map((f) => f.severity)).toEqual(["error"]);
  });
});

describe("usage errors", () => {
  it("exits 2 for an unknown --format", () => {
    const r = run(["check", "fixtures/lint/clean.Dockerfile", "--format", "xml"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown --format "xml"');
  });

  it("exits 2 without a file", () => {
    expect(run(["check"]).code).toBe(2);
  });

  it("exits 2 for a missing file", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "gantry-nofile-"));
    const r = run(["check", path.join(dir, "Dockerfile")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("cannot read");
  });
});

describe("gantry parse --json", () => {
  it("prints the typed AST", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "gantry-parse-"));
    const file = path.join(dir, "Dockerfile");
    writeFileSync(file, "ARG V=1\nFROM alpine:$V AS build\nCOPY --link a /b\n");
    const r = run(["parse", "--json", file]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      version: number;
      globalArgs: unknown[];
      stages: Array<{ name: string; from: { kind: string }; instructions: Array<Record<string, unknown>> }>;
    };
    expect(doc.version).toBe(1);
    expect(doc.globalArgs).toHaveLength(1);
    expect(doc.stages[0]!.name).toBe("build");
    expect(doc.stages[0]!.from.kind).toBe("From");
    expect(doc.stages[0]!.instructions[0]).toMatchObject({ kind: "Copy", link: true, dest: { value: "/b" } });
  });
});

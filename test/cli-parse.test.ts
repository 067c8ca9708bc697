/**
 * `gantry parse` end to end: spawns bin/gantry (built by `npm test` / `npx tsc -p tsconfig.build.json`) and
 * checks stdout bytes, stdin input, --json, exit codes and the error display.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const repo = path.join(import.meta.dirname, "..");
const bin = path.join(repo, "bin", "gantry");

function gantry(args: string[], input?: string | Buffer) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: repo, input });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString("utf8") };
}

describe("gantry parse", () => {
  it("prints the dump by default, byte for byte", () => {
    const file = "fixtures/dump/invalid-utf8.Dockerfile";
    const r = gantry(["parse", file]);
    expect(r.status).toBe(0);
    expect(r.stdout.equals(readFileSync(path.join(repo, "fixtures/dump/invalid-utf8.dump")))).toBe(true);
  });

  it("accepts --dump and - for standard input", () => {
    const r = gantry(["parse", "--dump", "-"], "FROM a\nRUN --mount=type=cache,target=/x make\n");
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toBe('(from "a")\n(run ["--mount=type=cache,target=/x"] "make")\n');
  });

  it("prints JSON with --json", () => {
    const r = gantry(["parse", "--json", "-"], "FROM a AS b\n");
    expect(r.status).toBe(0);
    // The document is the typed AST (src/frontend/ast*.ts); check it is JSON about this file.
    const doc = JSON.parse(r.stdout.toString());
    expect(doc.file).toBe("<stdin>");
    expect(r.stdout.toString()).toContain('"keyword": "FROM"');
  });

  it("reports parse errors with location, caret and hint, exit 1, no stack", () => {
    const r = gantry(["parse", "-"], "FROM a\nENV onlykey\n");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("<stdin>:2:5: error: ENV must have two arguments");
    expect(r.stderr).toContain("   2 | ENV onlykey\n     |     ^^^^^^^");
    expect(r.stderr).toContain("hint:");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout.length).toBe(0);
  });

  it("exits 1 for a file without instructions", () => {
    const r = gantry(["parse", "fixtures/dump-errors/no-instructions.Dockerfile"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("file with no instructions");
  });

  it("exits 2 for usage errors", () => {
    expect(gantry(["parse"]).status).toBe(2);
    expect(gantry(["parse", "--dump", "--json", "x"]).status).toBe(2);
    const missing = gantry(["parse", "does/not/exist"]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).not.toMatch(/\n\s+at /);
  });
});

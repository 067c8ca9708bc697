/**
 * Content digests of COPY/ADD sources (src/context/digest.ts) and the BuildContext: mtimes never count,
 * permission bits do unless --chmod overrides them or they are normalised, one changed file changes the
 * digest and is named in the per-file list, ignored files do not count, owners count only for
 * stage/image sources without --chown.
 */
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chmod, mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BuildContext } from "../src/context/build-context.js";
import { digestSources } from "../src/context/digest.js";
import { hashFile, newHashCounters } from "../src/context/file-hash.js";
import type { CopyOp } from "../src/graph/types.js";

let base: string;
let ctx: string;
let n = 0;

function copyOp(patterns: string[], extra: Partial<CopyOp> = {}): CopyOp {
  return {
    kind: "copy",
    instruction: "COPY",
    from: { kind: "context", name: "context" },
    sources: patterns.map((pattern) => ({ kind: "path", pattern })),
    dest: "/app/",
    workdir: "/",
    link: false,
    parents: false,
    excludes: [],
    ...extra,
  };
}

async function put(rel: string, content: string, mode = 0o644): Promise<void> {
  await mkdir(join(ctx, rel, ".."), { recursive: true });
  await writeFile(join(ctx, rel), content);
  await chmod(join(ctx, rel), mode);
}

async function digest(op: CopyOp, options: Parameters<typeof digestSources>[2] = {}) {
  return digestSources(op, ctx, options);
}

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), "gantry-digest-"));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});
beforeEach(async () => {
  ctx = join(base, `ctx${++n}`);
  await mkdir(ctx);
  await put("src/main.c", "int main(){}\n");
  await put("src/util.c", "void util(){}\n");
  await put("run.sh", "#!/bin/sh\n", 0o755);
});

describe("digestSources", () => {
  it("ignores mtimes", async () => {
    const before = await digest(copyOp(["."]));
    await utimes(join(ctx, "src/main.c"), 1_000_000, 1_000_000);
    await utimes(join(ctx, "src"), 2_000_000, 2_000_000);
    expect((await digest(copyOp(["."]))).digest).toBe(before.digest);
  });

  it("counts permission bits, unless --chmod overrides them or they are normalised", async () => {
    const before = await digest(copyOp(["."]));
    const chmodBefore = await digest(copyOp(["."], { chmod: "755" }));
    const normalizedBefore = await digest(copyOp(["."]), { normalizePermissions: true });
    await chmod(join(ctx, "src/main.c"), 0o664);
    expect((await digest(copyOp(["."]))).digest).not.toBe(before.digest);
    expect((await digest(copyOp(["."], { chmod: "755" }))).digest).toBe(chmodBefore.digest);
    expect((await digest(copyOp(["."]), { normalizePermissions: true })).digest).toBe(
      normalizedBefore.digest,
    );
    await chmod(join(ctx, "src/main.c"), 0o775);
    expect((await digest(copyOp(["."]), { normalizePermissions: true })).digest).not.toBe(
      normalizedBefore.digest,
    );
  });

  it("changes with one file's content and names that file", async () => {
    const before = await digest(copyOp(["src"]));
    expect(before.files.map((f) => f.path)).toEqual([".", "main.c", "util.c"]);
    await put("src/util.c", "void util(){ return; }\n");
    const after = await digest(copyOp(["src"]));
    expect(after.digest).not.toBe(before.digest);
    const changed = after.files.filter((f, i) => f.digest !== before.files[i]!.digest).map((f) => f.path);
    expect(changed).toEqual(["util.c"]);
    expect(after.files[2]!.contentDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("uses destination paths: a directory's contents, a file's name, --parents paths", async () => {
    expect((await digest(copyOp(["src/*.c", "run.sh"]))).files.map((f) => f.path)).toEqual([
      "main.c",
      "util.c",
      "run.sh",
    ]);
    expect((await digest(copyOp(["src/main.c"], { parents: true }))).files.map((f) => f.path)).toEqual([
      "src",
      "src/main.c",
    ]);
    // Renaming the source directory does not change what lands under the destination.
    const before = await digest(copyOp(["src"]));
    execFileSync("mv", [join(ctx, "src"), join(ctx, "lib")]);
    expect((await digest(copyOp(["lib"]))).digest).toBe(before.digest);
  });

  it("leaves out ignored and excluded files", async () => {
    const context = await BuildContext.open(ctx);
    await writeFile(join(ctx, ".dockerignore"), "*.log\n");
    const ignoring = await BuildContext.open(ctx);
    const before = await ignoring.digestSources(copyOp(["."]));
    await put("debug.log", "noise");
    expect((await ignoring.digestSources(copyOp(["."]))).digest).toBe(before.digest);
    expect((await context.digestSources(copyOp(["."]))).files.map((f) => f.path)).toContain("debug.log");
    const excluded = await digest(copyOp(["src"], { excludes: ["util.c"] }));
    expect(excluded.files.map((f) => f.path)).toEqual([".", "main.c"]);
  });

  it("counts owners of stage sources unless --chown is given", async () => {
    const stage = copyOp(["/src"], { from: { kind: "stage", index: 0 } });
    const before = await digest(stage);
    const chownBefore = await digest({ ...stage, chown: "1:1" });
    const contextBefore = await digest(copyOp(["src"]));
    execFileSync("chown", ["-R", "1234:1234", join(ctx, "src")]);
    expect((await digest(stage)).digest).not.toBe(before.digest);
    expect((await digest({ ...stage, chown: "1:1" })).digest).toBe(chownBefore.digest);
    expect((await digest(copyOp(["src"]))).digest).toBe(contextBefore.digest);
  });

  it("covers heredoc content and URL + checksum", async () => {
    const heredoc = (content: string) =>
      digest({ ...copyOp([]), sources: [{ kind: "heredoc", name: "x", content }] });
    expect((await heredoc("a")).digest).not.toBe((await heredoc("b")).digest);
    const url = (checksum?: string) =>
      digest({ ...copyOp([]), instruction: "ADD", sources: [{ kind: "url", url: "http://h/x" }], checksum });
    expect((await url(`sha256:${"1".repeat(64)}`)).digest).not.toBe(
      (await url(`sha256:${"2".repeat(64)}`)).digest,
    );
  });
});

describe("hashFile", () => {
  it("is sha256 of the whole file, for sizes around its read pieces and with any size hint", async () => {
    const dir = join(base, "hash-file");
    await mkdir(dir, { recursive: true });
    const MiB = 1 << 20;
    for (const size of [0, 1, 65_537, MiB - 1, MiB, MiB + 1, 3 * MiB + 12_345]) {
      const content = randomBytes(size);
      const file = join(dir, `f-${size}`);
      await writeFile(file, content);
      const expected = createHash("sha256").update(content).digest("hex");
      // A hint that is right, too small (the file grew since it was listed) or missing.
      for (const hint of [size, Math.floor(size / 3), undefined]) {
        const counters = newHashCounters();
        expect(await hashFile(file, counters, hint), `${size} bytes, hint ${hint}`).toBe(expected);
        expect(counters).toEqual({ filesHashed: 1, bytesRead: size });
      }
    }
  });
});

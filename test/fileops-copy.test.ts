/**
 * COPY/ADD semantics of applyCopy (src/executor/fileops) on real directories: the directory-contents
 * rule, trailing slashes, several sources, wildcards, missing and ignored sources, --chown names from a
 * busybox-like /etc/passwd, --chmod, --parents, --exclude, heredocs, hard links, symlinks, mtimes, and
 * destinations that go through symlinks in the target rootfs.
 */
import { execFileSync } from "node:child_process";
import {
  link,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readlink,
  rm,
  symlink,
  utimes,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CopyError } from "../src/context/errors.js";
import { applyCopy } from "../src/executor/fileops/index.js";
import { IgnoreMatcher, parseDockerignore } from "../src/frontend/dockerignore.js";
import type { CopyOp, CopySourceSpec } from "../src/graph/types.js";

let base: string;
let ctx: string;
let target: string;
let n = 0;

function copyOp(sources: Array<string | CopySourceSpec>, dest: string, extra: Partial<CopyOp> = {}): CopyOp {
  return {
    kind: "copy",
    instruction: "COPY",
    from: { kind: "context", name: "context" },
    sources: sources.map((s) => (typeof s === "string" ? { kind: "path", pattern: s } : s)),
    dest,
    workdir: "/",
    link: false,
    parents: false,
    excludes: [],
    ...extra,
  };
}

async function put(root: string, rel: string, content = rel, mode = 0o644): Promise<void> {
  await mkdir(join(root, rel, ".."), { recursive: true });
  await writeFile(join(root, rel), content, { mode });
}

async function copy(op: CopyOp, ignore?: string): Promise<void> {
  await applyCopy(op, {
    sourceRoot: ctx,
    targetRoot: target,
    userDbRoot: target,
    ...(ignore === undefined
      ? {}
      : { ignore: new IgnoreMatcher(parseDockerignore(ignore)), ignoreFile: ".dockerignore" }),
  });
}

async function failure(promise: Promise<unknown>): Promise<CopyError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CopyError) return error;
    throw error;
  }
  throw new Error("expected a CopyError");
}

/** Relative paths under a directory, sorted (directories with a trailing /). */
async function tree(root: string): Promise<string[]> {
  const out = execFileSync("find", [".", "-mindepth", "1", "-printf", "%P%y\\n"], {
    cwd: root,
    encoding: "utf8",
  });
  return out
    .split("\n")
    .filter(Boolean)
    .map((line) => (line.endsWith("d") ? `${line.slice(0, -1)}/` : line.slice(0, -1)))
    .sort();
}

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), "gantry-fileops-"));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});
beforeEach(async () => {
  n++;
  ctx = join(base, `ctx${n}`);
  target = join(base, `target${n}`);
  await mkdir(ctx);
  await mkdir(target);
  await put(ctx, "a.txt");
  await put(ctx, "b.txt");
  await put(ctx, "c.md");
  await put(ctx, "dir/x.txt");
  await put(ctx, "dir/sub/y.txt");
});

describe("directory and destination rules", () => {
  it("copies a directory's contents, not the directory", async () => {
    await copy(copyOp(["dir"], "/out"));
    expect(await tree(join(target, "out"))).toEqual(["sub/", "sub/y.txt", "x.txt"]);
  });

  it("copies a file to the destination path, or inside a destination ending with / or an existing dir", async () => {
    await mkdir(join(target, "existing"));
    await copy(copyOp(["a.txt"], "/file"));
    await copy(copyOp(["a.txt"], "/newdir/"));
    await copy(copyOp(["a.txt"], "/existing"));
    expect(await readFile(join(target, "file"), "utf8")).toBe("a.txt");
    expect(await readFile(join(target, "newdir/a.txt"), "utf8")).toBe("a.txt");
    expect(await readFile(join(target, "existing/a.txt"), "utf8")).toBe("a.txt");
  });

  it("resolves a relative destination against WORKDIR and creates parents 0755", async () => {
    await copy(copyOp(["a.txt"], "deep/er/", { workdir: "/app" }));
    expect(await readFile(join(target, "app/deep/er/a.txt"), "utf8")).toBe("a.txt");
    expect((await lstat(join(target, "app/deep"))).mode & 0o7777).toBe(0o755);
    await copy(copyOp(["b.txt"], ".", { workdir: "/app" }));
    expect(await readFile(join(target, "app/b.txt"), "utf8")).toBe("b.txt");
  });

  it("requires a directory destination for several sources", async () => {
    const error = await failure(copy(copyOp(["a.txt", "b.txt"], "/x")));
    expect(error.code).toBe("COPY_DEST_NOT_DIR");
    expect(error.message).toContain("must be a directory and end with a /");
    expect((await failure(copy(copyOp(["*.txt"], "/x")))).code).toBe("COPY_DEST_NOT_DIR");
    await copy(copyOp(["a.txt", "b.txt"], "/x/"));
    expect(await tree(join(target, "x"))).toEqual(["a.txt", "b.txt"]);
  });
});

describe("source selection", () => {
  it("matches wildcards with Go filepath.Match syntax, component by component", async () => {
    await put(ctx, "lit*.txt", "literal star");
    await put(ctx, "d1/k.txt");
    await put(ctx, "d2/k.txt");
    await copy(copyOp(["*.txt"], "/w1/"));
    expect(await tree(join(target, "w1"))).toEqual(["a.txt", "b.txt", "lit*.txt"]);
    await copy(copyOp(["[a-b].txt", "?.md"], "/w2/"));
    expect(await tree(join(target, "w2"))).toEqual(["a.txt", "b.txt", "c.md"]);
    await copy(copyOp(["lit\\*.txt"], "/w3/"));
    expect(await tree(join(target, "w3"))).toEqual(["lit*.txt"]);
    await copy(copyOp(["d[0-9]/k.txt"], "/w4/"));
    expect(await tree(join(target, "w4"))).toEqual(["k.txt"]);
  });

  it("fails on a wildcard that matches nothing and on a missing path", async () => {
    const none = await failure(copy(copyOp(["*.nothing"], "/")));
    expect(none.code).toBe("COPY_SOURCE_NOT_FOUND");
    expect(none.message).toContain("no source files were specified");
    const missing = await failure(copy(copyOp(["missing.txt"], "/")));
    expect(missing.message).toBe("missing.txt: not found");
    expect(missing.hint).not.toContain(".dockerignore");
  });

  it("treats ignored files as missing, with a hint naming .dockerignore", async () => {
    const error = await failure(copy(copyOp(["a.txt"], "/"), "a.txt\n"));
    expect(error.message).toBe("a.txt: not found");
    expect(error.hint).toContain(".dockerignore");
    await copy(copyOp(["."], "/all/"), "*.txt\n!b.txt\ndir/sub\n");
    expect(await tree(join(target, "all"))).toEqual(["b.txt", "c.md", "dir/", "dir/x.txt"]);
  });

  it("reads a source root given through a symlink", async () => {
    await symlink(ctx, join(base, `ctxlink${n}`));
    await applyCopy(copyOp(["."], "/viaLink/"), {
      sourceRoot: join(base, `ctxlink${n}`),
      targetRoot: target,
      userDbRoot: target,
    });
    expect(await tree(join(target, "viaLink"))).toEqual([
      "a.txt",
      "b.txt",
      "c.md",
      "dir/",
      "dir/sub/",
      "dir/sub/y.txt",
      "dir/x.txt",
    ]);
  });

  it("clamps sources to the source root", async () => {
    await copy(copyOp(["../../a.txt", "/b.txt"], "/c/"));
    expect(await tree(join(target, "c"))).toEqual(["a.txt", "b.txt"]);
    await symlink("../../../../etc", join(ctx, "escape"));
    // The link resolves inside the context (to <ctx>/etc), which does not exist.
    expect((await failure(copy(copyOp(["escape/passwd"], "/")))).code).toBe("COPY_SOURCE_NOT_FOUND");
  });
});

describe("ownership and modes", () => {
  beforeEach(async () => {
    await put(target, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n");
    await put(target, "etc/group", "root:x:0:\nstaff:x:50:\napp:x:1001:\n");
  });

  it("resolves --chown names through the image's /etc/passwd and /etc/group", async () => {
    await copy(copyOp(["dir"], "/o1/new", { chown: "app:staff" }));
    const file = await lstat(join(target, "o1/new/sub/y.txt"));
    expect([file.uid, file.gid]).toEqual([1000, 50]);
    const created = await lstat(join(target, "o1"));
    expect([created.uid, created.gid, created.mode & 0o777]).toEqual([1000, 50, 0o755]);
    await copy(copyOp(["a.txt"], "/o2", { chown: "app" }));
    expect([(await lstat(join(target, "o2"))).uid, (await lstat(join(target, "o2"))).gid]).toEqual([
      1000, 1001,
    ]);
    await copy(copyOp(["a.txt"], "/o3", { chown: "4242" }));
    expect((await lstat(join(target, "o3"))).gid).toBe(4242);
    const unknown = await failure(copy(copyOp(["a.txt"], "/o4", { chown: "nobody:staff" })));
    expect(unknown.code).toBe("COPY_CHOWN");
    expect(unknown.message).toContain('unknown user "nobody"');
  });

  it("makes context files 0:0 and keeps modes", async () => {
    await put(ctx, "run.sh", "#!/bin/sh\n", 0o750);
    await copy(copyOp(["run.sh"], "/bin/"));
    const info = await lstat(join(target, "bin/run.sh"));
    expect([info.uid, info.gid, info.mode & 0o7777]).toEqual([0, 0, 0o750]);
  });

  it("applies --chmod (octal or symbolic) to copied files and directories", async () => {
    await copy(copyOp(["dir"], "/m1", { chmod: "700" }));
    expect((await lstat(join(target, "m1/x.txt"))).mode & 0o7777).toBe(0o700);
    expect((await lstat(join(target, "m1/sub"))).mode & 0o7777).toBe(0o700);
    await copy(copyOp(["a.txt"], "/m2", { chmod: "u+x,go-r" }));
    expect((await lstat(join(target, "m2"))).mode & 0o7777).toBe(0o700);
    expect((await failure(copy(copyOp(["a.txt"], "/m3", { chmod: "rwx" })))).code).toBe("COPY_CHMOD");
  });
});

describe("--parents, --exclude, heredocs", () => {
  it("keeps parent directories, honouring the /./ pivot", async () => {
    await put(ctx, "a/b/c.txt");
    await put(ctx, "p/q/k.txt");
    await copy(copyOp(["a/b/c.txt", "dir/*.txt"], "/dst/", { parents: true }));
    expect(await tree(join(target, "dst"))).toEqual(["a/", "a/b/", "a/b/c.txt", "dir/", "dir/x.txt"]);
    await copy(copyOp(["p/./q/k.txt"], "/piv/", { parents: true }));
    expect(await tree(join(target, "piv"))).toEqual(["q/", "q/k.txt"]);
  });

  it("leaves out --exclude patterns (with ! exceptions)", async () => {
    await put(ctx, "dir/debug.log");
    await put(ctx, "dir/keep.log");
    await copy(copyOp(["dir"], "/ex/", { excludes: ["*.log", "!keep.log", "sub"] }));
    expect(await tree(join(target, "ex"))).toEqual(["keep.log", "x.txt"]);
    await copy(copyOp(["*.txt"], "/ex2/", { excludes: ["a.txt"] }));
    expect(await tree(join(target, "ex2"))).toEqual(["b.txt"]);
  });

  it("writes heredoc sources with mode 0644", async () => {
    await copy(copyOp([{ kind: "heredoc", name: "hello.sh", content: "echo hi\n" }], "/h/"));
    expect(await readFile(join(target, "h/hello.sh"), "utf8")).toBe("echo hi\n");
    expect((await lstat(join(target, "h/hello.sh"))).mode & 0o7777).toBe(0o644);
  });
});

describe("file types and the target rootfs", () => {
  it("preserves mtimes, symlinks and hard links within one COPY", async () => {
    await utimes(join(ctx, "dir/x.txt"), 1_500_000_000, 1_500_000_000);
    await utimes(join(ctx, "dir/sub"), 1_400_000_000, 1_400_000_000);
    await symlink("x.txt", join(ctx, "dir/link"));
    await link(join(ctx, "dir/x.txt"), join(ctx, "dir/hard"));
    await copy(copyOp(["dir"], "/t/"));
    expect(Math.floor((await lstat(join(target, "t/x.txt"))).mtimeMs / 1000)).toBe(1_500_000_000);
    expect(Math.floor((await lstat(join(target, "t/sub"))).mtimeMs / 1000)).toBe(1_400_000_000);
    expect(await readlink(join(target, "t/link"))).toBe("x.txt");
    const [hard, orig] = [await lstat(join(target, "t/hard")), await lstat(join(target, "t/x.txt"))];
    expect(hard.ino).toBe(orig.ino);
  });

  it("follows a symlink source at the top but copies inner symlinks as links", async () => {
    await symlink("dir", join(ctx, "dirlink"));
    await copy(copyOp(["dirlink"], "/s/"));
    expect(await tree(join(target, "s"))).toEqual(["sub/", "sub/y.txt", "x.txt"]);
  });

  it("resolves destinations through symlinks inside the target root", async () => {
    await mkdir(join(target, "data"));
    await symlink("/data", join(target, "app"));
    await symlink("../../../../../../tmp/gantry-escape-test", join(target, "esc"));
    await copy(copyOp(["a.txt"], "/app/"));
    expect(await readFile(join(target, "data/a.txt"), "utf8")).toBe("a.txt");
    await copy(copyOp(["b.txt"], "/esc/"));
    expect(await readFile(join(target, "tmp/gantry-escape-test/b.txt"), "utf8")).toBe("b.txt");
    await expect(lstat("/tmp/gantry-escape-test")).rejects.toThrow();
  });

  it("keeps uid/gid of a stage source", async () => {
    const stage = join(base, `stage${n}`);
    await put(stage, "srv/file");
    execFileSync("chown", ["-R", "123:456", join(stage, "srv")]);
    await applyCopy(copyOp(["/srv"], "/srv", { from: { kind: "stage", index: 0 } }), {
      sourceRoot: stage,
      targetRoot: target,
      userDbRoot: target,
    });
    const info = await lstat(join(target, "srv/file"));
    expect([info.uid, info.gid]).toEqual([123, 456]);
  });
});

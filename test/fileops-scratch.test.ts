/**
 * COPY into a scratch layer directory over a read-only view of the layers below (applyCopy with
 * `lowerRoot`, and `gantry build` end to end with overlayfs + runc, needs `npm run build` first): a
 * destination that is a symlink below lands at the link's target; existing parent directories are copied
 * up with their mode, owner and mtime (/tmp stays 1777, /home/demo stays 1000's); a file that exists below
 * is replaced; the lower tree is never written; a RUN after the COPY sees the copied files.
 */
import { execFile } from "node:child_process";
import {
  chown,
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
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CopyError } from "../src/context/errors.js";
import { applyCopy } from "../src/executor/fileops/index.js";
import type { CopyOp } from "../src/graph/types.js";
import { haveBusybox, importBusybox, isRoot, REPO_ROOT } from "./helpers/busybox-image.js";

const run = promisify(execFile);
let work: string;

function copyOp(sources: string[], dest: string, extra: Partial<CopyOp> = {}): CopyOp {
  return {
    kind: "copy",
    instruction: "COPY",
    from: { kind: "context", name: "context" },
    sources: sources.map((pattern) => ({ kind: "path", pattern })),
    dest,
    workdir: "/",
    link: false,
    parents: false,
    excludes: [],
    ...extra,
  };
}

/** `find` listing of a tree: path, type, mode, uid:gid (sorted). */
async function listing(root: string): Promise<string[]> {
  const { stdout } = await run("find", [".", "-mindepth", "1", "-printf", "%P %y %m %U:%G\\n"], {
    cwd: root,
  });
  return stdout.trim().split("\n").filter(Boolean).sort();
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "gantry-fileops-scratch-"));
});

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe("applyCopy into a scratch directory over a lower root", () => {
  let n = 0;
  async function setup(): Promise<{ ctx: string; lower: string; scratch: string }> {
    const dir = join(work, `case-${n++}`);
    const ctx = join(dir, "ctx");
    const lower = join(dir, "lower");
    const scratch = join(dir, "scratch");
    await Promise.all([mkdir(ctx, { recursive: true }), mkdir(scratch, { recursive: true })]);
    await mkdir(join(lower, "opt", "real"), { recursive: true });
    await mkdir(join(lower, "srv"), { recursive: true });
    await mkdir(join(lower, "tmp"), { recursive: true });
    await run("chmod", ["1777", join(lower, "tmp")]);
    await utimes(join(lower, "tmp"), 1_600_000_000, 1_600_000_000);
    await mkdir(join(lower, "home", "demo"), { recursive: true });
    await run("chmod", ["750", join(lower, "home", "demo")]);
    if (isRoot) await chown(join(lower, "home", "demo"), 1000, 1000);
    await utimes(join(lower, "home", "demo"), 1_600_000_100, 1_600_000_100);
    await symlink("/opt/real", join(lower, "srv", "link"));
    await symlink("../../../../opt", join(lower, "srv", "escape"));
    await writeFile(join(lower, "opt", "real", "old.txt"), "below");
    await mkdir(join(lower, "etc"));
    await writeFile(join(lower, "etc", "motd"), "old motd");
    await mkdir(join(lower, "full", "sub"), { recursive: true });
    await writeFile(join(lower, "full", "sub", "x"), "x");
    await writeFile(join(ctx, "a.txt"), "A");
    await writeFile(join(ctx, "motd"), "new motd");
    await mkdir(join(ctx, "tree", "deep"), { recursive: true });
    await mkdir(join(ctx, "clash"));
    await writeFile(join(ctx, "clash", "sub"), "a file where a directory is below");
    await writeFile(join(ctx, "tree", "deep", "f"), "F", { mode: 0o640 });
    return { ctx, lower, scratch };
  }

  async function copy(op: CopyOp, roots: { ctx: string; lower: string; scratch: string }): Promise<void> {
    await applyCopy(op, {
      sourceRoot: roots.ctx,
      targetRoot: roots.scratch,
      lowerRoot: roots.lower,
      userDbRoot: roots.lower,
    });
  }

  it("writes at a symlink's target below, not over the symlink, and leaves the lower tree alone", async () => {
    const roots = await setup();
    const before = await listing(roots.lower);
    await copy(copyOp(["a.txt"], "/srv/link/"), roots);
    await copy(copyOp(["tree"], "/srv/escape/t/"), roots);
    expect(await readFile(join(roots.scratch, "opt", "real", "a.txt"), "utf8")).toBe("A");
    // `../../../../opt` stops at the root: /opt, inside the scratch layer.
    expect(await readFile(join(roots.scratch, "opt", "t", "deep", "f"), "utf8")).toBe("F");
    expect((await lstat(join(roots.scratch, "opt", "t", "deep", "f"))).mode & 0o7777).toBe(0o640);
    await expect(lstat(join(roots.scratch, "srv", "link"))).rejects.toThrow(/ENOENT/);
    expect(await listing(roots.lower)).toEqual(before);
    expect(await readlink(join(roots.lower, "srv", "link"))).toBe("/opt/real");
  });

  it("copies existing parents up with their mode, owner and mtime; new ones are 0755", async () => {
    const roots = await setup();
    await copy(copyOp(["a.txt"], "/tmp/"), roots);
    await copy(copyOp(["a.txt"], "/home/demo/new/dir/"), roots);
    const tmp = await lstat(join(roots.scratch, "tmp"));
    expect(tmp.mode & 0o7777).toBe(0o1777);
    expect(Math.floor(tmp.mtimeMs / 1000)).toBe(1_600_000_000);
    const demo = await lstat(join(roots.scratch, "home", "demo"));
    expect(demo.mode & 0o7777).toBe(0o750);
    expect(Math.floor(demo.mtimeMs / 1000)).toBe(1_600_000_100);
    if (isRoot) expect([demo.uid, demo.gid]).toEqual([1000, 1000]);
    expect((await lstat(join(roots.scratch, "home", "demo", "new"))).mode & 0o7777).toBe(0o755);
    expect(await readFile(join(roots.scratch, "home", "demo", "new", "dir", "a.txt"), "utf8")).toBe("A");
    expect(await listing(roots.scratch)).toEqual([
      "home d 755 0:0",
      `home/demo d 750 ${isRoot ? "1000:1000" : "0:0"}`,
      "home/demo/new d 755 0:0",
      "home/demo/new/dir d 755 0:0",
      "home/demo/new/dir/a.txt f 644 0:0",
      "tmp d 1777 0:0",
      "tmp/a.txt f 644 0:0",
    ]);
  });

  it("replaces a file that exists below, and refuses to replace a non-empty directory below", async () => {
    const roots = await setup();
    await copy(copyOp(["motd"], "/etc/motd"), roots);
    expect(await readFile(join(roots.scratch, "etc", "motd"), "utf8")).toBe("new motd");
    expect(await readFile(join(roots.lower, "etc", "motd"), "utf8")).toBe("old motd");
    const error = await copy(copyOp(["clash"], "/full/"), roots).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CopyError);
    expect((error as CopyError).message).toMatch(/cannot replace directory \/full\/sub with a file/);
  });

  it("a destination that is a directory below takes the file inside it", async () => {
    const roots = await setup();
    await copy(copyOp(["a.txt"], "/opt/real"), roots);
    expect(await readFile(join(roots.scratch, "opt", "real", "a.txt"), "utf8")).toBe("A");
  });
});

const GANTRY = join(REPO_ROOT, "bin", "gantry");

describe.skipIf(!(haveBusybox && isRoot))("gantry build: COPY over the busybox base", () => {
  it("lands through symlinks, keeps existing directories' metadata, replaces files, and RUN sees it all", async () => {
    const dataRoot = join(work, "root");
    const ctx = join(work, "build-ctx");
    await importBusybox(dataRoot);
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, "a.txt"), "through the link\n");
    await writeFile(join(ctx, "t.txt"), "in tmp\n");
    await writeFile(join(ctx, "h.txt"), "in home\n");
    await writeFile(join(ctx, "config"), "replaced\n");
    await writeFile(
      join(ctx, "Dockerfile"),
      [
        "FROM gantry/busybox:latest",
        "RUN mkdir -p /opt/real && ln -s /opt/real /srv-link && echo below > /opt/real/old.txt && echo old > /etc/config",
        "COPY a.txt /srv-link/",
        "COPY t.txt /tmp/",
        "COPY --chown=demo h.txt /home/demo/",
        "COPY config /etc/config",
        "RUN cat /opt/real/a.txt /opt/real/old.txt /tmp/t.txt /home/demo/h.txt /etc/config > /result",
        "",
      ].join("\n"),
    );
    const meta = join(work, "meta.json");
    const argv = [GANTRY, "--root", dataRoot, "build", ctx, "-t", "test/scratch:1", "--metadata-file", meta];
    const built = await run(process.execPath, argv, { timeout: 180_000 });
    expect(built.stderr).toMatch(/#7 DONE/);
    const bundle = join(work, "bundle");
    await run("umoci", ["unpack", "--image", `${dataRoot}:test/scratch:1`, bundle]);
    const rootfs = join(bundle, "rootfs");
    expect(await readFile(join(rootfs, "result"), "utf8")).toBe(
      "through the link\nbelow\nin tmp\nin home\nreplaced\n",
    );
    expect(await readlink(join(rootfs, "srv-link"))).toBe("/opt/real");
    const tmp = await lstat(join(rootfs, "tmp"));
    expect(tmp.mode & 0o7777).toBe(0o1777);
    const home = await lstat(join(rootfs, "home", "demo"));
    expect([home.uid, home.gid, home.mode & 0o7777]).toEqual([1000, 1000, 0o755]);
    const h = await lstat(join(rootfs, "home", "demo", "h.txt"));
    expect([h.uid, h.gid]).toEqual([1000, 1000]);

    // The COPY layers hold the copied-up parents with the base's metadata and no symlink.
    const digest = JSON.parse(await readFile(meta, "utf8"))["containerimage.digest"] as string;
    const layers = await layerListings(dataRoot, digest);
    const copyLayers = layers.slice(2, 6);
    expect(copyLayers[0]).toEqual(["opt/", "opt/real/", "opt/real/a.txt"]);
    expect(copyLayers[1]).toEqual(["tmp/", "tmp/t.txt"]);
    expect(copyLayers[2]).toEqual(["home/", "home/demo/", "home/demo/h.txt"]);
    expect(copyLayers[3]).toEqual(["etc/", "etc/config"]);
  }, 180_000);
});

/** Entry names of every layer of a local image, bottom first (read with tar, a tool nobody here wrote). */
async function layerListings(dataRoot: string, manifestDigest: string): Promise<string[][]> {
  const blobPath = (digest: string) => join(dataRoot, "blobs", "sha256", digest.slice(7));
  const manifest = JSON.parse(await readFile(blobPath(manifestDigest), "utf8")) as {
    layers: Array<{ digest: string }>;
  };
  const out: string[][] = [];
  for (const layer of manifest.layers) {
    const { stdout: names } = await run("tar", ["-tf", blobPath(layer.digest)], {
      maxBuffer: 16 * 1024 * 1024,
    });
    out.push(
      names
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((name) => name.replace(/^\.\//, "")),
    );
  }
  return out;
}

/**
 * Hardened layer extraction: crafted malicious tars (built with tar-stream here) must never write outside
 * the root; whiteouts are applied or turned into overlayfs whiteouts; metadata is applied.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import tar from "tar-stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ExtractOptions, extractLayer } from "../src/image/layer/extract.js";
import { resolveInRoot } from "../src/util/root-path.js";

const isRoot = process.getuid?.() === 0;

type Member = Partial<tar.Header> & { name: string; body?: string };

async function makeTar(members: Member[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on("data", (c) => {
    chunks.push(c as Buffer);
  });
  const ended = new Promise<void>((resolve) => pack.on("end", () => resolve()));
  for (const { body, ...header } of members) {
    await new Promise<void>((resolve, reject) =>
      pack.entry({ mode: 0o644, mtime: new Date(1_600_000_000_000), ...header }, body ?? "", (err) =>
        err ? reject(err) : resolve(),
      ),
    );
  }
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

let work: string;
let root: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "gantry-extract-"));
  root = join(work, "root");
  await mkdir(root);
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const apply: ExtractOptions = { whiteouts: "apply" };
const extract = (bytes: Buffer, options: ExtractOptions = apply) =>
  extractLayer(Readable.from([bytes]), root, options);

describe("extractLayer: hardening", () => {
  it("refuses ../ in entry names", async () => {
    const bytes = await makeTar([{ name: "../../etc/x", body: "pwn" }]);
    await expect(extract(bytes)).rejects.toMatchObject({ code: "LAYER_UNSAFE_PATH" });
    expect(existsSync(join(work, "etc"))).toBe(false);
  });

  it("refuses absolute entry names", async () => {
    const bytes = await makeTar([{ name: `/${work}/abs`, body: "pwn" }]);
    await expect(extract(bytes)).rejects.toMatchObject({ code: "LAYER_UNSAFE_PATH" });
    expect(existsSync(join(work, "abs"))).toBe(false);
  });

  it("follows a symlink to / only inside the root", async () => {
    const outside = join(work, "outside");
    await mkdir(outside);
    const bytes = await makeTar([
      { name: "a", type: "symlink", linkname: "/" },
      { name: "b", type: "symlink", linkname: outside },
      { name: "a/etc/x", body: "in-root" },
      { name: `b/escaped`, body: "pwn" },
    ]);
    await extract(bytes);
    expect(await readFile(join(root, "etc/x"), "utf8")).toBe("in-root");
    expect(existsSync(join(outside, "escaped"))).toBe(false);
    // b -> <work>/outside resolved from the root: <root>/<work>/outside/escaped.
    expect(await readFile(join(root, outside, "escaped"), "utf8")).toBe("pwn");
    expect(await readlink(join(root, "a"))).toBe("/");
  });

  it("a directory replaced by a symlink is resolved again for the entries after it", async () => {
    const outside = join(work, "outside");
    await mkdir(outside);
    // `d` is first a directory (its resolution is remembered), then replaced by a symlink out of the root.
    const bytes = await makeTar([
      { name: "d", type: "directory", mode: 0o755 },
      { name: "d/first", body: "1" },
      { name: "d", type: "symlink", linkname: outside },
      { name: "d/second", body: "pwn" },
    ]);
    for (const options of [apply, { whiteouts: "overlay" } as const]) {
      await rm(root, { recursive: true, force: true });
      await mkdir(root);
      await extract(bytes, options);
      expect(existsSync(join(outside, "second"))).toBe(false);
      expect(await readFile(join(root, outside, "second"), "utf8")).toBe("pwn");
    }
  });

  it("clamps chains of .. symlinks at the root", async () => {
    const bytes = await makeTar([
      { name: "d", type: "directory", mode: 0o755 },
      { name: "d/up", type: "symlink", linkname: "../.." },
      { name: "d/up2", type: "symlink", linkname: "up/../../../.." },
      { name: "d/up/x", body: "1" },
      { name: "d/up2/y", body: "2" },
    ]);
    await extract(bytes);
    expect(await readFile(join(root, "x"), "utf8")).toBe("1");
    expect(await readFile(join(root, "y"), "utf8")).toBe("2");
    expect(existsSync(join(work, "x"))).toBe(false);
    expect(existsSync(join(work, "y"))).toBe(false);
  });

  it("never writes through a symlink as the last component", async () => {
    const victim = join(work, "victim");
    await writeFile(victim, "original");
    const bytes = await makeTar([
      { name: "f", type: "symlink", linkname: victim },
      { name: "f", body: "replaced" },
    ]);
    await extract(bytes);
    expect(await readFile(victim, "utf8")).toBe("original");
    expect((await lstat(join(root, "f"))).isFile()).toBe(true);
  });

  it("refuses hard links outside the root", async () => {
    for (const linkname of ["/etc/passwd", "../../etc/passwd"]) {
      const bytes = await makeTar([{ name: "p", type: "link", linkname }]);
      await expect(extract(bytes)).rejects.toMatchObject({ code: "LAYER_UNSAFE_LINK" });
    }
    // Through a symlinked parent: resolved inside the root, where no passwd exists.
    const viaSymlink = await makeTar([
      { name: "s", type: "symlink", linkname: "/etc" },
      { name: "p", type: "link", linkname: "s/passwd" },
    ]);
    await expect(extract(viaSymlink)).rejects.toMatchObject({ code: "LAYER_UNSAFE_LINK" });
    expect(existsSync(join(root, "p"))).toBe(false);
  });

  it("keeps hard links inside the root", async () => {
    const bytes = await makeTar([
      { name: "a", body: "shared" },
      { name: "b", type: "link", linkname: "a" },
    ]);
    await extract(bytes);
    const [a, b] = await Promise.all([stat(join(root, "a")), stat(join(root, "b"))]);
    expect(b.ino).toBe(a.ino);
  });

  it("skips device nodes when not allowed (non-root)", async () => {
    const warnings: string[] = [];
    const bytes = await makeTar([{ name: "null", type: "character-device", devmajor: 1, devminor: 3 }]);
    const stats = await extract(bytes, {
      whiteouts: "apply",
      allowDevices: false,
      onWarning: (w) => warnings.push(w),
    });
    expect(existsSync(join(root, "null"))).toBe(false);
    expect(stats.skipped).toBe(1);
    expect(warnings.join()).toMatch(/needs root/);
  });

  it.runIf(isRoot)("creates device nodes as root", async () => {
    const bytes = await makeTar([
      { name: "null", type: "character-device", devmajor: 1, devminor: 3, mode: 0o666 },
    ]);
    await extract(bytes);
    const info = await lstat(join(root, "null"));
    expect(info.isCharacterDevice()).toBe(true);
    expect(info.rdev).toBe(0x103);
  });
});

describe("extractLayer: content and metadata", () => {
  it("applies mode, ownership and mtimes (directories after their content), gzip and zstd", async () => {
    const bytes = await makeTar([
      {
        name: "dir/",
        type: "directory",
        mode: 0o750,
        uid: 1000,
        gid: 1000,
        mtime: new Date(1_000_000_000_000),
      },
      { name: "dir/file", body: "hello", mode: 0o4755, uid: 1000, gid: 1000 },
      { name: "dir/link", type: "symlink", linkname: "file" },
    ]);
    for (const [label, blob] of [
      ["gzip", gzipSync(bytes)],
      ["zstd", execFileSync("zstd", ["-q", "-c"], { input: bytes })],
    ] as const) {
      await rm(root, { recursive: true, force: true });
      await mkdir(root);
      const stats = await extract(blob);
      expect(stats.compression, label).toBe(label);
      const dir = await stat(join(root, "dir"));
      const file = await stat(join(root, "dir/file"));
      expect(dir.mode & 0o7777).toBe(0o750);
      expect(dir.mtimeMs).toBe(1_000_000_000_000);
      expect(file.mode & 0o7777).toBe(0o4755);
      expect(file.mtimeMs).toBe(1_600_000_000_000);
      if (isRoot) expect([file.uid, file.gid, dir.uid]).toEqual([1000, 1000, 1000]);
      expect(await readFile(join(root, "dir/file"), "utf8")).toBe("hello");
      expect(await readlink(join(root, "dir/link"))).toBe("file");
    }
  });
});

describe("extractLayer: whiteouts", () => {
  const lower = () =>
    makeTar([
      { name: "keep", body: "k" },
      { name: "gone", body: "g" },
      { name: "dir/", type: "directory", mode: 0o755 },
      { name: "dir/old", body: "o" },
      { name: "dir/sub/", type: "directory", mode: 0o755 },
    ]);
  const upper = () =>
    makeTar([
      { name: ".wh.gone", body: "" },
      { name: "dir/", type: "directory", mode: 0o755 },
      { name: "dir/.wh..wh..opq", body: "" },
      { name: "dir/new", body: "n" },
    ]);

  it("apply mode deletes targets and empties opaque directories but keeps the layer's own entries", async () => {
    await extract(await lower());
    const stats = await extract(await upper());
    expect(stats.whiteouts).toBe(2);
    expect(existsSync(join(root, "gone"))).toBe(false);
    expect(existsSync(join(root, "keep"))).toBe(true);
    expect(existsSync(join(root, "dir/old"))).toBe(false);
    expect(existsSync(join(root, "dir/sub"))).toBe(false);
    expect(await readFile(join(root, "dir/new"), "utf8")).toBe("n");
    expect(existsSync(join(root, ".wh.gone"))).toBe(false);
  });

  it.runIf(isRoot)("overlay mode writes 0/0 char devices and the opaque xattr", async () => {
    await extract(await upper(), { whiteouts: "overlay" });
    const wh = await lstat(join(root, "gone"));
    expect(wh.isCharacterDevice()).toBe(true);
    expect(wh.rdev).toBe(0);
    const xattr = execFileSync(
      "getfattr",
      ["--absolute-names", "--only-values", "-n", "trusted.overlay.opaque", join(root, "dir")],
      {
        encoding: "utf8",
      },
    );
    expect(xattr).toBe("y");
    expect(await readFile(join(root, "dir/new"), "utf8")).toBe("n");
  });
});

describe("resolveInRoot", () => {
  it("resolves symlinks with chroot semantics", async () => {
    await mkdir(join(root, "usr/lib"), { recursive: true });
    const bytes = await makeTar([{ name: "lib", type: "symlink", linkname: "/usr/lib" }]);
    await extract(bytes);
    expect(await resolveInRoot(root, "lib/x")).toEqual({ abs: join(root, "usr/lib/x"), rel: "usr/lib/x" });
    expect((await resolveInRoot(root, "lib", false)).rel).toBe("lib");
    expect((await resolveInRoot(root, "lib", true)).rel).toBe("usr/lib");
    expect((await resolveInRoot(root, "../../..")).rel).toBe("");
  });
});

/**
 * The layer codec: deterministic tars from directory trees and explicit entries (order, hard links,
 * symlinks, long names, modes, devices, whiteouts, clamping), one-pass writing into the content store
 * (diffID over the uncompressed tar, digest over the stored blob), zstd, reading back, and indexing
 * foreign tars. GNU tar is used as an independent reader where it matters.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import {
  chmod,
  link,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  symlink,
  utimes,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContentStore } from "../src/image/content-store.js";
import { findZstd } from "../src/image/layer/compress.js";
import {
  compareLayerPaths,
  type LayerEntry,
  normalizeLayerPath,
  opaqueWhiteoutEntry,
  parseWhiteout,
  whiteoutEntry,
} from "../src/image/layer/entry.js";
import { writeLayer } from "../src/image/layer/layer-writer.js";
import { openRootfs } from "../src/image/layer/rootfs-source.js";
import { readLayer } from "../src/image/layer/tar-reader.js";
import { layerTarStream } from "../src/image/layer/tar-writer.js";
import { walkDirectory } from "../src/image/layer/walk.js";
import { OCI_LAYER_GZIP, OCI_LAYER_ZSTD } from "../src/image/media-types.js";

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const CLAMP = 1_600_000_000;
const LONG_NAME = `${"n".repeat(150)}.txt`;
const DEEP_DIR = Array.from({ length: 6 }, (_, i) => `directory-level-${i}-${"d".repeat(30)}`).join("/");
const LONG_TARGET = `../${"t".repeat(120)}/target`;

let work: string;
let store: ContentStore;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "gantry-layer-"));
  store = await ContentStore.open(join(work, "root"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

let treeCount = 0;
/** A tree exercising every feature; `variant` changes one file's content. */
async function makeTree(variant = "v1", mtime = 1_700_000_000): Promise<string> {
  const dir = join(work, `tree-${treeCount++}`);
  await mkdir(join(dir, "a"), { recursive: true });
  await mkdir(join(dir, "a-c"));
  await mkdir(join(dir, "sticky"));
  await mkdir(join(dir, DEEP_DIR), { recursive: true });
  await writeFile(join(dir, "a", "b"), "inside a\n");
  await writeFile(join(dir, "a-c", "file"), "dash\n");
  await writeFile(join(dir, "zz-original"), `hard linked content ${variant}\n`);
  await link(join(dir, "zz-original"), join(dir, "aa-link"));
  await symlink("a/b", join(dir, "link-to-b"));
  await symlink(LONG_TARGET, join(dir, "long-link"));
  await writeFile(join(dir, LONG_NAME), "long name\n");
  await writeFile(join(dir, DEEP_DIR, "deep.txt"), "deep\n");
  await writeFile(join(dir, "setuid"), "#!/bin/sh\n");
  await chmod(join(dir, "setuid"), 0o4755);
  await writeFile(join(dir, "setgid"), "#!/bin/sh\n");
  await chmod(join(dir, "setgid"), 0o2711);
  await chmod(join(dir, "sticky"), 0o1777);
  await writeFile(join(dir, "private"), "secret\n");
  await chmod(join(dir, "private"), 0o600);
  await setTimes(dir, mtime);
  return dir;
}

async function setTimes(dir: string, mtime: number): Promise<void> {
  for (const name of await readdir(dir, { recursive: true })) {
    const path = join(dir, name);
    if ((await lstat(path)).isSymbolicLink()) continue;
    await utimes(path, mtime, mtime);
  }
  await utimes(dir, mtime, mtime);
}

async function readAll(source: Readable): Promise<Array<LayerEntry & { content: string }>> {
  const out: Array<LayerEntry & { content: string }> = [];
  for await (const { entry, body } of readLayer(source)) {
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    out.push({ ...entry, content: Buffer.concat(chunks).toString("utf8") });
  }
  return out;
}

async function* fromArray(entries: LayerEntry[]): AsyncIterable<LayerEntry> {
  yield* entries;
}

function sha256File(bytes: Buffer): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

describe("layers from directory trees", () => {
  it("are deterministic: other mtimes above the clamp give the same digests", async () => {
    const first = await writeLayer(store, walkDirectory(await makeTree("v1", 1_700_000_000)), {
      clampMtime: CLAMP,
    });
    const second = await writeLayer(store, walkDirectory(await makeTree("v1", 1_750_000_123)), {
      clampMtime: CLAMP,
    });
    expect(second.digest).toBe(first.digest);
    expect(second.diffId).toBe(first.diffId);
    expect(second.size).toBe(first.size);
    expect(first.mediaType).toBe(OCI_LAYER_GZIP);
  });

  it("change when content changes, or when mtimes differ without a clamp", async () => {
    const base = await writeLayer(store, walkDirectory(await makeTree("v1")), { clampMtime: CLAMP });
    const other = await writeLayer(store, walkDirectory(await makeTree("v2")), { clampMtime: CLAMP });
    expect(other.digest).not.toBe(base.digest);
    expect(other.diffId).not.toBe(base.diffId);
    const unclamped1 = await writeLayer(store, walkDirectory(await makeTree("v1", 1_700_000_000)));
    const unclamped2 = await writeLayer(store, walkDirectory(await makeTree("v1", 1_700_000_001)));
    expect(unclamped2.diffId).not.toBe(unclamped1.diffId);
  });

  it("is written in one pass: blob digest/size are the stored bytes', diffID is the gunzipped tar's", async () => {
    const layer = await writeLayer(store, walkDirectory(await makeTree()), { clampMtime: CLAMP });
    const blob = await readFile(store.blobPath(layer.digest));
    expect(sha256File(blob)).toBe(layer.digest);
    expect(blob.byteLength).toBe(layer.size);
    const tar = gunzipSync(blob);
    expect(sha256File(tar)).toBe(layer.diffId);
    expect(tar.byteLength).toBe(layer.uncompressedSize);
    expect(await store.stat(layer.digest)).toEqual({ digest: layer.digest, size: layer.size });
    expect((await readdir(store.ingestDir)).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });

  it("sorts entries by path, component by component (a, a/b, a-c)", async () => {
    const layer = await writeLayer(store, walkDirectory(await makeTree()), { clampMtime: CLAMP });
    const entries = await readAll(await store.openRead(layer.digest));
    const paths = entries.map((e) => e.path);
    expect(paths.slice(0, 4)).toEqual(["a", "a/b", "a-c", "a-c/file"]);
    expect([...paths].sort(compareLayerPaths)).toEqual(paths);
    expect(new Set(paths).size).toBe(paths.length);
    // GNU tar agrees on the listing (and reads the PAX records).
    const tarPath = join(work, "sorted.tar");
    await writeFile(tarPath, gunzipSync(await readFile(store.blobPath(layer.digest))));
    const { stdout } = await run("tar", ["-tf", tarPath]);
    expect(stdout.trim().split("\n").map(normalizeLayerPath)).toEqual(paths);
  });

  it("keeps hard links (to the first path), symlinks, long names and modes; numeric ids only", async () => {
    const layer = await writeLayer(store, walkDirectory(await makeTree()), { clampMtime: CLAMP });
    const entries = await readAll(await store.openRead(layer.digest));
    const byPath = new Map(entries.map((e) => [e.path, e]));
    expect(byPath.get("aa-link")).toMatchObject({ type: "file", content: "hard linked content v1\n" });
    expect(byPath.get("zz-original")).toMatchObject({ type: "link", linkname: "aa-link", size: 0 });
    expect(byPath.get("link-to-b")).toMatchObject({ type: "symlink", linkname: "a/b" });
    expect(byPath.get("long-link")).toMatchObject({ type: "symlink", linkname: LONG_TARGET });
    expect(byPath.get(LONG_NAME)).toMatchObject({ type: "file", content: "long name\n" });
    expect(byPath.get(`${DEEP_DIR}/deep.txt`)).toMatchObject({ type: "file", content: "deep\n" });
    expect(byPath.get("setuid")?.mode).toBe(0o4755);
    expect(byPath.get("setgid")?.mode).toBe(0o2711);
    expect(byPath.get("sticky")).toMatchObject({ type: "directory", mode: 0o1777 });
    expect(byPath.get("private")?.mode).toBe(0o600);
    for (const entry of entries) expect(entry.mtime).toBeLessThanOrEqual(CLAMP);

    // Extract with GNU tar: the hard link is one inode, modes and long names survive.
    const tarPath = join(work, "features.tar");
    await writeFile(tarPath, gunzipSync(await readFile(store.blobPath(layer.digest))));
    const out = join(work, "extracted");
    await mkdir(out);
    await run("tar", ["-xpf", tarPath, "-C", out, "--numeric-owner"]);
    const [a, z] = [await lstat(join(out, "aa-link")), await lstat(join(out, "zz-original"))];
    expect(a.ino).toBe(z.ino);
    expect(a.nlink).toBe(2);
    expect((await lstat(join(out, "setuid"))).mode & 0o7777).toBe(0o4755);
    expect(await readFile(join(out, LONG_NAME), "utf8")).toBe("long name\n");
    // No user or group names in any header (ustar uname/gname fields, offsets 265 and 297).
    const raw = await readFile(tarPath);
    for (let offset = 0; offset + 512 <= raw.byteLength; offset += 512) {
      const block = raw.subarray(offset, offset + 512);
      if (block.subarray(257, 262).toString("latin1") !== "ustar") continue;
      expect(block.subarray(265, 329).every((byte) => byte === 0)).toBe(true);
    }
  });

  it.skipIf(!isRoot)("stores fifos and device nodes", async () => {
    const dir = join(work, "devices");
    await mkdir(dir);
    await run("mkfifo", [join(dir, "fifo")]);
    await run("mknod", [join(dir, "null"), "c", "1", "3"]);
    await run("mknod", [join(dir, "loop"), "b", "7", "300"]);
    const layer = await writeLayer(store, walkDirectory(dir), { clampMtime: CLAMP });
    const entries = await readAll(await store.openRead(layer.digest));
    expect(entries.map((e) => [e.path, e.type, e.devmajor, e.devminor])).toEqual([
      ["fifo", "fifo", undefined, undefined],
      ["loop", "block-device", 7, 300],
      ["null", "character-device", 1, 3],
    ]);
  });
});

describe("layers from explicit entries", () => {
  const file = (path: string, content: string, extra: Partial<LayerEntry> = {}): LayerEntry => ({
    path,
    type: "file",
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: Buffer.byteLength(content),
    mtime: 1_700_000_000,
    open: () => Readable.from([Buffer.from(content)]),
    ...extra,
  });
  const dir = (path: string): LayerEntry => ({
    path,
    type: "directory",
    mode: 0o755,
    uid: 0,
    gid: 0,
    size: 0,
    mtime: 1_700_000_000,
  });

  it("represent OCI whiteouts and opaque directories", async () => {
    expect(whiteoutEntry("etc/removed").path).toBe("etc/.wh.removed");
    expect(opaqueWhiteoutEntry("var/cache").path).toBe("var/cache/.wh..wh..opq");
    const entries = [
      dir("etc"),
      whiteoutEntry("etc/removed"),
      file("etc/kept", "kept\n"),
      dir("var"),
      dir("var/cache"),
      opaqueWhiteoutEntry("var/cache"),
    ];
    const layer = await writeLayer(store, fromArray(entries));
    const read = await readAll(await store.openRead(layer.digest));
    expect(read.map((e) => e.path)).toEqual([
      "etc",
      "etc/.wh.removed",
      "etc/kept",
      "var",
      "var/cache",
      "var/cache/.wh..wh..opq",
    ]);
    expect(read[1]).toMatchObject({ type: "file", size: 0, mode: 0 });
    expect(parseWhiteout("etc/.wh.removed")).toEqual({ kind: "whiteout", target: "etc/removed" });
    expect(parseWhiteout("var/cache/.wh..wh..opq")).toEqual({ kind: "opaque", directory: "var/cache" });
    expect(parseWhiteout("etc/kept")).toBeUndefined();
  });

  it("writes xattrs and large ids as PAX records, and clamps every mtime", async () => {
    const entries = [
      file("a", "x", { xattrs: { "user.comment": "hello", "security.capability": "cap" }, mtime: 2e9 }),
      file("b", "y", { uid: 3_000_000, gid: 4_000_000 }),
    ];
    const { stream } = layerTarStream(fromArray(entries), { clampMtime: CLAMP });
    const read = await readAll(stream);
    expect(read[0]?.xattrs).toEqual({ "security.capability": "cap", "user.comment": "hello" });
    expect(read[0]?.mtime).toBe(CLAMP);
    expect(read[1]).toMatchObject({ uid: 3_000_000, gid: 4_000_000, mtime: CLAMP });
  });

  it("rejects entries out of order or repeated, and keeps nothing", async () => {
    const emptyRoot = await ContentStore.open(join(work, "reject-root"));
    await expect(writeLayer(emptyRoot, fromArray([file("b", "1"), file("a", "2")]))).rejects.toMatchObject({
      code: "LAYER_ORDER",
    });
    await expect(writeLayer(emptyRoot, fromArray([file("a", "1"), file("./a", "2")]))).rejects.toMatchObject({
      code: "LAYER_ORDER",
    });
    await expect(writeLayer(emptyRoot, fromArray([file("../x", "1")]))).rejects.toMatchObject({
      code: "LAYER_ENTRY_INVALID",
    });
    const blobs: unknown[] = [];
    for await (const blob of emptyRoot.list()) blobs.push(blob);
    expect(blobs).toEqual([]);
    expect((await readdir(emptyRoot.ingestDir)).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });

  it("fails with FILE_CHANGED when content is shorter than announced", async () => {
    const liar = file("a", "short", { size: 100 });
    await expect(writeLayer(store, fromArray([liar]))).rejects.toMatchObject({ code: "FILE_CHANGED" });
  });
});

describe("compression and foreign tars", () => {
  it.skipIf(findZstd() === undefined)("zstd layers have the same diffID as gzip ones", async () => {
    const tree = await makeTree();
    const gzip = await writeLayer(store, walkDirectory(tree), { clampMtime: CLAMP });
    const zstd = await writeLayer(store, walkDirectory(tree), { clampMtime: CLAMP, compression: "zstd" });
    const again = await writeLayer(store, walkDirectory(tree), { clampMtime: CLAMP, compression: "zstd" });
    expect(zstd.mediaType).toBe(OCI_LAYER_ZSTD);
    expect(zstd.diffId).toBe(gzip.diffId);
    expect(zstd.digest).not.toBe(gzip.digest);
    expect(again.digest).toBe(zstd.digest);
    const entries = await readAll(createReadStream(store.blobPath(zstd.digest)));
    expect(entries.find((e) => e.path === "a/b")?.content).toBe("inside a\n");
  });

  it("a tar.gz of a tree gives the same layer as the tree itself (re-sorted, links re-pointed)", async () => {
    const tree = await makeTree();
    const fromDir = await writeLayer(store, walkDirectory(tree), { clampMtime: CLAMP });
    // Members in reverse order: GNU tar writes zz-original first and aa-link as a link to it, and
    // children before their directories; the importer must re-sort and re-point the link.
    const names = (await readdir(tree, { recursive: true })).sort().reverse();
    const list = join(work, "reverse.list");
    await writeFile(list, `${names.join("\n")}\n`);
    const tarball = join(work, "tree.tar.gz");
    await run("tar", ["--numeric-owner", "--no-recursion", "-czf", tarball, "-C", tree, "-T", list]);
    const { stdout } = await run("tar", ["-tvzf", tarball]);
    expect(stdout).toMatch(/aa-link link to zz-original/);
    const source = await openRootfs(tarball, { tempPath: (label) => store.newIngestPath(label) });
    try {
      expect(source).toMatchObject({ kind: "tar", compression: "gzip" });
      const fromTar = await writeLayer(store, source.entries, { clampMtime: CLAMP });
      expect(fromTar.diffId).toBe(fromDir.diffId);
      expect(fromTar.digest).toBe(fromDir.digest);
    } finally {
      await source.cleanup();
    }
    expect((await readdir(store.ingestDir)).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });
});

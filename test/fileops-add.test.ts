/**
 * ADD: local tar archives (plain, gzip, bzip2, xz — made with GNU tar) extracted into the destination,
 * `--unpack=false`, archives that try to leave the destination, and URLs served by a loopback node:http
 * server (file name from the URL, Last-Modified as mtime, mode 0600, --checksum right and wrong).
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CopyError } from "../src/context/errors.js";
import { applyCopy } from "../src/executor/fileops/index.js";
import type { CopyOp } from "../src/graph/types.js";

let base: string;
let ctx: string;
let server: Server;
let baseUrl: string;
const payload = "downloaded content\n";
const payloadSha = createHash("sha256").update(payload).digest("hex");

function addOp(sources: CopyOp["sources"], dest: string, extra: Partial<CopyOp> = {}): CopyOp {
  return {
    kind: "copy",
    instruction: "ADD",
    from: { kind: "context", name: "context" },
    sources,
    dest,
    workdir: "/",
    link: false,
    parents: false,
    excludes: [],
    ...extra,
  };
}

async function newTarget(): Promise<string> {
  return mkdtemp(join(base, "target-"));
}

async function add(op: CopyOp, target: string): Promise<void> {
  await applyCopy(op, { sourceRoot: ctx, targetRoot: target, userDbRoot: target, tempDir: base });
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

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), "gantry-add-"));
  ctx = join(base, "ctx");
  const src = join(base, "src");
  await mkdir(join(src, "pkg/bin"), { recursive: true });
  await writeFile(join(src, "pkg/bin/tool"), "#!/bin/sh\necho tool\n", { mode: 0o755 });
  await writeFile(join(src, "pkg/README"), "readme\n");
  await mkdir(ctx);
  const tarArgs = ["--owner=7", "--group=8", "--mtime=@1600000000", "-C", src];
  execFileSync("tar", ["-cf", join(ctx, "plain.tar"), ...tarArgs, "pkg"]);
  execFileSync("tar", ["-czf", join(ctx, "app.tar.gz"), ...tarArgs, "pkg"]);
  execFileSync("tar", ["-cjf", join(ctx, "app.tar.bz2"), ...tarArgs, "pkg"]);
  execFileSync("tar", ["-cJf", join(ctx, "app.tar.xz"), ...tarArgs, "pkg"]);
  await writeFile(join(ctx, "notes.gz"), execFileSync("gzip", ["-c"], { input: "not a tar\n" }));

  // An archive that tries to write outside the destination through a symlink and through "..".
  const pack = tar.pack();
  pack.entry({ name: "evil", type: "symlink", linkname: "/" });
  pack.entry({ name: "evil/escaped.txt" }, "inside after all\n");
  pack.finalize();
  await pipeline(pack, createWriteStream(join(ctx, "symlink-escape.tar")));
  const dots = tar.pack();
  dots.entry({ name: "../../dotdot.txt" }, "no\n");
  dots.finalize();
  await pipeline(dots, createWriteStream(join(ctx, "dotdot.tar")));

  server = createServer((req, res) => {
    if (req.url === "/files/tool.txt") {
      res.writeHead(200, { "Last-Modified": new Date(1_234_567_890_000).toUTCString() });
      res.end(payload);
    } else if (req.url === "/files/app.tar.gz") {
      readFile(join(ctx, "app.tar.gz")).then((body) => res.end(body));
    } else {
      res.writeHead(404);
      res.end("missing");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(base, { recursive: true, force: true });
});

describe("ADD of local archives", () => {
  it.each(["plain.tar", "app.tar.gz", "app.tar.bz2", "app.tar.xz"])(
    "extracts %s into the destination",
    async (name) => {
      const target = await newTarget();
      await add(addOp([{ kind: "path", pattern: name }], "/opt"), target);
      expect(await readFile(join(target, "opt/pkg/bin/tool"), "utf8")).toBe("#!/bin/sh\necho tool\n");
      const tool = await lstat(join(target, "opt/pkg/bin/tool"));
      expect([tool.mode & 0o7777, tool.uid, tool.gid, Math.floor(tool.mtimeMs / 1000)]).toEqual([
        0o755, 7, 8, 1_600_000_000,
      ]);
    },
  );

  it("copies the archive itself with --unpack=false, with COPY, and for a compressed non-tar", async () => {
    const target = await newTarget();
    await add(addOp([{ kind: "path", pattern: "app.tar.gz" }], "/keep/", { unpack: false }), target);
    await add(addOp([{ kind: "path", pattern: "app.tar.gz" }], "/copy/", { instruction: "COPY" }), target);
    await add(addOp([{ kind: "path", pattern: "notes.gz" }], "/notes/"), target);
    expect((await lstat(join(target, "keep/app.tar.gz"))).isFile()).toBe(true);
    expect((await lstat(join(target, "copy/app.tar.gz"))).isFile()).toBe(true);
    expect((await lstat(join(target, "notes/notes.gz"))).isFile()).toBe(true);
  });

  it("keeps archive members inside the destination", async () => {
    const target = await newTarget();
    await add(addOp([{ kind: "path", pattern: "symlink-escape.tar" }], "/x"), target);
    expect(await readlink(join(target, "x/evil"))).toBe("/");
    // "/" inside the archive is the destination directory, as with Docker's chrooted untar.
    expect(await readFile(join(target, "x/escaped.txt"), "utf8")).toBe("inside after all\n");
    const error = await failure(add(addOp([{ kind: "path", pattern: "dotdot.tar" }], "/y"), target));
    expect(error.code).toBe("COPY_ARCHIVE");
  });
});

describe("ADD of URLs", () => {
  it("downloads into a directory destination, named from the URL, mode 0600, Last-Modified as mtime", async () => {
    const target = await newTarget();
    await add(
      addOp([{ kind: "url", url: `${baseUrl}/files/tool.txt` }], "/dl/", {
        checksum: `sha256:${payloadSha}`,
      }),
      target,
    );
    const file = join(target, "dl/tool.txt");
    expect(await readFile(file, "utf8")).toBe(payload);
    const info = await lstat(file);
    expect([info.mode & 0o7777, Math.floor(info.mtimeMs / 1000)]).toEqual([0o600, 1_234_567_890]);
    await add(addOp([{ kind: "url", url: `${baseUrl}/files/tool.txt` }], "/named", { chmod: "644" }), target);
    expect((await lstat(join(target, "named"))).mode & 0o7777).toBe(0o644);
  });

  it("rejects a wrong checksum and HTTP errors, leaving nothing behind", async () => {
    const target = await newTarget();
    const wrong = await failure(
      add(
        addOp([{ kind: "url", url: `${baseUrl}/files/tool.txt` }], "/dl/", {
          checksum: `sha256:${"0".repeat(64)}`,
        }),
        target,
      ),
    );
    expect(wrong.code).toBe("COPY_FETCH");
    expect(wrong.message).toContain(`got sha256:${payloadSha}`);
    await expect(lstat(join(target, "dl/tool.txt"))).rejects.toThrow();
    const missing = await failure(add(addOp([{ kind: "url", url: `${baseUrl}/nope` }], "/dl/"), target));
    expect(missing.message).toContain("HTTP 404");
  });

  it("does not unpack a downloaded archive unless --unpack=true", async () => {
    const target = await newTarget();
    await add(addOp([{ kind: "url", url: `${baseUrl}/files/app.tar.gz` }], "/a/"), target);
    expect((await lstat(join(target, "a/app.tar.gz"))).isFile()).toBe(true);
    await add(addOp([{ kind: "url", url: `${baseUrl}/files/app.tar.gz` }], "/b/", { unpack: true }), target);
    expect(await readFile(join(target, "b/pkg/README"), "utf8")).toBe("readme\n");
  });
});

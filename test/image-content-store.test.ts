import { spawn } from "node:child_process";
import { open, readdir, readFile, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { streamIntoFile, TEMP_OWNER, writeFileAtomic } from "../src/image/atomic-file.js";
import { ContentStore } from "../src/image/content-store.js";
import { sha256Of } from "../src/image/digest.js";
import {
  BlobUnknownError,
  DigestInvalidError,
  DigestMismatchError,
  RangeNotSatisfiableError,
  SizeMismatchError,
} from "../src/image/errors.js";
import type { Digest } from "../src/image/store-types.js";
import { compileImageModules } from "./helpers/image-child.js";
import { chunked, collect, makeTempDir } from "./helpers/image-fixtures.js";

let root: string;
let cleanup: () => Promise<void>;
let store: ContentStore;

beforeEach(async () => {
  ({ dir: root, cleanup } = await makeTempDir());
  store = await ContentStore.open(root);
});
afterEach(async () => {
  await cleanup();
});

const visibleBlobs = async () => (await readdir(join(root, "blobs", "sha256"))).sort();
const ingestFiles = () => readdir(join(root, "ingest"));

function pseudoRandom(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out[i] = x >> 16;
  }
  return out;
}

describe("writeBytes of a stored document", () => {
  it("writes nothing when the blob is already there, but refreshes its mtime (GC grace)", async () => {
    const doc = Buffer.from('{"config":"same"}');
    const first = await store.writeBytes(doc);
    const path = join(root, "blobs", "sha256", first.digest.slice(7));
    const old = new Date(Date.now() - 3_600_000);
    await utimes(path, old, old);
    const before = await stat(path);
    const again = await store.writeBytes(doc, { digest: first.digest, size: doc.length });
    const after = await stat(path);
    expect(again).toEqual(first);
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBeGreaterThan(before.mtimeMs + 3_000_000);
    await expect(store.writeBytes(doc, { digest: sha256Of("other") })).rejects.toBeInstanceOf(
      DigestMismatchError,
    );
    await expect(store.writeBytes(doc, { size: 3 })).rejects.toBeInstanceOf(SizeMismatchError);
  });
});

describe("large blobs hashed on the worker thread", () => {
  it("verifies announced-large blobs off the main thread: right digest kept, wrong digest refused", async () => {
    const big = pseudoRandom(9 * 1024 * 1024 + 5, 11);
    const digest = sha256Of(big);
    const info = await store.write(chunked(big, 70_000), { digest, size: big.length });
    expect(info).toEqual({ digest, size: big.length });
    expect((await readFile(join(root, "blobs", "sha256", digest.slice(7)))).equals(big)).toBe(true);
    const other = pseudoRandom(9 * 1024 * 1024, 12);
    await expect(store.write(chunked(other, 65_536), { digest, size: other.length })).rejects.toBeInstanceOf(
      DigestMismatchError,
    );
    await expect(store.write(chunked(other, 65_536), { size: other.length - 1 })).rejects.toBeInstanceOf(
      SizeMismatchError,
    );
    expect(await ingestFiles()).toEqual([]);
    // Concurrent large writes keep their sessions apart.
    const blobs = [21, 22, 23].map((seed) => pseudoRandom(8 * 1024 * 1024 + seed, seed));
    const infos = await Promise.all(
      blobs.map((b) => store.write(chunked(b, 50_000), { digest: sha256Of(b), size: b.length })),
    );
    expect(infos.map((i) => i.digest)).toEqual(blobs.map((b) => sha256Of(b)));
  });

  it("the hashing worker does not keep a process alive", async () => {
    const compiled = await compileImageModules(join(root, "compiled"));
    const script = `import { ContentStore } from ${JSON.stringify(join(compiled, "content-store.js"))};
import { createHash } from "node:crypto";
const data = Buffer.alloc(10 * 1024 * 1024, 7);
const digest = "sha256:" + createHash("sha256").update(data).digest("hex");
const store = await ContentStore.open(process.argv[2]);
const info = await store.write([data], { digest, size: data.length });
console.log(info.digest === digest ? "ok" : "bad");`;
    const file = join(root, "large-writer.mjs");
    await writeFile(file, script);
    const started = Date.now();
    const child = spawn(process.execPath, [file, join(root, "child-store")], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (chunk) => (out += chunk));
    const code = await new Promise((r) => child.on("exit", r));
    expect(out.trim()).toBe("ok");
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});

describe("batched writes", () => {
  it("chunks of every size (empty, tiny, odd, several MiB) land in order, batched into writev calls", async () => {
    const data = pseudoRandom(5 * 1024 * 1024 + 333, 7);
    const sizes = [0, 1, 7, 65536, 1048575, 1, 0, 3 * 1048576 + 5, 12345];
    const pieces: Buffer[] = [];
    let at = 0;
    for (let k = 0; at < data.length; k++) {
      const n = Math.min(sizes[k % sizes.length]!, data.length - at);
      pieces.push(data.subarray(at, at + n));
      at += n;
    }
    async function* slowly() {
      for (const [k, p] of pieces.entries()) {
        if (k % 3 === 0) await new Promise((r) => setImmediate(r));
        yield p;
      }
    }
    const info = await store.write(slowly(), { digest: sha256Of(data), size: data.length });
    expect(info.size).toBe(data.length);
    expect((await readFile(join(root, "blobs", "sha256", info.digest.slice(7)))).equals(data)).toBe(true);
  });
});

describe("flush-behind", () => {
  it("starts fdatasync every 8 MiB while the rest still arrives, and reports a failed one", async () => {
    const file = join(root, "flush-behind");
    const handle = await open(file, "w");
    const calls: string[] = [];
    let failSync = false;
    // The real handle, with its writev and datasync calls recorded (a datasync may be made to fail).
    const spy = new Proxy(handle, {
      get(target, name) {
        if (name === "writev") {
          return (pieces: Buffer[], at: number) => {
            calls.push("writev");
            return target.writev(pieces, at);
          };
        }
        if (name === "datasync") {
          return async () => {
            calls.push("datasync");
            if (failSync) throw Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" });
            return target.datasync();
          };
        }
        const value = Reflect.get(target, name);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const data = pseudoRandom(20 * 1024 * 1024 + 5, 3);
    try {
      expect(await streamIntoFile(spy, 0, chunked(data, 64 * 1024))).toBe(data.length);
      expect((await readFile(file)).equals(data)).toBe(true);
      // The first datasync after the eighth 1 MiB batch, while writes go on (then at most one per 8 MiB,
      // one at a time: how many depends on how fast the disk is).
      expect(calls.indexOf("datasync")).toBe(8);
      expect(calls.filter((c) => c === "datasync").length).toBeLessThanOrEqual(2);
      expect(calls.lastIndexOf("writev")).toBeGreaterThan(calls.indexOf("datasync"));
      // A small file gets none (its writer's own fsync is enough).
      calls.length = 0;
      await streamIntoFile(spy, 0, chunked(data.subarray(0, 4 * 1024 * 1024), 64 * 1024));
      expect(calls).not.toContain("datasync");
      failSync = true;
      await expect(streamIntoFile(spy, 0, chunked(data, 64 * 1024))).rejects.toMatchObject({ code: "EIO" });
    } finally {
      await handle.close();
    }
  });
});

describe("ContentStore write/read", () => {
  it("stores a streamed blob at blobs/sha256/<hex> and reads it back", async () => {
    const data = pseudoRandom(300_000);
    const info = await store.write(chunked(data, 7000), { digest: sha256Of(data), size: data.length });
    expect(info).toEqual({ digest: sha256Of(data), size: data.length });
    const onDisk = await readFile(join(root, "blobs", "sha256", info.digest.slice(7)));
    expect(onDisk.equals(data)).toBe(true);
    expect(await store.stat(info.digest)).toEqual(info);
    expect((await collect(await store.openRead(info.digest))).equals(data)).toBe(true);
    expect(await ingestFiles()).toEqual([]);
  });

  it("computes the digest when none is expected; writeBytes of empty content works", async () => {
    const info = await store.writeBytes(new Uint8Array());
    expect(info.digest).toBe(sha256Of(""));
    expect(info.size).toBe(0);
    expect((await collect(await store.openRead(info.digest))).length).toBe(0);
  });

  it("a digest mismatch throws DIGEST_INVALID and leaves nothing visible", async () => {
    const data = Buffer.from("actual content");
    const wrong = sha256Of("other content");
    const error = await store.write(chunked(data, 3), { digest: wrong }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DigestMismatchError);
    expect((error as DigestMismatchError).code).toBe("DIGEST_INVALID");
    expect((error as DigestMismatchError).actual).toBe(sha256Of(data));
    expect(await visibleBlobs()).toEqual([]);
    expect(await store.stat(wrong)).toBeUndefined();
    expect(await store.stat(sha256Of(data))).toBeUndefined();
    expect(await ingestFiles()).toEqual([]);
  });

  it("a size mismatch (short or long) throws SIZE_INVALID and leaves nothing", async () => {
    const data = Buffer.from("0123456789");
    const long = await store.write(chunked(data, 2), { size: 4 }).catch((e: unknown) => e);
    expect(long).toBeInstanceOf(SizeMismatchError);
    expect((long as SizeMismatchError).code).toBe("SIZE_INVALID");
    const short = await store.writeBytes(data, { size: 11, digest: sha256Of(data) }).catch((e: unknown) => e);
    expect(short).toBeInstanceOf(SizeMismatchError);
    expect(await visibleBlobs()).toEqual([]);
    expect(await ingestFiles()).toEqual([]);
  });

  it("a failing source stream leaves nothing", async () => {
    async function* failing() {
      yield Buffer.from("partial");
      throw new Error("network dropped");
    }
    await expect(store.write(Readable.from(failing()))).rejects.toThrow("network dropped");
    expect(await visibleBlobs()).toEqual([]);
    expect(await ingestFiles()).toEqual([]);
  });

  it("rejects invalid digests before touching disk", async () => {
    await expect(
      store.writeBytes(Buffer.from("x"), { digest: "sha256:abc" as Digest }),
    ).rejects.toBeInstanceOf(DigestInvalidError);
    await expect(store.stat("sha256:../../etc/passwd" as Digest)).rejects.toBeInstanceOf(DigestInvalidError);
  });

  it("supports sha512 digests, stored under blobs/sha512", async () => {
    const data = Buffer.from("sha512 content");
    const { digestOf } = await import("../src/image/digest.js");
    const digest = digestOf(data, "sha512");
    const info = await store.writeBytes(data, { digest });
    expect(info.digest).toBe(digest);
    expect((await stat(join(root, "blobs", "sha512", digest.slice(7)))).size).toBe(data.length);
  });

  it("openRead of an unknown blob throws BLOB_UNKNOWN", async () => {
    const error = await store.openRead(sha256Of("missing")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BlobUnknownError);
    expect((error as BlobUnknownError).code).toBe("BLOB_UNKNOWN");
  });
});

describe("ContentStore ranges", () => {
  it("serves inclusive byte ranges, clamps the end, and refuses unsatisfiable ones", async () => {
    const data = Buffer.from("0123456789abcdef");
    const { digest } = await store.writeBytes(data);
    expect((await collect(await store.openRead(digest, { start: 0, end: 0 }))).toString()).toBe("0");
    expect((await collect(await store.openRead(digest, { start: 3, end: 7 }))).toString()).toBe("34567");
    expect((await collect(await store.openRead(digest, { start: 10, end: 1000 }))).toString()).toBe("abcdef");
    expect((await collect(await store.openRead(digest, { start: 15, end: 15 }))).toString()).toBe("f");
    await expect(store.openRead(digest, { start: 16, end: 20 })).rejects.toBeInstanceOf(
      RangeNotSatisfiableError,
    );
    await expect(store.openRead(digest, { start: 5, end: 4 })).rejects.toBeInstanceOf(
      RangeNotSatisfiableError,
    );
    await expect(store.openRead(digest, { start: -1, end: 4 })).rejects.toBeInstanceOf(
      RangeNotSatisfiableError,
    );
  });
});

describe("ContentStore concurrency", () => {
  it("50 concurrent writes of the same blob all succeed with one intact copy", async () => {
    const data = pseudoRandom(512 * 1024, 7);
    const digest = sha256Of(data);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        store.write(chunked(data, 1000 + i * 97), { digest, size: data.length }),
      ),
    );
    for (const result of results) expect(result).toEqual({ digest, size: data.length });
    expect(await visibleBlobs()).toEqual([digest.slice(7)]);
    expect((await collect(await store.openRead(digest))).equals(data)).toBe(true);
    expect(await ingestFiles()).toEqual([]);
  });

  it("readers never see a partial blob while writers race", async () => {
    const data = pseudoRandom(256 * 1024, 3);
    const digest = sha256Of(data);
    const writers = Array.from({ length: 10 }, () => store.write(chunked(data, 4096), { digest }));
    const seen: number[] = [];
    const reader = (async () => {
      for (let i = 0; i < 50; i++) {
        const info = await store.stat(digest);
        if (info) {
          seen.push(info.size);
          expect(sha256Of(await collect(await store.openRead(digest)))).toBe(digest);
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    await Promise.all([...writers, reader]);
    for (const size of seen) expect(size).toBe(data.length);
  });
});

describe("ContentStore commitFile, delete, list", () => {
  it("commitFile verifies and moves a temp file into place", async () => {
    const data = Buffer.from("uploaded session data");
    const temp = store.newIngestPath("session");
    await writeFile(temp, data);
    const info = await store.commitFile(temp, { digest: sha256Of(data), size: data.length });
    expect(info).toEqual({ digest: sha256Of(data), size: data.length });
    await expect(stat(temp)).rejects.toThrow();
    expect(await store.stat(info.digest)).toEqual(info);
  });

  it("commitFile with a wrong digest keeps the temp file and shows nothing", async () => {
    const temp = store.newIngestPath("session");
    await writeFile(temp, "abc");
    await expect(store.commitFile(temp, { digest: sha256Of("abd") })).rejects.toBeInstanceOf(
      DigestMismatchError,
    );
    await expect(store.commitFile(temp, { digest: sha256Of("abc"), size: 4 })).rejects.toBeInstanceOf(
      SizeMismatchError,
    );
    expect((await readFile(temp)).toString()).toBe("abc");
    expect(await visibleBlobs()).toEqual([]);
  });

  it("list yields every blob; delete removes one", async () => {
    const a = await store.writeBytes(Buffer.from("a"));
    const b = await store.writeBytes(Buffer.from("bb"));
    const listed: string[] = [];
    for await (const info of store.list()) listed.push(`${info.digest}=${info.size}`);
    expect(listed.sort()).toEqual([`${a.digest}=1`, `${b.digest}=2`].sort());
    expect(await store.delete(a.digest)).toBe(true);
    expect(await store.delete(a.digest)).toBe(false);
    expect(await store.stat(a.digest)).toBeUndefined();
  });
});

describe("writeFileAtomic", () => {
  it("replaces a file whole and leaves no temp files", async () => {
    const path = join(root, "dir", "file.json");
    await writeFileAtomic(path, "first");
    await writeFileAtomic(path, "second");
    expect(await readFile(path, "utf8")).toBe("second");
    expect(await readdir(join(root, "dir"))).toEqual(["file.json"]);
  });
});

describe("crash safety", () => {
  it("a writer SIGKILLed mid-write leaves no visible blob, and reopening cleans ingest/", async () => {
    const compiled = await compileImageModules(join(root, "compiled"));
    const script = join(root, "writer.mjs");
    await writeFile(
      script,
      `import { ContentStore } from ${JSON.stringify(join(compiled, "content-store.js"))};
const store = await ContentStore.open(process.argv[2]);
async function* endless() {
  for (let i = 0; ; i++) {
    yield Buffer.alloc(64 * 1024, i & 0xff);
    if (i === 40) process.stdout.write("writing\\n");
    await new Promise((r) => setTimeout(r, 5));
  }
}
await store.write(endless());
`,
    );
    const dataRoot = join(root, "data");
    const child = spawn(process.execPath, [script, dataRoot], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    await new Promise<void>((resolveStarted, reject) => {
      child.stdout.on("data", (chunk) => {
        if (String(chunk).includes("writing")) resolveStarted();
      });
      child.on("exit", (code) => reject(new Error(`writer exited early (${code}): ${stderr}`)));
    });
    const exited = new Promise((r) => child.on("exit", (_code, signal) => r(signal)));
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");

    // The partial data exists only in ingest/ …
    const leftovers = await readdir(join(dataRoot, "ingest"));
    expect(leftovers.length).toBe(1);
    // 40 × 64 KiB were produced; writes go out in 1 MiB batches, so at least one batch reached the file.
    expect((await stat(join(dataRoot, "ingest", leftovers[0]!))).size).toBeGreaterThanOrEqual(1024 * 1024);
    expect(await readdir(join(dataRoot, "blobs", "sha256"))).toEqual([]);

    // … and reopening removes it: its writer (same host and pid namespace) is no longer running.
    const reopened = await ContentStore.open(dataRoot);
    expect(await readdir(join(dataRoot, "ingest"))).toEqual([]);
    const listed: string[] = [];
    for await (const info of reopened.list()) listed.push(info.digest);
    expect(listed).toEqual([]);
  });

  it("reopen keeps live writers' files and files it does not own; foreign leftovers only once old", async () => {
    const live = store.newIngestPath("upload");
    await writeFile(live, "in flight");
    await writeFile(join(root, "ingest", "not-ours"), "x");
    // A temp file from another host / pid namespace (owner hash differs): its pid cannot be checked.
    const foreignOwner = TEMP_OWNER === "00000000" ? "11111111" : "00000000";
    const foreign = join(root, "ingest", `.blob.${foreignOwner}.999999.0123456789ab.tmp`);
    await writeFile(foreign, "theirs");
    await ContentStore.open(root);
    const basenames = (paths: string[]) => paths.map((p) => p.split("/").pop()).sort();
    expect((await ingestFiles()).sort()).toEqual(basenames([live, foreign, "not-ours"]));
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    await utimes(foreign, twoHoursAgo, twoHoursAgo);
    await ContentStore.open(root);
    expect((await ingestFiles()).sort()).toEqual(basenames([live, "not-ours"]));
  });
});

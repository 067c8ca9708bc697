import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sha256Of } from "../src/image/digest.js";
import { ManifestUnknownError, NameInvalidError, TagInvalidError } from "../src/image/errors.js";
import { OCI_CONFIG, OCI_MANIFEST } from "../src/image/media-types.js";
import { FsRepositoryStore, validateRepositoryName, validateTag } from "../src/image/repository-store.js";
import type { Descriptor, Digest, ManifestRecord } from "../src/image/store-types.js";
import { makeTempDir } from "./helpers/image-fixtures.js";

let root: string;
let cleanup: () => Promise<void>;
let repos: FsRepositoryStore;

beforeEach(async () => {
  ({ dir: root, cleanup } = await makeTempDir());
  repos = await FsRepositoryStore.open(root);
});
afterEach(async () => {
  await cleanup();
});

const manifest = (seed: string, extra: Partial<ManifestRecord> = {}): ManifestRecord => ({
  mediaType: OCI_MANIFEST,
  digest: sha256Of(seed),
  size: seed.length,
  pushedAt: 1_700_000_000_000,
  ...extra,
});
const descriptorOf = (record: ManifestRecord): Descriptor => ({
  mediaType: record.mediaType,
  digest: record.digest,
  size: record.size,
});
const readIndex = async () =>
  JSON.parse(await readFile(join(root, "index.json"), "utf8")) as {
    manifests: Array<Descriptor & { annotations: Record<string, string> }>;
  };
const refNames = async () =>
  (await readIndex()).manifests.map(
    (m) => `${m.annotations["org.opencontainers.image.ref.name"]}@${m.digest}`,
  );

describe("repository names and tags", () => {
  it.each([
    "a",
    "library/app",
    "a0/b-c/d__e/f.g",
    "my--repo",
    "x".repeat(255),
    "registry.example.com/team/app",
  ])("accepts %s", (name) => {
    expect(validateRepositoryName(name)).toBe(name);
  });

  it.each([
    ["empty", ""],
    ["dot-dot", ".."],
    ["traversal", "library/../../etc"],
    ["leading traversal", "../outside"],
    ["absolute", "/etc/passwd"],
    ["percent-encoded dots", "%2e%2e/x"],
    ["encoded slash", "a%2fb"],
    ["uppercase", "Library/app"],
    ["trailing slash", "app/"],
    ["double slash", "a//b"],
    ["leading separator", "-app"],
    ["triple underscore", "a___b"],
    ["underscore component", "a/_manifests"],
    ["backslash", "a\\b"],
    ["nul", "a\0b"],
    ["too long", "x".repeat(256)],
    ["port", "localhost:5000/app"],
  ])("rejects %s with NAME_INVALID", (_label, name) => {
    let caught: unknown;
    try {
      validateRepositoryName(name);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(NameInvalidError);
    expect((caught as NameInvalidError).code).toBe("NAME_INVALID");
  });

  it("validates tags", () => {
    for (const tag of ["latest", "v1.2.3", "_x", "A-b_c.d", "a".repeat(128)])
      expect(validateTag(tag)).toBe(tag);
    for (const tag of ["", ".hidden", "..", "-x", "a/b", "a:b", "a".repeat(129), "a b", "%2e%2e"]) {
      expect(() => validateTag(tag)).toThrow(TagInvalidError);
    }
  });

  it("every store method refuses bad names and tags before touching the filesystem", async () => {
    const digest = sha256Of("x");
    await expect(repos.listTags("../escape")).rejects.toBeInstanceOf(NameInvalidError);
    await expect(repos.linkBlob("%2e%2e", digest)).rejects.toBeInstanceOf(NameInvalidError);
    await expect(repos.linkManifest("/abs", manifest("m"))).rejects.toBeInstanceOf(NameInvalidError);
    await expect(repos.resolveTag("app", "../../x")).rejects.toBeInstanceOf(TagInvalidError);
    await expect(repos.getManifest("app", "sha256:../../x" as Digest)).rejects.toThrow(/invalid digest/);
    expect(await readdir(join(root, "repositories"))).toEqual([]);
  });
});

describe("manifests and tags", () => {
  it("links manifests, tags them, lists tags in lexical order", async () => {
    const m1 = manifest("one");
    const m2 = manifest("two", { artifactType: "application/x" });
    await repos.linkManifest("library/app", m1);
    await repos.linkManifest("library/app", m2);
    expect(await repos.getManifest("library/app", m1.digest)).toEqual(m1);
    for (const tag of ["v2", "latest", "V1", "_a", "v10"])
      await repos.setTag("library/app", tag, descriptorOf(m1));
    await repos.setTag("library/app", "v2", descriptorOf(m2));
    expect(await repos.listTags("library/app")).toEqual(["V1", "_a", "latest", "v10", "v2"]);
    expect(await repos.resolveTag("library/app", "v2")).toEqual(descriptorOf(m2));
    expect(await repos.resolveTag("library/app", "nope")).toBeUndefined();
    expect((await repos.listManifests("library/app")).map((r) => r.digest).sort()).toEqual(
      [m1.digest, m2.digest].sort(),
    );
  });

  it("setTag refuses a manifest that is not linked", async () => {
    await expect(repos.setTag("app", "x", descriptorOf(manifest("ghost")))).rejects.toBeInstanceOf(
      ManifestUnknownError,
    );
    expect(await repos.listTags("app")).toEqual([]);
  });

  it("deleteTag and unlinkManifest (which drops every tag of the manifest)", async () => {
    const m1 = manifest("one");
    const m2 = manifest("two");
    await repos.linkManifest("app", m1);
    await repos.linkManifest("app", m2);
    await repos.setTag("app", "a", descriptorOf(m1));
    await repos.setTag("app", "b", descriptorOf(m1));
    await repos.setTag("app", "c", descriptorOf(m2));
    expect(await repos.deleteTag("app", "a")).toBe(true);
    expect(await repos.deleteTag("app", "a")).toBe(false);
    expect(await repos.unlinkManifest("app", m1.digest)).toBe(true);
    expect(await repos.unlinkManifest("app", m1.digest)).toBe(false);
    expect(await repos.listTags("app")).toEqual(["c"]);
    expect(await repos.getManifest("app", m1.digest)).toBeUndefined();
    expect(await refNames()).toEqual([`app:c@${m2.digest}`]);
  });

  it("repositories are isolated and nested names work", async () => {
    const m = manifest("m");
    await repos.linkManifest("a", m);
    await repos.linkManifest("a/b", m);
    await repos.linkBlob("c/d/e", sha256Of("blob"));
    await repos.setTag("a/b", "t", descriptorOf(m));
    expect(await repos.listRepositories()).toEqual(["a", "a/b", "c/d/e"]);
    expect(await repos.listTags("a")).toEqual([]);
    expect(await repos.listTags("a/b")).toEqual(["t"]);
    expect(await repos.listTags("never/pushed")).toEqual([]);
    expect(await repos.repositoryExists("c/d/e")).toBe(true);
    expect(await repos.repositoryExists("c/d")).toBe(false);
  });

  it("concurrent setTag/linkManifest on one repository stay consistent", async () => {
    const records = Array.from({ length: 30 }, (_, i) => manifest(`m${i}`));
    await Promise.all(records.map((r) => repos.linkManifest("busy", r)));
    await Promise.all(
      records.flatMap((r, i) => [
        repos.setTag("busy", `t${i}`, descriptorOf(r)),
        repos.setTag("busy", "shared", descriptorOf(r)),
      ]),
    );
    const tags = await repos.listTags("busy");
    expect(tags).toHaveLength(31);
    const shared = await repos.resolveTag("busy", "shared");
    expect(records.map((r) => r.digest)).toContain(shared?.digest);
    // index.json reflects the final state of every tag, including the raced one.
    const names = await refNames();
    expect(names).toHaveLength(31);
    expect(names).toContain(`busy:shared@${shared?.digest}`);
    const tagDir = await readdir(join(root, "repositories", "busy", "_manifests", "tags"));
    expect(tagDir.filter((n) => n.startsWith("."))).toEqual([]);
  });
});

describe("blob links", () => {
  it("link, check, unlink", async () => {
    const digest = sha256Of("layer");
    expect(await repos.isBlobLinked("app", digest)).toBe(false);
    await repos.linkBlob("app", digest);
    await repos.linkBlob("app", digest);
    expect(await repos.isBlobLinked("app", digest)).toBe(true);
    expect(await repos.isBlobLinked("other", digest)).toBe(false);
    expect(await repos.listLinkedBlobs("app")).toEqual([digest]);
    expect(await repos.unlinkBlob("app", digest)).toBe(true);
    expect(await repos.unlinkBlob("app", digest)).toBe(false);
    expect(await repos.isBlobLinked("app", digest)).toBe(false);
  });
});

describe("referrers", () => {
  it("lists manifests whose subject is the digest, with artifactType and annotations", async () => {
    const image = manifest("image");
    const sbom = manifest("sbom", {
      subject: image.digest,
      artifactType: "application/vnd.example.sbom",
      annotations: { "org.example": "yes" },
    });
    const sig = manifest("sig", { subject: image.digest, artifactType: OCI_CONFIG });
    const unrelated = manifest("unrelated", { subject: sha256Of("elsewhere") });
    for (const r of [image, sbom, sig, unrelated]) await repos.linkManifest("app", r);
    const referrers = await repos.listReferrers("app", image.digest);
    expect(referrers).toHaveLength(2);
    expect(referrers).toContainEqual({
      mediaType: OCI_MANIFEST,
      digest: sbom.digest,
      size: sbom.size,
      artifactType: "application/vnd.example.sbom",
      annotations: { "org.example": "yes" },
    });
    expect(await repos.listReferrers("other", image.digest)).toEqual([]);
    expect(await repos.listReferrers("app", sha256Of("nothing"))).toEqual([]);
    await repos.unlinkManifest("app", sbom.digest);
    expect((await repos.listReferrers("app", image.digest)).map((d) => d.digest)).toEqual([sig.digest]);
  });
});

describe("OCI layout files", () => {
  it("writes oci-layout and an index.json derived from the tags, and rebuilds it on open", async () => {
    expect(JSON.parse(await readFile(join(root, "oci-layout"), "utf8"))).toEqual({
      imageLayoutVersion: "1.0.0",
    });
    expect((await readIndex()).manifests).toEqual([]);
    const m = manifest("m");
    await repos.linkManifest("library/app", m);
    await repos.setTag("library/app", "1", descriptorOf(m));
    await repos.setTag("library/app", "latest", descriptorOf(m));
    expect(await refNames()).toEqual([`library/app:1@${m.digest}`, `library/app:latest@${m.digest}`]);
    const index = await readIndex();
    expect(index.manifests[0]).toMatchObject({ mediaType: OCI_MANIFEST, digest: m.digest, size: m.size });

    // A lost index.json is rebuilt from the tag links.
    await import("node:fs/promises").then((fs) => fs.rm(join(root, "index.json")));
    await FsRepositoryStore.open(root);
    expect(await refNames()).toEqual([`library/app:1@${m.digest}`, `library/app:latest@${m.digest}`]);
  });

  it("re-tagging to the same manifest, linking it again and reopening write nothing (no-change rebuilds)", async () => {
    const fs = await import("node:fs/promises");
    const m = manifest("same");
    await repos.linkManifest("library/app", m);
    await repos.setTag("library/app", "1", descriptorOf(m));
    const files = [
      join(root, "index.json"),
      join(root, "repositories", "library", "app", "_manifests", "tags", "1"),
      join(root, "repositories", "library", "app", "_manifests", "revisions", "sha256", m.digest.slice(7)),
    ];
    const inodes = async () => Promise.all(files.map(async (f) => (await fs.stat(f)).ino));
    const before = await inodes();
    await repos.linkManifest("library/app", m);
    await repos.setTag("library/app", "1", descriptorOf(m));
    await FsRepositoryStore.open(root);
    // An atomic rewrite renames a new file in: a different inode. None happened.
    expect(await inodes()).toEqual(before);
    // A real change still rewrites the tag and index.json.
    const n = manifest("other");
    await repos.linkManifest("library/app", n);
    await repos.setTag("library/app", "1", descriptorOf(n));
    const after = await inodes();
    expect(after[0]).not.toBe(before[0]);
    expect(after[1]).not.toBe(before[1]);
    expect(await refNames()).toEqual([`library/app:1@${n.digest}`]);
  });

  it("a failed index.json rewrite does not fail the tag change and is repaired by the next one", async () => {
    const m = manifest("m");
    await repos.linkManifest("app", m);
    const fs = await import("node:fs/promises");
    await fs.rm(join(root, "index.json"));
    await fs.mkdir(join(root, "index.json", "blocker"), { recursive: true });
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on("warning", onWarning);
    try {
      await repos.setTag("app", "one", descriptorOf(m));
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off("warning", onWarning);
    }
    expect(await repos.resolveTag("app", "one")).toEqual(descriptorOf(m));
    expect(repos.lastLayoutError).toBeInstanceOf(Error);
    expect(warnings.join("\n")).toMatch(/could not rewrite .*index\.json/);
    await fs.rm(join(root, "index.json"), { recursive: true });
    await repos.setTag("app", "two", descriptorOf(m));
    expect(repos.lastLayoutError).toBeUndefined();
    expect(await refNames()).toEqual([`app:one@${m.digest}`, `app:two@${m.digest}`]);
  });

  it("serialises index rewrites across two store instances (two processes' worth)", async () => {
    const other = await FsRepositoryStore.open(root);
    const records = Array.from({ length: 10 }, (_, i) => manifest(`x${i}`));
    await Promise.all(records.map((r) => repos.linkManifest("r", r)));
    await Promise.all(
      records.map((r, i) => (i % 2 === 0 ? repos : other).setTag("r", `t${i}`, descriptorOf(r))),
    );
    expect((await refNames()).sort()).toEqual(records.map((r, i) => `r:t${i}@${r.digest}`).sort());
    expect((await readdir(root)).filter((n) => n.includes("lock") || n.endsWith(".tmp"))).toEqual([]);
  });

  it("index.json stays complete when several processes change tags at once", async () => {
    const { compileImageModules } = await import("./helpers/image-child.js");
    const { execFile } = await import("node:child_process");
    const compiled = await compileImageModules(join(root, "compiled"));
    const dataRoot = join(root, "shared");
    const script = join(root, "tagger.mjs");
    await import("node:fs/promises").then((fs) =>
      fs.writeFile(
        script,
        `import { FsRepositoryStore } from ${JSON.stringify(join(compiled, "repository-store.js"))};
const [root, worker] = process.argv.slice(2);
const repos = await FsRepositoryStore.open(root);
const hex = (n) => n.toString(16).padStart(64, "0");
for (let i = 0; i < 8; i++) {
  const descriptor = { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: "sha256:" + hex(Number(worker) * 100 + i), size: 10 };
  await repos.linkManifest("proc" + worker + "/app", { ...descriptor, pushedAt: Date.now() });
  await repos.setTag("proc" + worker + "/app", "t" + i, descriptor);
}
if (repos.lastLayoutError) throw repos.lastLayoutError;
`,
      ),
    );
    const runWorker = (worker: number) =>
      new Promise<void>((done, fail) =>
        execFile(process.execPath, [script, dataRoot, String(worker)], (error, _out, stderr) =>
          error ? fail(new Error(`${error.message}\n${stderr}`)) : done(),
        ),
      );
    await Promise.all([1, 2, 3].map(runWorker));
    const index = JSON.parse(await readFile(join(dataRoot, "index.json"), "utf8")) as {
      manifests: Array<{ annotations: Record<string, string> }>;
    };
    const names = index.manifests.map((m) => m.annotations["org.opencontainers.image.ref.name"]);
    const expected = [1, 2, 3].flatMap((w) => Array.from({ length: 8 }, (_, i) => `proc${w}/app:t${i}`));
    expect(names).toEqual(expected.sort());
    expect((await readdir(dataRoot)).filter((n) => n.endsWith(".lock") || n.endsWith(".tmp"))).toEqual([]);
  });

  it("the layout lock lets only one rewrite run at a time, across independent instances", async () => {
    const { OciLayoutIndex } = await import("../src/image/oci-layout.js");
    let active = 0;
    let maxActive = 0;
    let rewrites = 0;
    const slowCollect = async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setTimeout(r, 15));
      active--;
      rewrites++;
      return [];
    };
    const first = new OciLayoutIndex(root, slowCollect);
    const second = new OciLayoutIndex(root, slowCollect);
    await Promise.all([first, second, first, second, first, second].map((index) => index.update()));
    expect(maxActive).toBe(1);
    // Requests made while a rewrite is queued share it: fewer rewrites than requests, but at least one each.
    expect(rewrites).toBeGreaterThanOrEqual(2);
    expect(rewrites).toBeLessThanOrEqual(6);
  });

  it("a lock left by a dead process is taken over; a live holder's lock is waited for", async () => {
    const { OciLayoutIndex } = await import("../src/image/oci-layout.js");
    const fs = await import("node:fs/promises");
    const { spawnSync } = await import("node:child_process");
    const lockPath = join(root, "index.json.lock");
    const deadPid = spawnSync(process.execPath, ["-e", "0"]).pid!;
    await fs.writeFile(lockPath, `${deadPid}\n`);
    const old = new Date(Date.now() - 10_000);
    await fs.utimes(lockPath, old, old);
    await new OciLayoutIndex(root, async () => []).update();
    await expect(fs.stat(lockPath)).rejects.toThrow();

    await fs.writeFile(lockPath, `${process.ppid}\n`);
    await expect(new OciLayoutIndex(root, async () => [], { timeoutMs: 150 }).update()).rejects.toThrow(
      /timed out waiting/,
    );
    await fs.rm(lockPath);
  });
});

/**
 * The persistent stat cache (src/context/stat-cache.ts) on a generated 20,000-file context: the first
 * digest reads every file, a second BuildContext (fresh process state, cache loaded from the data root)
 * reads none and is fast, one changed file is the only one read again, and a corrupt cache file is
 * simply an empty cache.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BuildContext } from "../src/context/build-context.js";
import type { CopyOp } from "../src/graph/types.js";

const FILES = 20_000;
let base: string;
let ctx: string;
let dataRoot: string;

const copyAll: CopyOp = {
  kind: "copy",
  instruction: "COPY",
  from: { kind: "context", name: "context" },
  sources: [{ kind: "path", pattern: "." }],
  dest: "/app/",
  workdir: "/",
  link: false,
  parents: false,
  excludes: [],
};

async function openContext(): Promise<BuildContext> {
  return BuildContext.open(ctx, { statCachePath: BuildContext.statCachePathFor(dataRoot, ctx) });
}

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), "gantry-statcache-"));
  ctx = join(base, "ctx");
  dataRoot = join(base, "root");
  for (let d = 0; d < 100; d++) {
    const dir = join(ctx, `pkg${String(d).padStart(3, "0")}`);
    await mkdir(dir, { recursive: true });
    await Promise.all(
      Array.from({ length: FILES / 100 }, (_, f) =>
        writeFile(join(dir, `file${f}.txt`), `package ${d} file ${f}\n`),
      ),
    );
  }
  // Let the racy-clean window pass, so the files are remembered on the first run.
  await new Promise((resolve) => setTimeout(resolve, 100));
}, 120_000);

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe("stat cache", () => {
  it("does not read an unchanged 20,000-file context again", async () => {
    const first = await openContext();
    const cold = performance.now();
    const one = await first.digestSources(copyAll);
    const coldMs = performance.now() - cold;
    expect(first.counters.filesHashed).toBe(FILES);
    await first.save();

    const second = await openContext();
    const warm = performance.now();
    const two = await second.digestSources(copyAll);
    const warmMs = performance.now() - warm;
    expect(two.digest).toBe(one.digest);
    expect(second.counters).toEqual({ filesHashed: 0, bytesRead: 0 });
    console.log(
      `20,000 files: cold digest ${coldMs.toFixed(0)} ms, warm (stat only) ${warmMs.toFixed(0)} ms`,
    );
    expect(warmMs).toBeLessThan(5_000);

    await writeFile(join(ctx, "pkg042", "file7.txt"), "changed\n");
    await new Promise((resolve) => setTimeout(resolve, 100));
    const third = await openContext();
    const three = await third.digestSources(copyAll);
    expect(third.counters.filesHashed).toBe(1);
    expect(three.digest).not.toBe(one.digest);
    const changed = three.files.filter((f, i) => f.digest !== one.files[i]!.digest).map((f) => f.path);
    expect(changed).toEqual(["pkg042/file7.txt"]);
  });

  it("starts empty from a corrupt cache file and rewrites it", async () => {
    const file = BuildContext.statCachePathFor(dataRoot, ctx);
    await writeFile(file, "{ not json");
    const context = await openContext();
    await context.digestSources({ ...copyAll, sources: [{ kind: "path", pattern: "pkg001" }] });
    expect(context.counters.filesHashed).toBe(FILES / 100);
    await context.save();
    expect(JSON.parse(await readFile(file, "utf8")).version).toBe(1);
  });
});

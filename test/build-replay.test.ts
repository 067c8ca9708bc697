/**
 * Build replay through bin/gantry (`npm test` builds first): an unchanged rebuild is answered from the record
 * of a fully cached build, and every kind of change sends the build down the full path again.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUSYBOX_REF, importBusybox } from "./helpers/busybox-image.js";

const run = promisify(execFile);
const GANTRY = resolve(import.meta.dirname, "..", "bin", "gantry");

let dir: string;
let root: string;
let context: string;

interface Outcome {
  replayed: boolean;
  digest: string;
  cached: number;
  steps: number;
  vertices: Array<{ name: string; status: string }>;
}

async function gantry(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [GANTRY, "--root", root, ...args], { timeout: 120_000 });
  return stdout;
}

async function build(...extra: string[]): Promise<Outcome> {
  const stdout = await gantry("build", context, "-t", "replay/app:1", "--progress", "json", ...extra);
  const events = stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  const summary = events.find((e) => e.type === "summary")!;
  return {
    replayed: summary.replayed === true,
    digest: summary.digest as string,
    cached: summary.cached as number,
    steps: summary.steps as number,
    vertices: events
      .filter((e) => e.type === "vertex" && e.status !== "running")
      .map((e) => ({ name: e.name as string, status: e.status as string })),
  };
}

/** A full no-change build records; the next one replays. */
async function settle(): Promise<Outcome> {
  await build();
  return build();
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gantry-replay-"));
  root = join(dir, "root");
  context = join(dir, "ctx");
  await importBusybox(root);
  await mkdir(join(context, "src"), { recursive: true });
  await writeFile(
    join(context, "Dockerfile"),
    `FROM ${BUSYBOX_REF}\nARG GREETING=hi\nCOPY src/ /app/\nLABEL greeting=$GREETING\n`,
  );
  await writeFile(join(context, "src", "a.txt"), "a\n");
  await writeFile(join(context, "src", "b.txt"), "b\n");
  await writeFile(join(context, ".dockerignore"), "src/ignored.txt\n");
  // Old enough to be trusted as unchanged (files modified in the last 50 ms are never recorded).
  const old = new Date(Date.now() - 60_000);
  for (const f of ["Dockerfile", "src/a.txt", "src/b.txt", ".dockerignore"])
    await utimes(join(context, f), old, old);
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("build replay", () => {
  let baseline: Outcome;

  it("replays an unchanged rebuild: same digest, every step shown as cached", async () => {
    const cold = await build();
    expect(cold.replayed).toBe(false);
    expect(cold.cached).toBeLessThan(cold.steps);
    const full = await build();
    expect(full.replayed).toBe(false);
    expect(full.cached).toBe(full.steps);
    baseline = await build();
    expect(baseline.replayed).toBe(true);
    expect(baseline.digest).toBe(cold.digest);
    expect(baseline.vertices).toEqual(full.vertices);
    expect(await readdir(join(root, "cache", "replay"))).toHaveLength(1);
  });

  it("a changed file, a new file, or a file whose stat changed runs the full build", async () => {
    await writeFile(join(context, "src", "a.txt"), "changed\n");
    const changed = await build();
    expect(changed.replayed).toBe(false);
    expect(changed.digest).not.toBe(baseline.digest);
    await writeFile(join(context, "src", "a.txt"), "a\n");
    await utimes(join(context, "src", "a.txt"), new Date(0), new Date(Date.now() - 60_000));
    const back = await build();
    expect(back.replayed).toBe(false); // a different mtime: looked at again, content is the old one
    expect(back.digest).toBe(baseline.digest);
    expect((await build()).replayed).toBe(true);

    await writeFile(join(context, "src", "new.txt"), "new\n");
    await utimes(join(context, "src", "new.txt"), new Date(0), new Date(Date.now() - 60_000));
    const added = await build();
    expect(added.replayed).toBe(false);
    expect(added.digest).not.toBe(baseline.digest);
    await rm(join(context, "src", "new.txt"));
    expect((await build()).digest).toBe(baseline.digest);
  });

  it("files the .dockerignore excludes do not matter; the .dockerignore itself does", async () => {
    await settle();
    await writeFile(join(context, "src", "ignored.txt"), "noise\n");
    const ignored = await build();
    expect(ignored.replayed).toBe(true);
    await writeFile(join(context, ".dockerignore"), "src/ignored.txt\nsrc/b.txt\n");
    const reignored = await build();
    expect(reignored.replayed).toBe(false);
    expect(reignored.digest).not.toBe(baseline.digest);
    await writeFile(join(context, ".dockerignore"), "src/ignored.txt\n");
    await rm(join(context, "src", "ignored.txt"));
  });

  it("a different build argument, --no-cache or an output is never replayed", async () => {
    await settle();
    const arg = await build("--build-arg", "GREETING=hello");
    expect(arg.replayed).toBe(false);
    expect(arg.digest).not.toBe(baseline.digest);
    expect((await build("--no-cache")).replayed).toBe(false);
    const out = await build("--output", `type=oci,dest=${join(dir, "out.tar")}`);
    expect(out.replayed).toBe(false);
  });

  it("a moved tag, a changed base image or a pruned cache record runs the full build", async () => {
    // (--no-cache above rebuilt every step: new history times, so a new reference digest.)
    const settled = await settle();
    expect(settled.replayed).toBe(true);
    // The tag now names another image: the full build puts it back.
    await gantry("tag", BUSYBOX_REF, "replay/app:1");
    const retagged = await build();
    expect(retagged.replayed).toBe(false);
    expect(retagged.digest).toBe(settled.digest);

    // A cache record is gone: the step it answered runs again.
    await settle();
    const replays = join(root, "cache", "replay");
    const recorded = JSON.parse(
      await readFile(join(replays, (await readdir(replays)).find((n) => n.endsWith(".json"))!), "utf8"),
    ) as { touch: string[] };
    expect(recorded.touch.length).toBeGreaterThan(0);
    await rm(join(root, recorded.touch.at(-1)!));
    const pruned = await build();
    expect(pruned.replayed).toBe(false);

    // The base image's tag moves to another image.
    await settle();
    await gantry("tag", "replay/app:1", BUSYBOX_REF);
    const rebased = await build();
    expect(rebased.replayed).toBe(false);
    expect(rebased.digest).not.toBe(settled.digest);
  });

  it("a build that ADDs a URL is never replayed (the content behind the URL may change)", async () => {
    const server = createServer((_req, res) => res.end("remote content\n"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    const urlContext = join(dir, "url-ctx");
    await mkdir(urlContext, { recursive: true });
    await writeFile(
      join(urlContext, "Dockerfile"),
      `FROM ${BUSYBOX_REF}\nADD http://127.0.0.1:${port}/f /f\n`,
    );
    await utimes(join(urlContext, "Dockerfile"), new Date(0), new Date(Date.now() - 60_000));
    try {
      const runs: boolean[] = [];
      for (let i = 0; i < 3; i++) {
        const stdout = await gantry("build", urlContext, "-t", "replay/url:1", "--progress", "json");
        const summary = stdout
          .trim()
          .split("\n")
          .map((line) => JSON.parse(line) as Record<string, unknown>)
          .find((e) => e.type === "summary")!;
        runs.push(summary.replayed === true);
      }
      expect(runs).toEqual([false, false, false]);
    } finally {
      server.close();
    }
  });
});

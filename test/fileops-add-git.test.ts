/**
 * `ADD <git repository>` through bin/gantry (`npm test` builds first), from a repository served over dumb
 * HTTP on 127.0.0.1: the checkout lands like a directory's contents, `#ref:subdir` works, `.git` only with
 * --keep-git-dir, the step is cached by commit and reruns when the branch moves, a bad ref is a clear error.
 */
import { execFile } from "node:child_process";
import { createReadStream } from "node:fs";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join, normalize } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliBuildDir, cliBuildDir } from "./helpers/cli-build.js";

const run = promisify(execFile);

let dir: string;
let server: Server;
let base: string;

const sh = (cwd: string, ...args: string[]) =>
  run("git", args, {
    cwd,
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@t",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@t",
      GIT_AUTHOR_DATE: "2024-01-02T03:04:05Z",
      GIT_COMMITTER_DATE: "2024-01-02T03:04:05Z",
    },
  });

/** Commits the work tree and publishes it to the bare repository the server serves. */
async function publish(message: string): Promise<void> {
  const work = join(dir, "work");
  await sh(work, "add", "-A");
  await sh(work, "commit", "-q", "-m", message);
  await sh(work, "push", "-q", join(dir, "served", "repo.git"), "main");
  await sh(join(dir, "served", "repo.git"), "update-server-info");
}

let builds: CliBuildDir;

async function build(dockerfile: string, ...extra: string[]) {
  const { out, events } = await builds.build(dockerfile, ...extra);
  const statuses = events
    .filter((e) => e.type === "vertex" && String(e.name).includes("ADD") && e.status !== "running")
    .map((e) => e.status);
  return { out, statuses };
}

beforeAll(async () => {
  builds = await cliBuildDir("addgit");
  dir = builds.dir;
  const work = join(dir, "work");
  await mkdir(join(work, "sub"), { recursive: true });
  await sh(work, "init", "-q", "-b", "main");
  await writeFile(join(work, "a.txt"), "version 1\n");
  await writeFile(join(work, "sub", "b.txt"), "in sub\n");
  await writeFile(join(work, "run.sh"), "#!/bin/sh\necho hi\n", { mode: 0o755 });
  await sh(work, "commit", "--allow-empty", "-q", "-m", "empty start");
  await run("git", ["init", "-q", "--bare", join(dir, "served", "repo.git")]);
  await publish("v1");
  const root = join(dir, "served");
  server = createServer((req, res) => {
    const path = normalize(join(root, decodeURIComponent(new URL(req.url!, "http://x").pathname)));
    if (!path.startsWith(root)) return void res.writeHead(403).end();
    stat(path).then(
      (info) => (info.isFile() ? createReadStream(path).pipe(res) : res.writeHead(404).end()),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/repo.git`;
}, 60_000);

afterAll(async () => {
  server?.close();
  await builds?.dispose();
});

describe("ADD <git repository>", () => {
  it("copies the checkout (or #ref:subdir) like a directory's contents, without .git, at the commit's time", async () => {
    const { out } = await build(`FROM scratch\nADD ${base}#main /src/\nADD ${base}#main:sub /only-sub/\n`);
    expect(await readFile(join(out, "src", "a.txt"), "utf8")).toBe("version 1\n");
    expect(await readFile(join(out, "src", "sub", "b.txt"), "utf8")).toBe("in sub\n");
    expect((await stat(join(out, "src", "run.sh"))).mode & 0o777).toBe(0o755);
    expect(await readdir(join(out, "src"))).not.toContain(".git");
    expect(await readdir(join(out, "only-sub"))).toEqual(["b.txt"]);
    expect((await stat(join(out, "src", "a.txt"))).mtime.toISOString()).toBe("2024-01-02T03:04:05.000Z");
  });

  it("is cached by commit: unchanged → CACHED; the branch moves → the step runs and sees the new content", async () => {
    const dockerfile = `FROM scratch\nADD ${base}#main /src/\n`;
    await build(dockerfile);
    expect((await build(dockerfile)).statuses).toEqual(["cached"]);
    await writeFile(join(dir, "work", "a.txt"), "version 2\n");
    await publish("v2");
    const moved = await build(dockerfile);
    expect(moved.statuses).toEqual(["done"]);
    expect(await readFile(join(moved.out, "src", "a.txt"), "utf8")).toBe("version 2\n");
  });

  it("keeps .git with --keep-git-dir", async () => {
    const { out } = await build(`FROM scratch\nADD --keep-git-dir ${base}#main /src/\n`);
    expect(await readdir(join(out, "src"))).toContain(".git");
  });

  it("a ref that does not exist is a clear error", async () => {
    const failed = await build(`FROM scratch\nADD ${base}#no-such-branch /src/\n`).catch(
      (error: { code?: number; stderr?: string }) => error,
    );
    expect(failed).toMatchObject({ code: 1 });
    expect((failed as { stderr: string }).stderr).toMatch(/no ref "no-such-branch"|no-such-branch/);
  });
});

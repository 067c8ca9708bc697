/**
 * `ADD <git repository>[#ref[:subdir]]`: the commit a ref names (the cache key, so a moved branch is a new
 * key, as in BuildKit) and a shallow checkout of it in a temp directory, without `.git` unless
 * `--keep-git-dir`. Uses the host's `git` (https, ssh with the host's keys, dumb HTTP); never prompts.
 * Checked-out files get the commit's time as mtime, so the layer does not depend on when it was cloned.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { CopyError } from "./errors.js";

const run = promisify(execFile);
const GIT_ENV = { ...process.env, GIT_TERMINAL_PROMPT: "0", GIT_ASKPASS: "true", LC_ALL: "C" };
const COMMIT = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

export interface GitSource {
  url: string;
  ref?: string;
  subdir?: string;
}

async function git(args: string[], what: string, url: string, cwd?: string): Promise<string> {
  try {
    const { stdout } = await run("git", args, { env: GIT_ENV, cwd, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? (error as Error).message).trim();
    throw new CopyError("COPY_FETCH", `ADD ${url}: ${what} failed: ${stderr.split("\n").at(-1)}`, {
      path: url,
      hint: "check the repository URL and ref (#branch, #tag or #commit) and that this machine can reach it",
    });
  }
}

/** Refs already resolved by this process (one build): `url#ref` → commit. */
const resolved = new Map<string, Promise<string>>();

/**
 * The commit `source.ref` (default HEAD) names in the remote repository. Asked once per build: the cache
 * key and the checkout then name the same commit even if the branch moves meanwhile.
 */
export function resolveGitCommit(source: GitSource): Promise<string> {
  if (source.ref !== undefined && COMMIT.test(source.ref)) return Promise.resolve(source.ref);
  const key = `${source.url}#${source.ref ?? ""}`;
  let commit = resolved.get(key);
  if (commit === undefined) {
    commit = lsRemote(source);
    resolved.set(key, commit);
    commit.catch(() => resolved.delete(key));
  }
  return commit;
}

async function lsRemote(source: GitSource): Promise<string> {
  const ref = source.ref ?? "HEAD";
  const out = await git(["ls-remote", source.url, ref], "ls-remote", source.url);
  const lines = out.split("\n").filter((line) => line.trim() !== "");
  // An annotated tag lists the tag object and its peeled commit (`^{}`): the commit is what is checked out.
  const pick =
    lines.find((line) => line.endsWith(`refs/tags/${ref}^{}`)) ??
    lines.find((line) => /\trefs\/heads\//.test(line) || line.endsWith("\tHEAD")) ??
    lines[0];
  const commit = pick?.split("\t")[0];
  if (commit === undefined || !COMMIT.test(commit)) {
    throw new CopyError("COPY_FETCH", `ADD ${source.url}: no ref ${JSON.stringify(ref)}`, {
      path: source.url,
      hint: "name an existing branch, tag or commit after #",
    });
  }
  return commit;
}

/** A checkout of `source` at `commit`; `dir` is the repository root, or `subdir` inside it. */
export async function checkoutGit(
  source: GitSource,
  commit: string,
  options: { keepGitDir?: boolean; tempDir?: string } = {},
): Promise<{ dir: string; release(): Promise<void> }> {
  const root = await mkdtemp(join(options.tempDir ?? tmpdir(), "gantry-git-"));
  const release = () => rm(root, { recursive: true, force: true });
  try {
    const repo = join(root, "repo");
    const pinned = source.ref !== undefined && COMMIT.test(source.ref);
    if (pinned) {
      // A commit may not be fetchable by itself (dumb HTTP, old servers): clone, then check it out.
      await git(["clone", "--quiet", "--no-checkout", source.url, repo], "clone", source.url);
    } else {
      const branch = source.ref === undefined ? [] : ["--branch", source.ref];
      const clone = (depth: string[]) =>
        git(
          ["clone", "--quiet", "--no-checkout", ...depth, ...branch, source.url, repo],
          "clone",
          source.url,
        );
      try {
        await clone(["--depth", "1"]);
      } catch {
        // Dumb HTTP (and some servers) cannot clone shallow: take the whole history instead.
        await rm(repo, { recursive: true, force: true });
        await clone([]);
      }
    }
    await git(
      ["-c", "advice.detachedHead=false", "checkout", "--quiet", commit],
      "checkout",
      source.url,
      repo,
    );
    const time = Number((await git(["log", "-1", "--format=%ct", commit], "log", source.url, repo)).trim());
    if (!options.keepGitDir) await rm(join(repo, ".git"), { recursive: true, force: true });
    await setTimes(repo, new Date(time * 1000));
    const dir = source.subdir === undefined ? repo : join(repo, source.subdir);
    return { dir, release };
  } catch (error) {
    await release();
    throw error;
  }
}

/** mtime (and atime) of everything under `dir`, symlinks excepted, set to `time`. */
async function setTimes(dir: string, time: Date): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await setTimes(path, time);
    if (!entry.isSymbolicLink()) await utimes(path, time, time);
  }
  await utimes(dir, time, time);
}

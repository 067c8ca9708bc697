/**
 * Building through bin/gantry in tests (`npm test` builds first): a work directory with a context and a
 * data root (busybox imported when asked), and `build(dockerfile)` that writes the Dockerfile, builds with
 * `--output type=local` and returns the output directory and the JSON progress events.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { importBusybox } from "./busybox-image.js";

const run = promisify(execFile);
export const GANTRY = resolve(import.meta.dirname, "..", "..", "bin", "gantry");

export interface CliBuildDir {
  dir: string;
  root: string;
  context: string;
  /** Builds `dockerfile` in the context; rejects (with `code`, `stderr`) when the build fails. */
  build(
    dockerfile: string,
    ...extra: string[]
  ): Promise<{ out: string; events: Array<Record<string, unknown>> }>;
  dispose(): Promise<void>;
}

export async function cliBuildDir(prefix: string, options: { busybox?: boolean } = {}): Promise<CliBuildDir> {
  const dir = await mkdtemp(join(tmpdir(), `gantry-${prefix}-`));
  const root = join(dir, "root");
  const context = join(dir, "ctx");
  await mkdir(context);
  if (options.busybox) await importBusybox(root);
  return {
    dir,
    root,
    context,
    async build(dockerfile, ...extra) {
      await writeFile(join(context, "Dockerfile"), dockerfile);
      const out = join(dir, `out-${Math.random().toString(36).slice(2)}`);
      const args = ["--root", root, "build", context, "--progress", "json"];
      const { stdout } = await run(
        process.execPath,
        [GANTRY, ...args, "--output", `type=local,dest=${out}`, ...extra],
        { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
      );
      const events = stdout
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      return { out, events };
    },
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}

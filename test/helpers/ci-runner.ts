/**
 * A CI runner for the cache tests: its own data root (with the busybox base imported, deterministic
 * digest), and `build()` running bin/gantry with `--progress json` (needs `npm run build` first), parsed
 * into progress events, the image digest and each step's final status.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import type { ProgressEvent, VertexEvent } from "../../src/executor/progress.js";
import { importBusybox, REPO_ROOT } from "./busybox-image.js";

const run = promisify(execFile);
export const GANTRY = join(REPO_ROOT, "bin", "gantry");

export interface BuildRun {
  code: number;
  stdout: string;
  stderr: string;
  events: ProgressEvent[];
  digest?: string;
}

export class CiRunner {
  private count = 0;
  constructor(
    readonly name: string,
    readonly root: string,
  ) {}

  static async create(name: string, root: string): Promise<CiRunner> {
    await importBusybox(root);
    return new CiRunner(name, root);
  }

  async gantry(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await run(process.execPath, [GANTRY, "--root", this.root, ...args], {
        timeout: 180_000,
        maxBuffer: 64 * 1024 * 1024,
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string };
      return {
        code: typeof e.code === "number" ? e.code : 1,
        stdout: e.stdout ?? "",
        stderr: e.stderr ?? "",
      };
    }
  }

  async build(context: string, ...args: string[]): Promise<BuildRun> {
    const meta = join(this.root, `..`, `${this.name}-meta-${this.count++}.json`);
    const result = await this.gantry([
      "build",
      context,
      "--progress",
      "json",
      "--metadata-file",
      meta,
      ...args,
    ]);
    const events = result.stdout
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as ProgressEvent);
    let digest: string | undefined;
    try {
      digest = JSON.parse(await readFile(meta, "utf8"))["containerimage.digest"];
    } catch {
      digest = undefined;
    }
    return { ...result, events, digest };
  }
}

/** The last event of each step vertex (ids like `1.3`), by name. */
export function finalSteps(events: ProgressEvent[]): Map<string, VertexEvent> {
  const steps = new Map<string, VertexEvent>();
  for (const event of events) {
    if (event.type === "vertex" && /^\d+\.\d+$/.test(event.id)) steps.set(event.name, event);
  }
  return steps;
}

/** `[step name, status]` pairs in order of completion. */
export function statuses(events: ProgressEvent[]): Array<[string, string]> {
  return [...finalSteps(events).values()].map((s) => [s.name, s.status]);
}

/** Steps not served from the cache. */
export function rebuilt(events: ProgressEvent[]): string[] {
  return [...finalSteps(events).values()].filter((s) => s.status !== "cached").map((s) => s.name);
}

/** The miss reasons reported while a step was running. */
export function missesOf(events: ProgressEvent[], stepName: string): VertexEvent["miss"] {
  const step = finalSteps(events).get(stepName);
  if (step === undefined) return undefined;
  return events.find((e): e is VertexEvent => e.type === "vertex" && e.id === step.id && e.miss !== undefined)
    ?.miss;
}

export function warnings(events: ProgressEvent[]): string[] {
  return events.flatMap((e) => (e.type === "warning" ? [e.message] : []));
}

/**
 * Running the benchmark's commands: each in its own process group with a hard timeout (the whole group is
 * killed by pid when it expires), wall time measured around spawn → exit, and the tail of its output kept
 * so a failure can say why. Also the mount clean-up for temp dirs the peers mounted things under.
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

export interface CommandResult {
  ok: boolean;
  seconds: number;
  code: number | null;
  /** Last lines of stdout + stderr, interleaved as they came. */
  tail: string;
  stdout: string;
}

export interface CommandOptions {
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

const TAIL_BYTES = 4000;

/** Runs argv to completion (or timeout), timing it; never throws for a failing command. */
export function runCommand(argv: string[], options: CommandOptions = {}): Promise<CommandResult> {
  const timeoutMs = options.timeoutMs ?? 300_000;
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // own process group, so a timeout kills everything it started
    });
    let tail = "";
    let stdout = "";
    const keep = (chunk: Buffer, isStdout: boolean) => {
      const text = chunk.toString("utf8");
      if (isStdout && stdout.length < 1 << 20) stdout += text;
      tail = (tail + text).slice(-TAIL_BYTES);
    };
    child.stdout!.on("data", (c: Buffer) => keep(c, true));
    child.stderr!.on("data", (c: Buffer) => keep(c, false));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    }, timeoutMs);
    const finish = (code: number | null, error?: Error) => {
      clearTimeout(timer);
      const seconds = (performance.now() - started) / 1000;
      if (error) tail += `\n${error.message}`;
      if (timedOut) tail += `\n(timed out after ${timeoutMs / 1000} s, killed)`;
      resolve({ ok: code === 0 && !timedOut && !error, seconds, code, tail, stdout });
    };
    child.once("error", (e) => finish(null, e));
    child.once("close", (code) => finish(code));
  });
}

/** Runs argv and throws with its output tail when it fails (set-up steps, not measurements). */
export async function mustRun(argv: string[], options: CommandOptions = {}): Promise<CommandResult> {
  const r = await runCommand(argv, options);
  if (!r.ok) throw new Error(`${argv.join(" ")} failed (exit ${r.code}):\n${lastLines(r.tail, 15)}`);
  return r;
}

export function lastLines(text: string, n: number): string {
  return text.trimEnd().split("\n").slice(-n).join("\n");
}

/** Unmounts (lazily, deepest first) every mount point under dir, so it can be removed. */
export function unmountUnder(dir: string): void {
  const prefix = dir.endsWith("/") ? dir : `${dir}/`;
  const points = readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[1]?.replace(/\\040/g, " ") ?? "")
    .filter((p) => p === dir || p.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
  for (const p of points) spawnSync("umount", ["-l", p], { stdio: "ignore" });
}

export function commandExists(name: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" }).status === 0;
}

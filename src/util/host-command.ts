/**
 * Short host commands (mount, umount, getfattr, setfattr, mknod) run through one long-lived `/bin/sh`.
 * Node starts a child by forking the whole Node process, which costs ~10 ms of blocked event loop here
 * (a cold multi-stage build spent ~300 ms in spawn); the shell forks itself instead, in well under a
 * millisecond. Requests run one at a time, in order; each writes its stdout/stderr to files in a private
 * temp directory and reports its exit status on the shell's stdout. If the shell dies, pending requests
 * fail and the next request starts a new one. The shell never keeps the process alive while idle. The
 * temp directory is removed at exit, and those of processes that died without exiting by the next shell.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { processAlive } from "./process-alive.js";

export interface HostCommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A failed command (non-zero exit), shaped like execFile's error: `code`, `stdout`, `stderr`. */
export class HostCommandError extends Error {
  constructor(
    readonly argv: string[],
    readonly code: number,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(`${argv.join(" ")} exited with ${code}: ${stderr.trim().split("\n")[0] ?? ""}`);
  }
}

interface Pending {
  id: number;
  argv: string[];
  resolve: (result: HostCommandResult) => void;
  reject: (error: Error) => void;
}

/** Single-quotes `arg` for sh (any string without NUL). */
export function shellQuote(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

class HostShell {
  private child: ChildProcess | undefined;
  private dir = "";
  private nextId = 0;
  private buffered = "";
  private readonly pending = new Map<number, Pending>();

  run(argv: string[], cwd?: string): Promise<HostCommandResult> {
    const shell = this.ensure();
    const id = this.nextId++;
    const out = join(this.dir, `${id}.out`);
    const err = join(this.dir, `${id}.err`);
    const command = argv.map(shellQuote).join(" ");
    const cd = cwd === undefined ? "" : `cd ${shellQuote(cwd)} && `;
    const line = `(${cd}exec ${command}) </dev/null >${shellQuote(out)} 2>${shellQuote(err)}; echo "${id} $?"\n`;
    return new Promise<HostCommandResult>((resolve, reject) => {
      this.pending.set(id, { id, argv, resolve, reject });
      this.setRef(true);
      (shell.stdin as Writable).write(line);
    });
  }

  private ensure(): ChildProcess {
    if (this.child !== undefined) return this.child;
    sweepStaleDirs();
    this.dir = mkdtempSync(join(tmpdir(), `gantry-sh-${process.pid}-`));
    const child = spawn("/bin/sh", [], { stdio: ["pipe", "pipe", "inherit"] });
    this.child = child;
    const dir = this.dir;
    (child.stdout as Readable).setEncoding("utf8");
    (child.stdout as Readable).on("data", (chunk: string) => this.onOutput(chunk));
    const fail = (error: Error) => {
      if (this.child === child) this.child = undefined;
      for (const request of this.pending.values()) request.reject(error);
      this.pending.clear();
      rmSync(dir, { recursive: true, force: true });
    };
    child.on("error", fail);
    child.on("exit", (code, signal) => fail(new Error(`host shell exited (${signal ?? code})`)));
    (child.stdin as Writable).on("error", () => {});
    process.once("exit", () => {
      child.kill();
      rmSync(dir, { recursive: true, force: true });
    });
    this.setRef(false);
    return child;
  }

  private onOutput(chunk: string): void {
    this.buffered += chunk;
    let newline = this.buffered.indexOf("\n");
    while (newline >= 0) {
      const [idText, codeText] = this.buffered.slice(0, newline).split(" ");
      this.buffered = this.buffered.slice(newline + 1);
      newline = this.buffered.indexOf("\n");
      const request = this.pending.get(Number(idText));
      if (request === undefined) continue;
      this.pending.delete(request.id);
      const read = (suffix: string) => {
        const path = join(this.dir, `${request.id}.${suffix}`);
        try {
          return readFileSync(path, "utf8");
        } catch {
          return "";
        } finally {
          rmSync(path, { force: true });
        }
      };
      const result = { code: Number(codeText), stdout: read("out"), stderr: read("err") };
      request.resolve(result);
    }
    if (this.pending.size === 0) this.setRef(false);
  }

  /** Keeps the event loop alive only while requests are pending. */
  private setRef(on: boolean): void {
    const child = this.child;
    if (child === undefined) return;
    for (const handle of [child, child.stdin, child.stdout] as Array<{ ref?(): void; unref?(): void }>) {
      if (on) handle.ref?.();
      else handle.unref?.();
    }
  }
}

/**
 * Removes the output directories of host shells whose process is gone: a process killed by a signal never
 * ran its exit handler.
 */
function sweepStaleDirs(): void {
  let names: string[];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(/^gantry-sh-(\d+)-/.exec(name)?.[1] ?? Number.NaN);
    if (Number.isNaN(pid) || pid === process.pid || processAlive(pid)) continue;
    rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

const shell = new HostShell();

/** Runs `argv` (looked up on PATH) and resolves with its exit code and output, whatever the code. */
export function hostCommand(argv: string[], options: { cwd?: string } = {}): Promise<HostCommandResult> {
  return shell.run(argv, options.cwd);
}

/** Like `hostCommand`, but a non-zero exit rejects with a HostCommandError (as execFile does). */
export async function hostCommandOk(
  argv: string[],
  options: { cwd?: string } = {},
): Promise<HostCommandResult> {
  const result = await hostCommand(argv, options);
  if (result.code !== 0) throw new HostCommandError(argv, result.code, result.stdout, result.stderr);
  return result;
}

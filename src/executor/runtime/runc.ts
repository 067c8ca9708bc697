/**
 * The OCI runtime for RUN: writes a bundle (config.json from oci-spec.ts) under
 * `<root>/executor/bundles/<id>`, runs `runc run --bundle DIR ID` (or crun) non-interactively with stdin
 * from /dev/null and stdout/stderr piped to `onOutput`, keeps the output's last lines, and returns the
 * container's exit code. An AbortSignal kills the container (`kill ID KILL`) and deletes it. Mount-point
 * stubs the runtime creates in the rootfs are removed afterwards; the working directory is created first.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, constants as fsConstants } from "node:fs";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { hostCommandOk } from "../../util/host-command.js";
import { processAlive } from "../../util/process-alive.js";
import type { RunRequest, RunResult, Runtime } from "../types.js";
import { RuntimeError } from "./errors.js";
import { buildSpec, HOST_NETWORK_FILES } from "./oci-spec.js";
import { OutputTail } from "./output-tail.js";
import { ensureWorkdir, recordStubs, removeStubs } from "./rootfs-prep.js";
import { resolveUser } from "./user.js";

const run = (command: string, args: string[]) => hostCommandOk([command, ...args]);

/** The executable `name` on PATH, if any (a file lookup: spawning `runc --version` cost ~10 ms). */
export function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(delimiter)) {
    if (dir === "") continue;
    try {
      accessSync(join(dir, name), fsConstants.X_OK);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

export class RuncRuntime implements Runtime {
  readonly name: "runc" | "crun";
  private readonly bundlesDir: string;
  private readonly stateDir: string;

  private constructor(root: string, binary: "runc" | "crun") {
    this.name = binary;
    this.bundlesDir = join(root, "executor", "bundles");
    this.stateDir = join(root, "executor", binary);
  }

  /** Opens the runtime; fails with RUNTIME_UNAVAILABLE when the binary does not run. */
  static async open(root: string, binary: "runc" | "crun" = "runc"): Promise<RuncRuntime> {
    if (findOnPath(binary) === undefined) {
      throw new RuntimeError("RUNTIME_UNAVAILABLE", `${binary} is not installed`, {
        hint: "apt-get install runc (scripts/install-system-deps.sh), or --isolation chroot",
      });
    }
    const runtime = new RuncRuntime(root, binary);
    await mkdir(runtime.bundlesDir, { recursive: true });
    await mkdir(runtime.stateDir, { recursive: true });
    await runtime.cleanStale();
    return runtime;
  }

  async run(request: RunRequest): Promise<RunResult> {
    if (request.signal?.aborted) throw aborted(request.signal);
    const user = await resolveUser(request.rootfs, request.user);
    await ensureWorkdir(request.rootfs, request.cwd, user.uid, user.gid);
    const targets = [
      "/proc",
      "/dev",
      "/sys",
      ...(request.network === "none" ? [] : HOST_NETWORK_FILES),
      ...request.mounts.map((m) => m.target),
    ];
    const stubs = await recordStubs(request.rootfs, targets);
    const id = `gantry-${process.pid}-${randomBytes(6).toString("hex")}`;
    const bundle = join(this.bundlesDir, id);
    await mkdir(bundle);
    // `runc run` deletes the container when it exits by itself; only a failed or cancelled run may leave
    // one behind.
    let exited = false;
    try {
      await writeFile(join(bundle, "config.json"), JSON.stringify(buildSpec(request, user)));
      const result = await this.runContainer(id, bundle, request);
      exited = true;
      return result;
    } finally {
      if (!exited) await this.delete(id);
      await rm(bundle, { recursive: true, force: true });
      await removeStubs(stubs);
    }
  }

  private runContainer(id: string, bundle: string, request: RunRequest): Promise<RunResult> {
    const tail = new OutputTail();
    const child = spawn(this.name, ["--root", this.stateDir, "run", "--bundle", bundle, id], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    request.onStarted?.();
    const forward = (stream: "stdout" | "stderr") => (chunk: Buffer) => {
      tail.push(chunk);
      request.onOutput?.(chunk, stream);
    };
    child.stdout.on("data", forward("stdout"));
    child.stderr.on("data", forward("stderr"));
    let killing: Promise<void> | undefined;
    const onAbort = () => {
      killing ??= this.kill(id, () => child.exitCode === null && child.signalCode === null);
    };
    request.signal?.addEventListener("abort", onAbort, { once: true });
    return new Promise<RunResult>((resolve, reject) => {
      child.on("error", (error) =>
        reject(
          new RuntimeError("RUNTIME_UNAVAILABLE", `cannot start ${this.name}: ${error.message}`, {
            cause: error,
          }),
        ),
      );
      child.on("close", async (code, signal) => {
        request.signal?.removeEventListener("abort", onAbort);
        await killing;
        if (request.signal?.aborted) reject(aborted(request.signal));
        else resolve({ exitCode: code ?? 128 + signalNumber(signal), tail: tail.tail });
      });
    });
  }

  /** Sends SIGKILL until the container is gone (it may not exist yet right after `run` started). */
  private async kill(id: string, running: () => boolean): Promise<void> {
    for (let attempt = 0; attempt < 100 && running(); attempt++) {
      try {
        await run(this.name, ["--root", this.stateDir, "kill", id, "KILL"]);
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  private async delete(id: string): Promise<void> {
    await run(this.name, ["--root", this.stateDir, "delete", "-f", id]).catch(() => {});
  }

  /** Deletes containers and bundles left by processes that died (best effort). */
  private async cleanStale(): Promise<void> {
    for (const name of await readdir(this.bundlesDir).catch(() => [] as string[])) {
      const pid = Number(/^gantry-(\d+)-/.exec(name)?.[1] ?? Number.NaN);
      if (!Number.isNaN(pid) && processAlive(pid)) continue;
      await this.delete(name);
      await rm(join(this.bundlesDir, name), { recursive: true, force: true }).catch(() => {});
    }
  }
}

export function aborted(signal: AbortSignal): RuntimeError {
  return new RuntimeError("RUN_ABORTED", "the run was cancelled", { cause: signal.reason });
}

function signalNumber(signal: NodeJS.Signals | null): number {
  const numbers: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
  return signal === null ? 0 : (numbers[signal] ?? 0);
}

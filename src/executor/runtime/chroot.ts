/**
 * The `--isolation chroot` fallback for hosts where runc cannot run: `unshare --pid --fork --mount --uts
 * --ipc [--net]` runs a small host shell script that makes its mounts private, mounts /proc, /dev (bound
 * from the host), /dev/shm, the host's resolv.conf/hosts and the step's mounts inside the rootfs, and
 * `chroot --userspec`s into it. Weaker than runc (no capability drop, host /dev), so it is opt-in.
 */
import { execFile, spawn } from "node:child_process";
import { mkdir, stat, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { resolveInRoot } from "../../util/root-path.js";
import type { RunRequest, RunResult, Runtime } from "../types.js";
import { RuntimeError } from "./errors.js";
import { containerEnv, HOST_NETWORK_FILES } from "./oci-spec.js";
import { OutputTail } from "./output-tail.js";
import { ensureWorkdir, recordStubs, removeStubs } from "./rootfs-prep.js";
import { aborted } from "./runc.js";
import { resolveUser } from "./user.js";

const run = promisify(execFile);

/** Runs in the new namespaces; $ROOTFS and the mount list come from the environment, the command from $@. */
const SCRIPT = `set -e
mount --make-rprivate /
mount -t proc proc "$ROOTFS/proc"
mount --rbind /dev "$ROOTFS/dev"
printf '%s' "$GANTRY_MOUNTS" | while IFS='\t' read -r kind src dst ro; do
  [ -n "$kind" ] || continue
  if [ "$kind" = tmpfs ]; then mount -t tmpfs -o "$src" tmpfs "$ROOTFS$dst"
  else mount --bind "$src" "$ROOTFS$dst"; [ "$ro" = ro ] && mount -o remount,bind,ro "$ROOTFS$dst"; fi
done
[ -n "$GANTRY_LO" ] && ip link set lo up 2>/dev/null || true
exec "$@"
`;

export class ChrootRuntime implements Runtime {
  readonly name = "chroot" as const;

  static async open(_root: string): Promise<ChrootRuntime> {
    try {
      await run("unshare", ["--version"]);
      await run("chroot", ["--version"]);
    } catch (error) {
      throw new RuntimeError("RUNTIME_UNAVAILABLE", "unshare and chroot (util-linux, coreutils) are needed", {
        cause: error,
      });
    }
    return new ChrootRuntime();
  }

  async run(request: RunRequest): Promise<RunResult> {
    if (request.signal?.aborted) throw aborted(request.signal);
    const user = await resolveUser(request.rootfs, request.user);
    await ensureWorkdir(request.rootfs, request.cwd, user.uid, user.gid);
    const mounts: string[][] = [["tmpfs", "mode=1777,nosuid,nodev", "/dev/shm", "rw"]];
    if (request.network !== "none")
      for (const file of HOST_NETWORK_FILES) mounts.push(["bind", file, file, "ro"]);
    for (const m of request.mounts) {
      if (m.type === "bind") mounts.push(["bind", m.source ?? "", m.target, m.readonly ? "ro" : "rw"]);
      else {
        const opts = [`mode=${(m.mode ?? 0o1777).toString(8)}`, ...(m.size ? [`size=${m.size}`] : [])];
        mounts.push(["tmpfs", opts.join(","), m.target, "rw"]);
      }
    }
    const stubs = await recordStubs(request.rootfs, ["/proc", "/dev", ...mounts.map((m) => m[2]!)]);
    await createMountpoints(request.rootfs, mounts);
    const env = containerEnv(request.env);
    if (!env.some((e) => e.startsWith("HOME="))) env.push(`HOME=${user.home}`);
    const unshareArgs = ["--pid", "--fork", "--mount", "--uts", "--ipc", "--kill-child"];
    if (request.network === "none") unshareArgs.push("--net");
    const groups = [user.gid, ...user.additionalGids].join(",");
    const args = [
      ...unshareArgs,
      "/bin/sh",
      "-c",
      SCRIPT,
      "gantry-chroot",
      "env",
      "-i",
      ...env,
      "chroot",
      `--userspec=${user.uid}:${user.gid}`,
      `--groups=${groups}`,
      request.rootfs,
      "/bin/sh",
      "-c",
      'cd "$0" && exec "$@"',
      request.cwd,
      ...request.args,
    ];
    const tail = new OutputTail();
    try {
      const child = spawn("unshare", args, {
        stdio: ["ignore", "pipe", "pipe"],
        env: {
          PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
          ROOTFS: request.rootfs,
          GANTRY_MOUNTS: mounts.map((m) => m.join("\t")).join("\n"),
          GANTRY_LO: request.network === "none" ? "1" : "",
        },
      });
      request.onStarted?.();
      const forward = (stream: "stdout" | "stderr") => (chunk: Buffer) => {
        tail.push(chunk);
        request.onOutput?.(chunk, stream);
      };
      child.stdout.on("data", forward("stdout"));
      child.stderr.on("data", forward("stderr"));
      const onAbort = () => child.kill("SIGKILL");
      request.signal?.addEventListener("abort", onAbort, { once: true });
      const code = await new Promise<number>((resolve, reject) => {
        child.on("error", reject);
        child.on("close", (exit, signal) => resolve(exit ?? (signal === "SIGKILL" ? 137 : 128)));
      });
      request.signal?.removeEventListener("abort", onAbort);
      if (request.signal?.aborted) throw aborted(request.signal);
      return { exitCode: code, tail: tail.tail };
    } finally {
      await removeStubs(stubs);
    }
  }
}

async function createMountpoints(rootfs: string, mounts: string[][]): Promise<void> {
  for (const [kind, source, target] of mounts) {
    const { abs } = await resolveInRoot(rootfs, target!, true);
    const isFile =
      kind === "bind" &&
      (await stat(source!)
        .then((s) => !s.isDirectory())
        .catch(() => false));
    if (isFile) {
      await mkdir(abs.slice(0, abs.lastIndexOf("/")), { recursive: true });
      await writeFile(abs, "", { flag: "a" });
    } else await mkdir(abs, { recursive: true });
  }
}

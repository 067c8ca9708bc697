/**
 * The OCI runtime-spec config.json of a RUN: process (argv, env, cwd, resolved user, capabilities), root,
 * hostname, mounts (/proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, /sys read-only, the host's resolv.conf
 * and hosts for the host network, the step's own mounts) and namespaces (pid, ipc, uts, mount, plus network
 * for `--network=none`; runc brings the new namespace's loopback up). `security=insecure` grants every
 * capability this process may grant and drops masked and read-only paths and the seccomp filter
 * (seccomp.ts: the system calls Docker's default profile refuses fail with EPERM).
 */
import { readFileSync } from "node:fs";
import type { RunRequest } from "../types.js";
import { seccompProfile } from "./seccomp.js";
import type { ResolvedUser } from "./user.js";

/** Docker's default capability set. */
export const DEFAULT_CAPABILITIES = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

/** Every capability by number (linux/capability.h), cut at the kernel's cap_last_cap. */
const ALL_CAPABILITIES = [
  "CHOWN",
  "DAC_OVERRIDE",
  "DAC_READ_SEARCH",
  "FOWNER",
  "FSETID",
  "KILL",
  "SETGID",
  "SETUID",
  "SETPCAP",
  "LINUX_IMMUTABLE",
  "NET_BIND_SERVICE",
  "NET_BROADCAST",
  "NET_ADMIN",
  "NET_RAW",
  "IPC_LOCK",
  "IPC_OWNER",
  "SYS_MODULE",
  "SYS_RAWIO",
  "SYS_CHROOT",
  "SYS_PTRACE",
  "SYS_PACCT",
  "SYS_ADMIN",
  "SYS_BOOT",
  "SYS_NICE",
  "SYS_RESOURCE",
  "SYS_TIME",
  "SYS_TTY_CONFIG",
  "MKNOD",
  "LEASE",
  "AUDIT_WRITE",
  "AUDIT_CONTROL",
  "SETFCAP",
  "MAC_OVERRIDE",
  "MAC_ADMIN",
  "SYSLOG",
  "WAKE_ALARM",
  "BLOCK_SUSPEND",
  "AUDIT_READ",
  "PERFMON",
  "BPF",
  "CHECKPOINT_RESTORE",
].map((name) => `CAP_${name}`);

export function allCapabilities(): string[] {
  // Every capability this process may hand on: its bounding set (a sandbox may lack some, e.g.
  // CAP_SYS_RESOURCE, and runc then fails to apply them), else what the kernel knows.
  try {
    const status = readFileSync("/proc/self/status", "utf8");
    const bounding = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status)?.[1];
    if (bounding !== undefined) {
      const mask = BigInt(`0x${bounding}`);
      return ALL_CAPABILITIES.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
    }
  } catch {
    // no procfs
  }
  try {
    const last = Number(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8").trim());
    return ALL_CAPABILITIES.slice(0, last + 1);
  } catch {
    return ALL_CAPABILITIES;
  }
}

const MASKED_PATHS = [
  "/proc/acpi",
  "/proc/asound",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
  "/sys/devices/virtual/powercap",
];
const READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The environment as the container sees it: PATH added when missing (as BuildKit does). */
export function containerEnv(env: string[]): string[] {
  return env.some((item) => item.startsWith("PATH=")) ? env : [...env, `PATH=${DEFAULT_PATH}`];
}

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

/** Container paths of the host files bound for the host network. */
export const HOST_NETWORK_FILES = ["/etc/resolv.conf", "/etc/hosts"];

export function buildMounts(request: RunRequest): OciMount[] {
  const insecure = request.security === "insecure";
  const mounts: OciMount[] = [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    {
      destination: "/dev",
      type: "tmpfs",
      source: "tmpfs",
      options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
    },
    {
      destination: "/dev/pts",
      type: "devpts",
      source: "devpts",
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
    },
    {
      destination: "/dev/shm",
      type: "tmpfs",
      source: "shm",
      options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
    },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    {
      destination: "/sys",
      type: "sysfs",
      source: "sysfs",
      options: ["nosuid", "noexec", "nodev", insecure ? "rw" : "ro"],
    },
  ];
  if (request.network !== "none") {
    for (const file of HOST_NETWORK_FILES) {
      mounts.push({ destination: file, type: "bind", source: file, options: ["rbind", "ro"] });
    }
  }
  for (const mount of request.mounts) {
    if (mount.type === "bind") {
      mounts.push({
        destination: mount.target,
        type: "bind",
        source: mount.source ?? "",
        options: ["rbind", mount.readonly ? "ro" : "rw"],
      });
    } else {
      const options = ["nosuid", "nodev"];
      if (mount.size !== undefined) options.push(`size=${mount.size}`);
      options.push(`mode=${(mount.mode ?? 0o1777).toString(8)}`);
      mounts.push({ destination: mount.target, type: "tmpfs", source: "tmpfs", options });
    }
  }
  return mounts;
}

export function buildSpec(request: RunRequest, user: ResolvedUser): Record<string, unknown> {
  const insecure = request.security === "insecure";
  const caps = insecure ? allCapabilities() : DEFAULT_CAPABILITIES;
  const namespaces = [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }];
  if (request.network === "none") namespaces.push({ type: "network" });
  const linux: Record<string, unknown> = {
    namespaces,
    resources: { devices: [{ allow: insecure, access: "rwm" }] },
  };
  if (!insecure) {
    linux.maskedPaths = MASKED_PATHS;
    linux.readonlyPaths = READONLY_PATHS;
    linux.seccomp = seccompProfile();
  }
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
      args: request.args,
      env: containerEnv(request.env),
      cwd: request.cwd,
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      noNewPrivileges: false,
    },
    root: { path: request.rootfs, readonly: false },
    hostname: request.hostname ?? "gantry",
    mounts: buildMounts(request),
    linux,
  };
}

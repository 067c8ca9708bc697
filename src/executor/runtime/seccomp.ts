/**
 * The seccomp filter for RUN steps (unless `--security=insecure`): everything is allowed except the
 * system calls Docker's default profile keeps from containers because they reach past the container —
 * loading kernel modules or a new kernel, rebooting, swap, the kernel keyring, raw I/O ports, changing the
 * host clock, BPF and perf, namespace and mount-table changes (setns, unshare of new namespaces is still
 * needed by some tools, so only setns), process-memory peeking across users (process_vm_*), handles that
 * bypass path checks (open_by_handle_at), accounting and quotas. They fail with EPERM, as under Docker.
 * A deny list rather than Docker's allow list: no ordinary build tool breaks, and the dangerous doors close.
 */

/** System calls refused inside RUN (EPERM). */
export const DENIED_SYSCALLS = [
  "acct",
  "add_key",
  "bpf",
  "clock_adjtime",
  "clock_settime",
  "create_module",
  "delete_module",
  "finit_module",
  "get_kernel_syms",
  "get_mempolicy",
  "init_module",
  "ioperm",
  "iopl",
  "kcmp",
  "kexec_file_load",
  "kexec_load",
  "keyctl",
  "lookup_dcookie",
  "mbind",
  "move_pages",
  "name_to_handle_at",
  "nfsservctl",
  "open_by_handle_at",
  "perf_event_open",
  "process_vm_readv",
  "process_vm_writev",
  "query_module",
  "quotactl",
  "reboot",
  "request_key",
  "set_mempolicy",
  "setns",
  "settimeofday",
  "stime",
  "swapoff",
  "swapon",
  "sysfs",
  "_sysctl",
  "umount",
  "umount2",
  "uselib",
  "userfaultfd",
  "ustat",
  "vm86",
  "vm86old",
];

/** The OCI `linux.seccomp` section. */
export function seccompProfile(): Record<string, unknown> {
  return {
    defaultAction: "SCMP_ACT_ALLOW",
    architectures: [
      "SCMP_ARCH_X86_64",
      "SCMP_ARCH_X86",
      "SCMP_ARCH_X32",
      "SCMP_ARCH_AARCH64",
      "SCMP_ARCH_ARM",
    ],
    syscalls: [{ names: DENIED_SYSCALLS, action: "SCMP_ACT_ERRNO", errnoRet: 1 }],
  };
}

/**
 * RUN steps run under a seccomp filter (EPERM for the system calls Docker's default profile refuses), and
 * `--security=insecure` runs without one and with every capability this process may grant. Real runc,
 * through bin/gantry (`npm test` builds first).
 */
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allCapabilities, buildSpec } from "../src/executor/runtime/oci-spec.js";
import { DENIED_SYSCALLS } from "../src/executor/runtime/seccomp.js";
import { BUSYBOX_REF, haveBusybox, isRoot } from "./helpers/busybox-image.js";
import { type CliBuildDir, cliBuildDir } from "./helpers/cli-build.js";

let work: CliBuildDir;

beforeAll(async () => {
  work = await cliBuildDir("seccomp", { busybox: true });
}, 120_000);

afterAll(async () => {
  await work.dispose();
});

describe("the RUN sandbox", () => {
  it("the spec carries the filter unless insecure, and insecure asks only for grantable capabilities", () => {
    const request = { rootfs: "/x", args: ["true"], env: [], cwd: "/", network: "default", mounts: [] };
    const user = { uid: 0, gid: 0, additionalGids: [] } as never;
    const sandboxed = buildSpec(request as never, user) as {
      linux: { seccomp?: { syscalls: Array<{ names: string[] }> } };
    };
    expect(sandboxed.linux.seccomp?.syscalls[0]?.names).toEqual(DENIED_SYSCALLS);
    expect(DENIED_SYSCALLS).toEqual(
      expect.arrayContaining(["kexec_load", "init_module", "keyctl", "bpf", "setns"]),
    );
    const insecure = buildSpec({ ...request, security: "insecure" } as never, user) as {
      linux: { seccomp?: unknown };
    };
    expect(insecure.linux.seccomp).toBeUndefined();
    const bounding = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"))![1]!;
    const granted = BigInt(`0x${bounding}`).toString(2).replace(/0/g, "").length;
    for (const cap of allCapabilities()) expect(cap).toMatch(/^CAP_/);
    expect(allCapabilities().length).toBe(granted);
  });

  it.runIf(haveBusybox && isRoot)(
    "RUN has a seccomp filter; --security=insecure has none and still runs",
    async () => {
      const { out } = await work.build(
        `FROM ${BUSYBOX_REF}\nRUN grep '^Seccomp:' /proc/self/status > /sandboxed\nRUN --security=insecure grep '^Seccomp:' /proc/self/status > /insecure\n`,
      );
      expect((await readFile(join(out, "sandboxed"), "utf8")).trim()).toBe("Seccomp:\t2");
      expect((await readFile(join(out, "insecure"), "utf8")).trim()).toBe("Seccomp:\t0");
    },
  );
});

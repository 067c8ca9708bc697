/**
 * RUN steps run under a seccomp filter (EPERM for the system calls Docker's default profile refuses), and
 * `--security=insecure` runs without one and with every capability this process may grant. Real runc,
 * through bin/gantry (`npm test` builds first).
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allCapabilities, buildSpec } from "../src/executor/runtime/oci-spec.js";
import { DENIED_SYSCALLS } from "../src/executor/runtime/seccomp.js";
import { BUSYBOX_REF, haveBusybox, importBusybox, isRoot } from "./helpers/busybox-image.js";

const run = promisify(execFile);
const GANTRY = resolve(import.meta.dirname, "..", "bin", "gantry");
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gantry-seccomp-"));
  await mkdir(join(dir, "ctx"));
  await importBusybox(join(dir, "root"));
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the RUN sandbox", () => {
  it("the spec carries the filter unless insecure, and insecure asks only for grantable capabilities", () => {
    const request = {
      rootfs: "/x",
      args: ["true"],
      env: [],
      cwd: "/",
      network: "default",
      mounts: [],
    } as never;
    const user = { uid: 0, gid: 0, additionalGids: [] } as never;
    const sandboxed = buildSpec(request, user) as {
      linux: { seccomp?: { syscalls: Array<{ names: string[] }> } };
    };
    expect(sandboxed.linux.seccomp?.syscalls[0]?.names).toEqual(DENIED_SYSCALLS);
    expect(DENIED_SYSCALLS).toEqual(
      expect.arrayContaining(["kexec_load", "init_module", "keyctl", "bpf", "setns"]),
    );
    const insecure = buildSpec({ ...(request as object), security: "insecure" } as never, user) as {
      linux: { seccomp?: unknown };
    };
    expect(insecure.linux.seccomp).toBeUndefined();
    const bounding = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"))![1]!;
    const mask = BigInt(`0x${bounding}`);
    for (const cap of allCapabilities()) expect(cap).toMatch(/^CAP_/);
    expect(allCapabilities().length).toBe(mask.toString(2).replace(/0/g, "").length);
  });

  it.runIf(haveBusybox && isRoot)(
    "RUN has a seccomp filter; --security=insecure has none and still runs",
    async () => {
      await writeFile(
        join(dir, "ctx", "Dockerfile"),
        `FROM ${BUSYBOX_REF}\nRUN grep '^Seccomp:' /proc/self/status > /sandboxed\nRUN --security=insecure grep '^Seccomp:' /proc/self/status > /insecure\n`,
      );
      const out = join(dir, "out");
      await run(
        process.execPath,
        [
          GANTRY,
          "--root",
          join(dir, "root"),
          "build",
          join(dir, "ctx"),
          "--output",
          `type=local,dest=${out}`,
        ],
        { timeout: 120_000 },
      );
      expect((await readFile(join(out, "sandboxed"), "utf8")).trim()).toBe("Seccomp:\t2");
      expect((await readFile(join(out, "insecure"), "utf8")).trim()).toBe("Seccomp:\t0");
    },
  );
});

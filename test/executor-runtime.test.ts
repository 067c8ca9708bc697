/**
 * The RUN runtime with real runc on a busybox rootfs (a plain directory copy here; snapshots are tested
 * in executor-snapshot.test.ts): exit codes, env, cwd creation, USER resolution, network=none, output
 * tail, mount stubs leaving no trace, abort killing the container, and the chroot fallback.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openRuntime, resolveUser } from "../src/executor/runtime/index.js";
import type { RunRequest, Runtime } from "../src/executor/types.js";
import { busyboxRootfs, haveBusybox, isRoot } from "./helpers/busybox-image.js";

const canRun = isRoot && haveBusybox;
let work: string;
let rootfs: string;
let runtime: Runtime;

beforeAll(async () => {
  if (!canRun) return;
  work = await mkdtemp(join(tmpdir(), "gantry-runtime-"));
  rootfs = join(work, "rootfs");
  await cp(await busyboxRootfs(), rootfs, { recursive: true, verbatimSymlinks: true });
  runtime = await openRuntime(join(work, "data"), "runc");
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

function request(args: string[], extra: Partial<RunRequest> = {}): RunRequest {
  return {
    rootfs,
    args,
    env: [],
    cwd: "/",
    user: "",
    network: "none",
    security: "sandbox",
    mounts: [],
    ...extra,
  };
}

async function output(rt: Runtime, req: RunRequest): Promise<{ exitCode: number; text: string }> {
  let text = "";
  const result = await rt.run({ ...req, onOutput: (chunk) => (text += chunk.toString()) });
  return { exitCode: result.exitCode, text };
}

describe.runIf(canRun)("RuncRuntime", () => {
  it("returns the exit code and the tail of the output", async () => {
    const result = await runtime.run(
      request(["/bin/sh", "-c", "for i in $(seq 1 30); do echo line$i; done; exit 7"]),
    );
    expect(result.exitCode).toBe(7);
    expect(result.tail).toHaveLength(20);
    expect(result.tail.at(-1)).toBe("line30");
  });

  it("says when the container's process has started, once, before it ends", async () => {
    for (const rt of [runtime, await openRuntime(join(work, "data"), "chroot")]) {
      const seen: string[] = [];
      const running = rt.run({
        ...request(["/bin/sh", "-c", "echo out"]),
        onStarted: () => seen.push("started"),
        onOutput: () => seen.push("output"),
      });
      await running.then(() => seen.push("ended"));
      expect(seen, rt.name).toEqual(["started", "output", "ended"]);
    }
  });

  it("passes env (PATH added when missing), creates the cwd owned by the user", async () => {
    const { exitCode, text } = await output(
      runtime,
      request(["/bin/sh", "-c", 'echo "$FOO|$PATH|$(pwd)|$(id -u):$(id -g)|$HOME"'], {
        env: ["FOO=bar baz"],
        cwd: "/work/deep",
        user: "demo",
      }),
    );
    expect(exitCode).toBe(0);
    expect(text.trim()).toBe(
      "bar baz|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|/work/deep|1000:1000|/home/demo",
    );
    const info = await stat(join(rootfs, "work/deep"));
    expect([info.uid, info.gid]).toEqual([1000, 1000]);
  });

  it("resolves USER forms through the image's passwd and group", async () => {
    await writeFile(
      join(rootfs, "etc/group"),
      "root:x:0:\ndemo:x:1000:\nstaff:x:50:demo\nnogroup:x:65534:\n",
    );
    expect(await resolveUser(rootfs, "demo")).toMatchObject({ uid: 1000, gid: 1000, additionalGids: [50] });
    expect(await resolveUser(rootfs, "1000")).toMatchObject({ uid: 1000, gid: 1000 });
    expect(await resolveUser(rootfs, "demo:staff")).toMatchObject({ uid: 1000, gid: 50, additionalGids: [] });
    expect(await resolveUser(rootfs, "1000:1000")).toMatchObject({ uid: 1000, gid: 1000 });
    expect(await resolveUser(rootfs, "4242")).toMatchObject({ uid: 4242, gid: 0 });
    expect(await resolveUser(rootfs, "")).toMatchObject({ uid: 0, gid: 0 });
    await expect(resolveUser(rootfs, "ghost")).rejects.toMatchObject({ code: "USER_UNKNOWN" });
    await expect(resolveUser(rootfs, "demo:ghosts")).rejects.toMatchObject({ code: "USER_UNKNOWN" });
    const { text } = await output(runtime, request(["/bin/sh", "-c", "id -G"], { user: "demo" }));
    expect(text.trim().split(" ").sort()).toEqual(["1000", "50"]);
    await expect(runtime.run(request(["true"], { user: "ghost" }))).rejects.toMatchObject({
      code: "USER_UNKNOWN",
    });
  });

  it("network=none has only loopback; default shares the host network and its resolv.conf", async () => {
    const none = await output(runtime, request(["/bin/sh", "-c", "ls /sys/class/net"]));
    expect(none.text.trim().split(/\s+/)).toEqual(["lo"]);
    const hostIfaces = (await readdir("/sys/class/net")).sort();
    const host = await output(
      runtime,
      request(["/bin/sh", "-c", "ls /sys/class/net; cat /etc/hosts"], { network: "default" }),
    );
    for (const iface of hostIfaces) expect(host.text).toContain(iface);
    expect(existsSync(join(rootfs, "etc/resolv.conf"))).toBe(false);
  });

  it("runs with Docker's default capabilities, all with security=insecure", async () => {
    const capEff = async (security: "sandbox" | "insecure") =>
      (
        await output(runtime, request(["/bin/sh", "-c", "grep CapEff /proc/self/status"], { security }))
      ).text.trim();
    expect(await capEff("sandbox")).toBe("CapEff:\t00000000a80425fb");
    expect(await capEff("insecure")).not.toBe("CapEff:\t00000000a80425fb");
  });

  it("binds and tmpfs mounts, and removes the mount points it had to create", async () => {
    const host = join(work, "shared");
    await mkdir(host, { recursive: true });
    await writeFile(join(host, "in.txt"), "from host");
    const before = (await stat(join(rootfs, "etc"))).mtimeMs;
    const { exitCode, text } = await output(
      runtime,
      request(
        [
          "/bin/sh",
          "-c",
          "cat /mnt/a/in.txt; echo x > /mnt/a/out.txt; echo y > /tmpd/y && ls /tmpd; echo z > /mnt/ro/z || echo ro-refused",
        ],
        {
          mounts: [
            { type: "bind", source: host, target: "/mnt/a" },
            { type: "bind", source: host, target: "/mnt/ro", readonly: true },
            { type: "tmpfs", target: "/tmpd", size: 1 << 20 },
          ],
          network: "default",
        },
      ),
    );
    expect(exitCode).toBe(0);
    expect(text).toContain("from host");
    expect(text).toContain("ro-refused");
    expect(existsSync(join(host, "out.txt"))).toBe(true);
    expect(existsSync(join(rootfs, "mnt"))).toBe(false);
    expect(existsSync(join(rootfs, "tmpd"))).toBe(false);
    expect((await stat(join(rootfs, "etc"))).mtimeMs).toBe(before);
  });

  it("abort kills the container", async () => {
    const controller = new AbortController();
    const started = Date.now();
    let seen = "";
    const running = runtime.run(
      request(["/bin/sh", "-c", "echo started; sleep 30"], {
        signal: controller.signal,
        onOutput: (chunk) => {
          seen += chunk.toString();
          if (seen.includes("started")) controller.abort();
        },
      }),
    );
    await expect(running).rejects.toMatchObject({ code: "RUN_ABORTED" });
    expect(Date.now() - started).toBeLessThan(10_000);
    const leftover = execFileSync("runc", ["--root", join(work, "data/executor/runc"), "list", "-q"], {
      encoding: "utf8",
    });
    expect(leftover.trim()).toBe("");
    expect(await readdir(join(work, "data/executor/bundles"))).toEqual([]);
  });
});

describe.runIf(canRun)("ChrootRuntime", () => {
  it("runs with env, user, cwd and exit code in new namespaces", async () => {
    const chroot = await openRuntime(join(work, "data"), "chroot");
    const { exitCode, text } = await output(
      chroot,
      request(
        ["/bin/sh", "-c", 'echo "$FOO $(id -u) $(pwd) $$"; ls /sys/class/net 2>/dev/null | wc -l; exit 3'],
        {
          env: ["FOO=chrooted"],
          user: "demo",
          cwd: "/home/demo",
        },
      ),
    );
    expect(exitCode).toBe(3);
    const [first] = text.trim().split("\n");
    // A new pid namespace: the shell is pid 1.
    expect(first).toBe("chrooted 1000 /home/demo 1");
  });
});

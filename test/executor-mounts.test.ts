/**
 * RUN --mount with real runc on an overlay snapshot: a cache mount persists across two runs and stays out
 * of the layer; a secret is readable (file and env) but in no diff and never under the data root; a
 * missing required secret is a clear error; rw binds are throwaway copies; locked caches serialise.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prepareExecMounts } from "../src/executor/mounts.js";
import { openRuntime } from "../src/executor/runtime/index.js";
import { OverlaySnapshotter } from "../src/executor/snapshot/index.js";
import type { LayerRef, Runtime } from "../src/executor/types.js";
import type { ExecMount } from "../src/graph/types.js";
import { ContentStore } from "../src/image/content-store.js";
import { haveBusybox, importBusybox, isRoot } from "./helpers/busybox-image.js";

const canRun = isRoot && haveBusybox;
let dataRoot: string;
let context: string;
let base: LayerRef;
let runtime: Runtime;
let snapshotter: OverlaySnapshotter;

beforeAll(async () => {
  if (!canRun) return;
  dataRoot = await mkdtemp(join(tmpdir(), "gantry-mounts-"));
  context = join(dataRoot, "..", `${dataRoot.split("/").pop()}-ctx`);
  await mkdir(join(context, "src"), { recursive: true });
  await writeFile(join(context, "src/input.txt"), "context file\n");
  const blobs = await ContentStore.open(dataRoot);
  base = (await importBusybox(dataRoot)).layer;
  runtime = await openRuntime(dataRoot, "runc");
  snapshotter = await OverlaySnapshotter.open(dataRoot, blobs);
});
afterAll(async () => {
  if (dataRoot) await rm(dataRoot, { recursive: true, force: true });
  if (context) await rm(context, { recursive: true, force: true });
});

const mountDefaults = { readonly: false } as const;

/** Runs `script` in a fresh snapshot with `mounts`; returns output, exit code and the diff's paths. */
async function runWith(
  mounts: ExecMount[],
  script: string,
  secrets = new Map<string, { src?: string; env?: string }>(),
): Promise<{ out: string; exitCode: number; paths: string[] }> {
  const snap = await snapshotter.prepare([base]);
  try {
    const prepared = await prepareExecMounts(mounts, {
      root: dataRoot,
      rootfs: snap.rootfs,
      secrets,
      resolveFrom: async () => ({ rootfs: context, release: async () => {} }),
    });
    let out = "";
    try {
      const result = await runtime.run({
        rootfs: snap.rootfs,
        args: ["/bin/sh", "-c", script],
        env: prepared.env,
        cwd: "/",
        user: "",
        network: "none",
        security: "sandbox",
        mounts: prepared.mounts,
        onOutput: (chunk) => (out += chunk.toString()),
      });
      const paths: string[] = [];
      for await (const entry of snap.diff()) paths.push(entry.path);
      return { out, exitCode: result.exitCode, paths };
    } finally {
      await prepared.release();
    }
  } finally {
    await snap.release();
  }
}

describe.runIf(canRun)("prepareExecMounts", () => {
  it("cache mounts persist across runs and stay out of the layer", async () => {
    const cache: ExecMount = { ...mountDefaults, type: "cache", target: "/root/.cache/app", id: "app-cache" };
    const first = await runWith([cache], "echo one >> /root/.cache/app/log; cat /root/.cache/app/log");
    expect(first.out.trim()).toBe("one");
    const second = await runWith([cache], "echo two >> /root/.cache/app/log; cat /root/.cache/app/log");
    expect(second.out.trim().split("\n")).toEqual(["one", "two"]);
    expect(second.paths).toEqual([]);
    const owned = await runWith(
      [{ ...cache, id: "owned", target: "/c", uid: 1000, gid: 1000, mode: 0o750 }],
      "stat -c '%u:%g %a' /c",
    );
    expect(owned.out.trim()).toBe("1000:1000 750");
  });

  it("secrets are readable as file and env, absent from the diff and the data root", async () => {
    const secretFile = join(context, "token");
    await writeFile(secretFile, "s3cr3t-value");
    const secrets = new Map([["token", { src: secretFile }]]);
    const { out, exitCode, paths } = await runWith(
      [
        {
          ...mountDefaults,
          type: "secret",
          target: "/run/secrets/token",
          id: "token",
          env: "TOKEN",
          required: true,
        },
      ],
      'cat /run/secrets/token; echo; echo "env=$TOKEN"; stat -c %a /run/secrets/token',
      secrets,
    );
    expect(exitCode).toBe(0);
    expect(out.trim().split("\n")).toEqual(["s3cr3t-value", "env=s3cr3t-value", "400"]);
    expect(paths).toEqual([]);
    expect(await grepTree(dataRoot, "s3cr3t-value")).toEqual([]);
    expect(await readdir("/dev/shm/gantry-secrets")).toEqual([]);

    await expect(
      runWith(
        [{ ...mountDefaults, type: "secret", target: "/run/secrets/nope", id: "nope", required: true }],
        "true",
      ),
    ).rejects.toMatchObject({ code: "MOUNT_SECRET_MISSING" });
    const optional = await runWith(
      [{ ...mountDefaults, type: "secret", target: "/run/secrets/nope", id: "nope" }],
      "test -e /run/secrets/nope || echo absent",
    );
    expect(optional.out.trim()).toBe("absent");
  });

  it("binds are read-only by default and rw binds are throwaway copies", async () => {
    const ro = await runWith(
      [{ type: "bind", target: "/src", source: "src", readonly: true }],
      "cat /src/input.txt; (echo x > /src/new) 2>/dev/null || echo refused",
    );
    expect(ro.out.trim().split("\n")).toEqual(["context file", "refused"]);
    const rw = await runWith(
      [{ type: "bind", target: "/src", source: "src", readonly: false }],
      "echo changed > /src/input.txt && cat /src/input.txt",
    );
    expect(rw.out.trim()).toBe("changed");
    expect(await readFile(join(context, "src/input.txt"), "utf8")).toBe("context file\n");
    expect(rw.paths).toEqual([]);
    await expect(
      runWith([{ type: "bind", target: "/x", source: "missing", readonly: true }], "true"),
    ).rejects.toMatchObject({
      code: "MOUNT_INVALID",
    });
  });

  it("tmpfs mounts and locked caches (one run at a time)", async () => {
    const tmpfs = await runWith(
      [{ ...mountDefaults, type: "tmpfs", target: "/scratch", size: 1 << 20 }],
      "df -k /scratch | tail -1",
    );
    expect(tmpfs.out).toMatch(/\b1024\b/);
    const locked: ExecMount = {
      ...mountDefaults,
      type: "cache",
      target: "/lock",
      id: "locked",
      sharing: "locked",
    };
    const script = "echo start $$ >> /lock/log; sleep 0.3; echo end $$ >> /lock/log";
    await Promise.all([runWith([locked], script), runWith([locked], script)]);
    const log = (await runWith([locked], "cat /lock/log")).out.trim().split("\n");
    expect(log.map((l) => l.split(" ")[0])).toEqual(["start", "end", "start", "end"]);
  });
});

async function grepTree(dir: string, needle: string): Promise<string[]> {
  const hits: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const content = await readFile(path).catch(() => Buffer.alloc(0));
    if (content.includes(needle)) hits.push(path);
  }
  return existsSync(dir) ? hits : [];
}

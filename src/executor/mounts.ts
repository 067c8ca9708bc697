/**
 * RUN --mount preparation: turns the graph's ExecMounts into runtime mounts plus environment, and back.
 * - cache: a persistent directory per id, `<root>/cache-mounts/<sha256(id)>`, created with uid/gid/mode;
 *   sharing `shared` (same directory concurrently), `locked` (in-process mutex + lock file until release),
 *   `private` (a fresh throwaway directory while the shared one is in use).
 * - secret: the content on a tmpfs directory (/dev/shm/gantry-secrets/<rand>), bound read-only at the
 *   target (default /run/secrets/<id>), optionally as an env var; never written under the data root.
 * - bind: a path inside the context, a stage or an image (resolveFrom), read-only unless rw, and then a
 *   throwaway copy, so writes are discarded (as BuildKit).
 * - tmpfs; ssh: the agent socket for an id at the target (default /run/buildkit/ssh_agent.0) + SSH_AUTH_SOCK.
 */
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { constants as fsConstants } from "node:fs";
import { chmod, chown, mkdir, open, readFile, rm, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { GantryError, type GantryErrorOptions } from "../errors.js";
import type { ExecMount, SourceRef } from "../graph/types.js";
import { hostCommandOk } from "../util/host-command.js";
import { resolveInRoot } from "../util/root-path.js";
import type { RuntimeMount } from "./types.js";

const run = promisify(execFile);

export type MountErrorCode = "MOUNT_SECRET_MISSING" | "MOUNT_SSH_MISSING" | "MOUNT_INVALID";

export class MountError extends GantryError {
  declare readonly code: MountErrorCode;
  constructor(code: MountErrorCode, message: string, options: GantryErrorOptions = {}) {
    super(code, message, options);
  }
}

export interface ExecMountContext {
  /** The data root (cache mounts live under it). */
  root: string;
  /** The RUN's rootfs. */
  rootfs: string;
  /** Secret id → file (`src`) or host environment variable (`env`). */
  secrets: Map<string, { src?: string; env?: string }>;
  /** ssh id → agent socket path. */
  sshSockets?: Map<string, string>;
  resolveFrom(from: SourceRef): Promise<{ rootfs: string; release(): Promise<void> }>;
}

export interface PreparedMounts {
  mounts: RuntimeMount[];
  env: string[];
  release(): Promise<void>;
}

export const DEFAULT_SSH_TARGET = "/run/buildkit/ssh_agent.0";

export async function prepareExecMounts(mounts: ExecMount[], ctx: ExecMountContext): Promise<PreparedMounts> {
  const result: RuntimeMount[] = [];
  const env: string[] = [];
  const releases: Array<() => Promise<void>> = [];
  const release = async () => {
    for (const step of releases.splice(0).reverse()) await step().catch(() => {});
  };
  try {
    for (const mount of mounts) {
      switch (mount.type) {
        case "cache":
          result.push(await cacheMount(mount, ctx, releases));
          break;
        case "secret": {
          const prepared = await secretMount(mount, ctx, releases);
          if (prepared.mount) result.push(prepared.mount);
          if (prepared.env) env.push(prepared.env);
          break;
        }
        case "bind":
          result.push(await bindMount(mount, ctx, releases));
          break;
        case "tmpfs":
          result.push({ type: "tmpfs", target: mount.target, size: mount.size, mode: mount.mode ?? 0o1777 });
          break;
        case "ssh": {
          const id = mount.id ?? "default";
          const socket = ctx.sshSockets?.get(id);
          const target = mount.target || DEFAULT_SSH_TARGET;
          if (socket === undefined) {
            if (mount.required) {
              throw new MountError(
                "MOUNT_SSH_MISSING",
                `no SSH agent socket for ssh id ${JSON.stringify(id)}`,
                {
                  hint: `pass --ssh ${id}=$SSH_AUTH_SOCK (or a key file)`,
                },
              );
            }
            break;
          }
          result.push({ type: "bind", source: socket, target, readonly: true });
          env.push(`SSH_AUTH_SOCK=${target}`);
          break;
        }
      }
    }
  } catch (error) {
    await release();
    throw error;
  }
  return { mounts: result, env, release };
}

// --- cache ---------------------------------------------------------------------------------------------

/** Per cache directory: how many runs use it, and the in-process lock chain. */
const cacheUsers = new Map<string, number>();
const cacheLocks = new Map<string, Promise<void>>();

/** The persistent directory of cache mount `id` (also what `--cache-to …,mount=ID` exports). */
export function cacheMountDir(root: string, id: string): string {
  return join(root, "cache-mounts", createHash("sha256").update(id).digest("hex"));
}

async function cacheMount(
  mount: ExecMount,
  ctx: ExecMountContext,
  releases: Array<() => Promise<void>>,
): Promise<RuntimeMount> {
  const dir = cacheMountDir(ctx.root, mount.id || mount.target);
  const sharing = mount.sharing ?? "shared";
  if (sharing === "private" && (cacheUsers.get(dir) ?? 0) > 0) {
    const fresh = `${dir}.private-${process.pid}-${randomBytes(4).toString("hex")}`;
    releases.push(() => rm(fresh, { recursive: true, force: true }));
    if (await createCacheDir(fresh, mount)) await seedCache(fresh, mount, ctx);
    return { type: "bind", source: fresh, target: mount.target, readonly: mount.readonly };
  }
  if (sharing === "locked") releases.push(await lockCache(dir));
  if (await createCacheDir(dir, mount)) await seedCache(dir, mount, ctx);
  cacheUsers.set(dir, (cacheUsers.get(dir) ?? 0) + 1);
  releases.push(async () => {
    const users = (cacheUsers.get(dir) ?? 1) - 1;
    if (users <= 0) cacheUsers.delete(dir);
    else cacheUsers.set(dir, users);
  });
  return { type: "bind", source: dir, target: mount.target, readonly: mount.readonly };
}

/** Creates the cache directory unless it exists; true when it was created (so it is empty). */
async function createCacheDir(dir: string, mount: ExecMount): Promise<boolean> {
  try {
    await mkdir(dir, { recursive: false });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    await mkdir(join(dir, ".."), { recursive: true });
    return createCacheDir(dir, mount);
  }
  await chown(dir, mount.uid ?? 0, mount.gid ?? 0).catch(() => {});
  await chmod(dir, mount.mode ?? 0o755);
  return true;
}

/**
 * `from=` (and `source=`) on a cache mount: a new cache starts as a copy of that directory of the stage,
 * image or context, as in BuildKit; an existing cache keeps what earlier runs left in it.
 */
async function seedCache(dir: string, mount: ExecMount, ctx: ExecMountContext): Promise<void> {
  if (mount.from === undefined) return;
  const from = await ctx.resolveFrom(mount.from);
  try {
    const source = await resolveInRoot(from.rootfs, mount.source ?? "/", true);
    if (source.stats === undefined || !source.stats.isDirectory()) {
      throw new MountError(
        "MOUNT_INVALID",
        `cache mount from=: ${mount.source ?? "/"} is not a directory in the source`,
        { hint: "point source= at a directory of the stage or image" },
      );
    }
    await hostCommandOk(["cp", "-a", "--", `${source.abs}/.`, `${dir}/`]);
  } finally {
    await from.release();
  }
}

/** Waits for the in-process chain and the lock file; returns the release function. */
async function lockCache(dir: string): Promise<() => Promise<void>> {
  const previous = cacheLocks.get(dir) ?? Promise.resolve();
  let unlockLocal!: () => void;
  const mine = new Promise<void>((resolve) => {
    unlockLocal = resolve;
  });
  const chain = previous.then(() => mine);
  cacheLocks.set(dir, chain);
  await previous;
  const lockFile = `${dir}.lock`;
  await mkdir(join(dir, ".."), { recursive: true });
  for (;;) {
    try {
      const handle = await open(
        lockFile,
        fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY,
        0o600,
      );
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number((await readFile(lockFile, "utf8").catch(() => "")).trim());
      if (!Number.isInteger(holder) || holder <= 0 || !alive(holder)) await unlink(lockFile).catch(() => {});
      else await new Promise((r) => setTimeout(r, 100));
    }
  }
  return async () => {
    await unlink(lockFile).catch(() => {});
    unlockLocal();
    if (cacheLocks.get(dir) === chain) cacheLocks.delete(dir);
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

// --- secret --------------------------------------------------------------------------------------------

async function secretMount(
  mount: ExecMount,
  ctx: ExecMountContext,
  releases: Array<() => Promise<void>>,
): Promise<{ mount?: RuntimeMount; env?: string }> {
  const id = mount.id || (mount.target ? mount.target.slice(mount.target.lastIndexOf("/") + 1) : "");
  if (id === "") throw new MountError("MOUNT_INVALID", "a secret mount needs an id or a target");
  const source = ctx.secrets.get(id);
  let content: Buffer | undefined;
  if (source?.src !== undefined) content = await readFile(source.src);
  else if (source?.env !== undefined && process.env[source.env] !== undefined) {
    content = Buffer.from(process.env[source.env]!, "utf8");
  }
  if (content === undefined) {
    if (mount.required) {
      throw new MountError(
        "MOUNT_SECRET_MISSING",
        `secret ${JSON.stringify(id)} is required but was not given`,
        {
          hint: `pass --secret id=${id},src=FILE (or env=VAR)`,
        },
      );
    }
    return {};
  }
  const dir = join(await secretsBase(), randomBytes(12).toString("hex"));
  await mkdir(dir, { mode: 0o700, recursive: true });
  releases.push(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, "secret");
  await writeFile(file, content, { mode: mount.mode ?? 0o400 });
  await chmod(file, mount.mode ?? 0o400);
  await chown(file, mount.uid ?? 0, mount.gid ?? 0).catch(() => {});
  const target = mount.target || `/run/secrets/${id}`;
  return {
    mount: { type: "bind", source: file, target, readonly: true },
    env: mount.env ? `${mount.env}=${content.toString("utf8")}` : undefined,
  };
}

/** A directory on tmpfs for secret files: /dev/shm when writable, else /run. */
async function secretsBase(): Promise<string> {
  for (const base of ["/dev/shm", "/run"]) {
    const dir = join(base, "gantry-secrets");
    try {
      await mkdir(dir, { mode: 0o700, recursive: true });
      if ((await stat(dir)).isDirectory()) return dir;
    } catch {}
  }
  throw new MountError("MOUNT_INVALID", "no tmpfs (/dev/shm or /run) to hold secrets", {
    hint: "secrets are never written to disk; mount a tmpfs on /dev/shm",
  });
}

// --- bind ----------------------------------------------------------------------------------------------

async function bindMount(
  mount: ExecMount,
  ctx: ExecMountContext,
  releases: Array<() => Promise<void>>,
): Promise<RuntimeMount> {
  const from = mount.from ?? { kind: "context", name: "context" };
  const view = await ctx.resolveFrom(from);
  releases.push(() => view.release());
  const { abs } = await resolveInRoot(view.rootfs, mount.source ?? "/", true);
  const info = await stat(abs).catch(() => undefined);
  if (info === undefined) {
    throw new MountError(
      "MOUNT_INVALID",
      `bind mount source ${JSON.stringify(mount.source ?? "/")} does not exist`,
      {
        hint: "check source= of the --mount=type=bind",
      },
    );
  }
  if (mount.readonly) return { type: "bind", source: abs, target: mount.target, readonly: true };
  // Writable binds get a throwaway copy: writes never reach the context or the other stage.
  const copy = join(ctx.root, "executor", "bind-copies", `${process.pid}-${randomBytes(6).toString("hex")}`);
  await mkdir(copy, { recursive: true });
  releases.push(() => rm(copy, { recursive: true, force: true }));
  const dest = join(copy, "data");
  await run("cp", ["-a", "--", abs, dest]);
  return { type: "bind", source: dest, target: mount.target, readonly: false };
}

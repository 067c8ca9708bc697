/**
 * What the runtime does to the rootfs around a run: creates the working directory (owned by the user, as
 * BuildKit does), and records the mount points the OCI runtime will create as stubs (for `/etc/resolv.conf`,
 * mount targets…) so they can be removed afterwards, with their parent's times restored: a RUN's layer
 * must not contain the mount points of its own mounts.
 */
import { lchown, lstat, mkdir, readdir, rm, utimes } from "node:fs/promises";
import { join } from "node:path";
import { resolveInRoot } from "../../util/root-path.js";

/** mkdir -p of `cwd` inside the rootfs; directories created are owned by uid:gid. */
export async function ensureWorkdir(rootfs: string, cwd: string, uid: number, gid: number): Promise<void> {
  const { rel } = await resolveInRoot(rootfs, cwd, true);
  if (rel === "") return;
  let abs = rootfs;
  for (const part of rel.split("/")) {
    abs = join(abs, part);
    const info = await lstat(abs).catch(() => undefined);
    if (info?.isDirectory()) continue;
    if (info !== undefined) return; // Not a directory: the runtime will report it.
    await mkdir(abs, { mode: 0o755 });
    await lchown(abs, uid, gid).catch(() => {});
  }
}

export interface MountStub {
  /** First component of the target that did not exist before the run. */
  path: string;
  parent: string;
  atime: Date;
  mtime: Date;
}

/** For each container path, the first missing component in the rootfs (what runc will create). */
export async function recordStubs(rootfs: string, targets: string[]): Promise<MountStub[]> {
  const stubs: MountStub[] = [];
  const seen = new Set<string>();
  for (const target of targets) {
    const { rel } = await resolveInRoot(rootfs, target, true);
    if (rel === "") continue;
    let abs = rootfs;
    for (const part of rel.split("/")) {
      const parent = abs;
      abs = join(abs, part);
      const info = await lstat(abs).catch(() => undefined);
      if (info !== undefined) {
        if (info.isDirectory()) continue;
        break;
      }
      if (!seen.has(abs)) {
        const p = await lstat(parent);
        stubs.push({ path: abs, parent, atime: p.atime, mtime: p.mtime });
        seen.add(abs);
      }
      break;
    }
  }
  return stubs;
}

/** Removes stubs that are still empty (an empty file, or directories holding only empty directories). */
export async function removeStubs(stubs: MountStub[]): Promise<void> {
  // Deepest first, so a parent's restored times are not disturbed again.
  for (const stub of [...stubs].sort((a, b) => b.path.length - a.path.length)) {
    if (!(await isEmptyStub(stub.path))) continue;
    await rm(stub.path, { recursive: true, force: true });
    await utimes(stub.parent, stub.atime, stub.mtime).catch(() => {});
  }
}

async function isEmptyStub(path: string): Promise<boolean> {
  const info = await lstat(path).catch(() => undefined);
  if (info === undefined) return false;
  if (info.isFile()) return info.size === 0;
  if (!info.isDirectory()) return false;
  for (const name of await readdir(path)) {
    if (!(await isEmptyStub(join(path, name)))) return false;
  }
  return true;
}

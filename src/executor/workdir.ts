/** WORKDIR's filesystem part: `mkdir -p` of the directory inside a mounted rootfs, symlinks resolved within it. */
import { lstat, mkdir } from "node:fs/promises";
import { resolveInRoot } from "../util/root-path.js";

/** Creates `path` (mode 0755) inside `root`; false when it already was a directory. */
export async function mkdirInRoot(root: string, path: string): Promise<boolean> {
  const { abs } = await resolveInRoot(root, path, true);
  const info = await lstat(abs).catch(() => undefined);
  if (info?.isDirectory()) return false;
  await mkdir(abs, { recursive: true, mode: 0o755 });
  return true;
}

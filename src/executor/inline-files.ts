/** RUN heredoc scripts (`/dev/pipes/<name>`) as files bind-mounted read-only into the container. */
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RuntimeMount } from "./types.js";

/** RUN heredoc scripts (`/dev/pipes/<name>`): written to a private temp dir and bind-mounted read-only. */
export async function writeInlineFiles(
  files: Array<{ path: string; content: string; mode: number }>,
): Promise<{ mounts: RuntimeMount[]; release(): Promise<void> }> {
  if (files.length === 0) return { mounts: [], release: async () => {} };
  const dir = await mkdtemp(join(tmpdir(), "gantry-inline-"));
  const mounts: RuntimeMount[] = [];
  for (const [i, file] of files.entries()) {
    const host = join(dir, String(i));
    await writeFile(host, file.content, { mode: file.mode });
    await chmod(host, file.mode);
    mounts.push({ type: "bind", source: host, target: file.path, readonly: true });
  }
  return { mounts, release: () => rm(dir, { recursive: true, force: true }) };
}

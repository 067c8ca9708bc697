/**
 * Build leases: a running build holds a lease file `<root>/leases/<owner>.<pid>.<rand>.json` with its start
 * time. `gantry prune` never removes a cache record used, or a blob written, after the oldest live lease
 * started, so it cannot pull anything from under a running build. Leases of dead processes are ignored and
 * removed.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { isProcessAlive, TEMP_OWNER, writeFileAtomic } from "../image/atomic-file.js";

export interface BuildLease {
  startedAt: number;
  release(): Promise<void>;
}

interface LeaseFile {
  pid: number;
  owner: string;
  startedAt: number;
}

export async function acquireBuildLease(root: string, now = Date.now()): Promise<BuildLease> {
  const dir = join(root, "leases");
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${TEMP_OWNER}.${process.pid}.${randomBytes(4).toString("hex")}.json`);
  const lease: LeaseFile = { pid: process.pid, owner: TEMP_OWNER, startedAt: now };
  await writeFileAtomic(path, JSON.stringify(lease));
  return { startedAt: now, release: () => rm(path, { force: true }) };
}

/** Start time of the oldest live lease, or undefined when no build is running. */
export async function oldestLiveLease(root: string): Promise<number | undefined> {
  const dir = join(root, "leases");
  let oldest: number | undefined;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.endsWith(".json") || name.startsWith(".")) continue;
    try {
      const lease = JSON.parse(await readFile(join(dir, name), "utf8")) as LeaseFile;
      // Only a lease of our own pid namespace can be proven dead.
      if (lease.owner === TEMP_OWNER && !isProcessAlive(lease.pid)) {
        await rm(join(dir, name), { force: true });
        continue;
      }
      oldest = oldest === undefined ? lease.startedAt : Math.min(oldest, lease.startedAt);
    } catch {
      // torn or removed meanwhile
    }
  }
  return oldest;
}

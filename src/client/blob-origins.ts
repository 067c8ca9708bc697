/**
 * Where blobs of the data root came from or went to on other registries (`host/repository`), so a later
 * push to the same registry can mount them across repositories instead of uploading them again. One small
 * file per blob under `<root>/client/blob-origins/<alg>/<hex>` (a JSON list, newest first, at most 8
 * entries); losing a concurrent update only loses a hint.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../image/atomic-file.js";
import { parseDigest } from "../image/digest.js";
import type { Digest } from "../image/store-types.js";

const MAX_ORIGINS = 8;

export class BlobOrigins {
  constructor(private readonly root: string) {}

  private path(digest: Digest): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(this.root, "client", "blob-origins", algorithm, hex);
  }

  /** Repositories on `host` known to hold the blob. */
  async repositoriesOn(host: string, digest: Digest): Promise<string[]> {
    const prefix = `${host}/`;
    return (await this.read(digest)).filter((o) => o.startsWith(prefix)).map((o) => o.slice(prefix.length));
  }

  async record(host: string, repository: string, digest: Digest): Promise<void> {
    const origin = `${host}/${repository}`;
    const current = await this.read(digest);
    if (current[0] === origin) return;
    const next = [origin, ...current.filter((o) => o !== origin)].slice(0, MAX_ORIGINS);
    await writeFileAtomic(this.path(digest), JSON.stringify(next)).catch(() => {});
  }

  private async read(digest: Digest): Promise<string[]> {
    try {
      const parsed = JSON.parse(await readFile(this.path(digest), "utf8")) as unknown;
      return Array.isArray(parsed) ? parsed.filter((o): o is string => typeof o === "string") : [];
    } catch {
      return [];
    }
  }
}

/**
 * Data-root settings for the cache, read from `<root>/config.json` (`{"cache":{"keepStorage":"10GB"}}`):
 * after every build the cache is pruned down to `keepStorage`. Sizes accept `B`, `KB`/`KiB`, `MB`/`MiB`,
 * `GB`/`GiB`, `TB`/`TiB` (decimal and binary alike, as Docker's flags) or a bare byte count.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { UsageError } from "../errors.js";

export interface CacheSettings {
  keepStorage?: number;
}

const UNITS: Record<string, number> = {
  b: 1,
  k: 1e3,
  kb: 1e3,
  kib: 1024,
  m: 1e6,
  mb: 1e6,
  mib: 1024 ** 2,
  g: 1e9,
  gb: 1e9,
  gib: 1024 ** 3,
  t: 1e12,
  tb: 1e12,
  tib: 1024 ** 4,
};

export function parseSize(value: string, what = "size"): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  const unit = match?.[2]?.toLowerCase() ?? "";
  const factor = unit === "" ? 1 : UNITS[unit];
  if (match === null || factor === undefined) {
    throw new UsageError(`invalid ${what} ${JSON.stringify(value)}`, {
      hint: "use a byte count or e.g. 512MB, 10GB, 1GiB",
    });
  }
  return Math.floor(Number(match[1]) * factor);
}

export async function readCacheSettings(root: string): Promise<CacheSettings> {
  let text: string;
  try {
    text = await readFile(join(root, "config.json"), "utf8");
  } catch {
    return {};
  }
  let parsed: { cache?: { keepStorage?: string | number } };
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${join(root, "config.json")} is not valid JSON: ${(error as Error).message}`, {
      hint: 'expected e.g. {"cache":{"keepStorage":"10GB"}}',
    });
  }
  const keep = parsed.cache?.keepStorage;
  if (keep === undefined) return {};
  return {
    keepStorage: typeof keep === "number" ? keep : parseSize(keep, "cache.keepStorage in config.json"),
  };
}

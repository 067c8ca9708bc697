/**
 * Cache keys as data: a `CacheKey` is sha256 over the canonical JSON (keys sorted, no whitespace) of exactly
 * the inputs that determine a step's result — the parent key, the op's final values, content digests of what
 * it reads. The inputs themselves (`CacheKeyInputs`) are kept in the cache record so a miss can be explained.
 */
import { sha256Of } from "../image/digest.js";
import type { Digest } from "../image/store-types.js";

export type CacheKey = Digest;

/** JSON values only (no undefined inside arrays; undefined object fields are dropped). */
export type CanonicalValue =
  | string
  | number
  | boolean
  | null
  | CanonicalValue[]
  | { [key: string]: CanonicalValue | undefined };

/** Deterministic JSON: object keys in code-unit order, undefined fields left out. */
export function canonicalJson(value: CanonicalValue | undefined): string {
  if (value === undefined || value === null) return "null";
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item)).join(",")}]`;
  if (typeof value === "object") {
    const fields = Object.keys(value)
      .filter((key) => value[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`);
    return `{${fields.join(",")}}`;
  }
  return JSON.stringify(value);
}

/** What a key was made of. `kind` names the op; the other fields are the op's key material. */
export interface CacheKeyInputs {
  kind: "from" | "scratch" | "exec" | "copy" | "mkdir";
  /** Key of the filesystem state the step starts from (absent for `from`/`scratch` and `COPY --link`). */
  parent?: CacheKey;
  [field: string]: CanonicalValue | undefined;
}

export function cacheKeyOf(inputs: CacheKeyInputs): CacheKey {
  return sha256Of(canonicalJson({ v: 1, ...inputs }));
}

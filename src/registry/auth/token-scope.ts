/**
 * Scopes as Docker's token specification writes them (`repository:ns/app:pull,push`,
 * `registry:catalog:*`), parsed from token requests and rendered into Bearer challenges, and the check that
 * a token's `access` claim covers what a request needs.
 */
import type { AccessRequest } from "./types.js";

/** One entry of a token's `access` claim (also what a client asks for in `scope=`). */
export interface ResourceAccess {
  type: string;
  name: string;
  actions: string[];
}

/**
 * Parses one scope. The name may itself contain colons (a `host:port/` prefix), so the type ends at the
 * first colon and the actions start after the last. A `type(class)` suffix is dropped. Undefined if malformed.
 */
export function parseScope(scope: string): ResourceAccess | undefined {
  const first = scope.indexOf(":");
  const last = scope.lastIndexOf(":");
  if (first <= 0 || last === first) return undefined;
  const type = scope.slice(0, first).replace(/\(.*\)$/, "");
  const name = scope.slice(first + 1, last);
  const actions = scope
    .slice(last + 1)
    .split(",")
    .map((a) => a.trim())
    .filter((a) => a !== "");
  if (!type || !name) return undefined;
  return { type, name, actions };
}

/** Every scope in a list of `scope` values, each of which may hold several separated by spaces. */
export function parseScopes(values: readonly string[]): ResourceAccess[] {
  const out: ResourceAccess[] = [];
  for (const value of values) {
    for (const part of value.split(" ")) {
      if (part === "") continue;
      const parsed = parseScope(part);
      if (parsed) out.push(parsed);
    }
  }
  return mergeScopes(out);
}

/** Joins entries for the same resource (a client may ask `…:pull` and `…:push` separately). */
export function mergeScopes(entries: readonly ResourceAccess[]): ResourceAccess[] {
  const byResource = new Map<string, ResourceAccess>();
  for (const entry of entries) {
    const key = `${entry.type}\0${entry.name}`;
    const existing = byResource.get(key);
    if (!existing) {
      byResource.set(key, { type: entry.type, name: entry.name, actions: [...new Set(entry.actions)] });
      continue;
    }
    for (const action of entry.actions) if (!existing.actions.includes(action)) existing.actions.push(action);
  }
  return [...byResource.values()];
}

/** `repository:ns/app:pull,push`. */
export function formatScope(request: AccessRequest | ResourceAccess): string {
  return `${request.type}:${request.name}:${request.actions.join(",")}`;
}

/** Reads a token's `access` claim, ignoring anything malformed in it. */
export function accessClaim(value: unknown): ResourceAccess[] {
  if (!Array.isArray(value)) return [];
  const out: ResourceAccess[] = [];
  for (const item of value) {
    if (typeof item !== "object" || item === null) continue;
    const { type, name, actions } = item as Record<string, unknown>;
    if (typeof type !== "string" || typeof name !== "string" || !Array.isArray(actions)) continue;
    out.push({ type, name, actions: actions.filter((a): a is string => typeof a === "string") });
  }
  return out;
}

/** Whether the granted `access` entries allow every action of every request. */
export function accessCovers(granted: readonly ResourceAccess[], needed: readonly AccessRequest[]): boolean {
  for (const request of needed) {
    const held = new Set<string>();
    for (const entry of granted) {
      if (entry.type === request.type && entry.name === request.name) {
        for (const action of entry.actions) held.add(action);
      }
    }
    if (held.has("*")) continue;
    const wanted: readonly string[] =
      request.actions.length === 1 && request.actions[0] === "*" ? ["*"] : request.actions;
    for (const action of wanted) if (!held.has(action)) return false;
  }
  return true;
}

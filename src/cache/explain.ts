/**
 * Explaining a cache miss: compares the inputs of a step now with the closest earlier record of the same
 * step (same stage, position and instruction) and says what changed — a copied file (with old and new
 * digest), a build arg or env value, the base image digest, the command, or the step before it.
 */
import type { CanonicalValue } from "./key.js";
import { canonicalJson } from "./key.js";
import type { CacheRecord } from "./records.js";

export interface MissReason {
  /** `file`, `env`, `arg`, `base`, `parent`, or the name of another op field. */
  kind: string;
  /** What changed, e.g. `src/app.js` or `VERSION`. */
  subject: string;
  before?: string;
  after?: string;
}

export interface StepMaterial {
  inputs: CacheRecord["inputs"];
  files?: Record<string, string>;
}

export function explainMiss(previous: StepMaterial | undefined, now: StepMaterial): MissReason[] {
  if (previous === undefined) return [{ kind: "new", subject: "no earlier build of this step" }];
  const reasons: MissReason[] = [];
  const before = previous.inputs;
  const after = now.inputs;
  if (before.kind !== after.kind) {
    return [{ kind: "instruction", subject: "instruction", before: before.kind, after: after.kind }];
  }
  if (after.kind === "from") {
    if (before.manifest !== after.manifest) {
      reasons.push({
        kind: "base",
        subject: String(after.ref ?? "base image"),
        ...pair(before.manifest, after.manifest),
      });
    }
    return reasons.length > 0 ? reasons : [{ kind: "platform", subject: "platform" }];
  }
  if (previous.files !== undefined || now.files !== undefined)
    reasons.push(...fileChanges(previous.files, now.files));
  if (Array.isArray(before.env) || Array.isArray(after.env)) {
    reasons.push(...envChanges(asStrings(before.env), asStrings(after.env)));
  }
  for (const field of Object.keys({ ...before, ...after }).sort()) {
    if (field === "parent" || field === "env" || field === "sources" || field === "kind") continue;
    if (canonicalJson(before[field]) !== canonicalJson(after[field])) {
      reasons.push({ kind: field, subject: field, ...pair(before[field], after[field]) });
    }
  }
  if (reasons.length === 0 && canonicalJson(before.sources) !== canonicalJson(after.sources)) {
    reasons.push({ kind: "sources", subject: "sources", ...pair(before.sources, after.sources) });
  }
  if (reasons.length === 0 && before.parent !== after.parent) {
    reasons.push({
      kind: "parent",
      subject: "an earlier step changed",
      ...pair(before.parent, after.parent),
    });
  }
  return reasons;
}

function fileChanges(before: Record<string, string> = {}, after: Record<string, string> = {}): MissReason[] {
  const reasons: MissReason[] = [];
  for (const path of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (before[path] === after[path]) continue;
    const reason: MissReason = { kind: "file", subject: path };
    if (before[path] !== undefined) reason.before = before[path];
    if (after[path] !== undefined) reason.after = after[path];
    reasons.push(reason);
  }
  return reasons.sort((a, b) => (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0));
}

function envChanges(before: string[], after: string[]): MissReason[] {
  const split = (list: string[]) =>
    new Map(list.map((entry) => [entry.split("=")[0]!, entry.slice(entry.indexOf("=") + 1)]));
  const a = split(before);
  const b = split(after);
  const reasons: MissReason[] = [];
  for (const name of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    if (a.get(name) === b.get(name)) continue;
    const reason: MissReason = { kind: "env", subject: name };
    if (a.has(name)) reason.before = a.get(name)!;
    if (b.has(name)) reason.after = b.get(name)!;
    reasons.push(reason);
  }
  return reasons;
}

function asStrings(value: CanonicalValue | undefined): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
}

function pair(
  before: CanonicalValue | undefined,
  after: CanonicalValue | undefined,
): { before?: string; after?: string } {
  const result: { before?: string; after?: string } = {};
  if (before !== undefined) result.before = typeof before === "string" ? before : canonicalJson(before);
  if (after !== undefined) result.after = typeof after === "string" ? after : canonicalJson(after);
  return result;
}

/** One line per reason, for the CLI. */
export function formatMissReason(reason: MissReason): string {
  const change =
    reason.before === undefined
      ? reason.after === undefined
        ? ""
        : ` (added: ${short(reason.after)})`
      : reason.after === undefined
        ? ` (removed, was ${short(reason.before)})`
        : ` (${short(reason.before)} → ${short(reason.after)})`;
  if (reason.kind === "file") return `file ${reason.subject} changed${change}`;
  if (reason.kind === "env") return `env ${reason.subject} changed${change}`;
  if (reason.kind === "base") return `base image ${reason.subject} changed${change}`;
  if (reason.kind === "new") return reason.subject;
  if (reason.kind === "parent") return `${reason.subject}`;
  return `${reason.subject} changed${change}`;
}

function short(value: string): string {
  if (/^sha256:[0-9a-f]{64}$/.test(value)) return value.slice(0, 19);
  return value.length > 60 ? `${value.slice(0, 57)}...` : value;
}

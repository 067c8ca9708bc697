/**
 * Per-user access rights: the ACL file format, its parser, and the decisions "may this subject do these
 * actions on this repository" and "which subset of a requested scope may it have" (the token endpoint).
 *
 * The ACL file is a JSON array of rules:
 *   [{"account": "alice", "name": "team/*", "actions": ["pull", "push"]},
 *    {"account": "*",     "name": "public/*", "actions": ["pull"]},
 *    {"account": "",      "name": "public/*", "actions": ["pull"]},
 *    {"account": "admin", "type": "registry", "name": "catalog", "actions": ["*"]}]
 * `account` is a user name or a glob over user names; `"*"` (or any glob) matches authenticated users only,
 * and `""` matches anonymous requests only. `name` is a glob over repository names where `*` matches any run
 * of characters including `/` and `?` one character. `type` defaults to "repository". A subject's rights are
 * the union of every matching rule; `"*"` in `actions` means every action.
 * Without an ACL file, authenticated users may do everything and anonymous requests nothing.
 */
import { z } from "zod";
import { AuthConfigError } from "./errors.js";
import type { AccessRequest, RegistryAction } from "./types.js";

const REPOSITORY_ACTIONS: readonly RegistryAction[] = ["pull", "push", "delete"];

const aclRuleSchema = z.strictObject({
  account: z.string(),
  type: z.enum(["repository", "registry"]).optional(),
  name: z.string().min(1),
  actions: z.array(z.enum(["pull", "push", "delete", "*"])),
});

const aclFileSchema = z.array(aclRuleSchema);

interface CompiledRule {
  account: string;
  accountPattern: RegExp;
  type: "repository" | "registry";
  namePattern: RegExp;
  /** Granted actions; "*" stands for all of them. */
  actions: ReadonlySet<string>;
}

/** Decides what a subject ("" = anonymous) may do. */
export interface AccessPolicy {
  /** The actions `subject` holds on the resource (`"*"` for a registry resource granted everything). */
  actionsFor(subject: string, type: AccessRequest["type"], name: string): ReadonlySet<string>;
}

/** `*` → any run of characters (including `/`), `?` → one character; everything else literal. */
export function globToRegExp(glob: string): RegExp {
  let source = "";
  for (const ch of glob) {
    if (ch === "*") source += ".*";
    else if (ch === "?") source += ".";
    else source += ch.replace(/[\\^$.|+()[\]{}]/g, "\\$&");
  }
  return new RegExp(`^${source}$`, "s");
}

const ALL_ACTIONS: ReadonlySet<string> = new Set(["pull", "push", "delete", "*"]);
const NO_ACTIONS: ReadonlySet<string> = new Set();

/** The policy when no ACL file is given: authenticated users hold every right, anonymous requests none. */
export const defaultAccessPolicy: AccessPolicy = {
  actionsFor(subject) {
    return subject === "" ? NO_ACTIONS : ALL_ACTIONS;
  },
};

class AclPolicy implements AccessPolicy {
  constructor(private readonly rules: CompiledRule[]) {}

  actionsFor(subject: string, type: AccessRequest["type"], name: string): ReadonlySet<string> {
    const granted = new Set<string>();
    for (const rule of this.rules) {
      if (rule.type !== type) continue;
      if (subject === "" ? rule.account !== "" : rule.account === "" || !rule.accountPattern.test(subject)) {
        continue;
      }
      if (!rule.namePattern.test(name)) continue;
      for (const action of rule.actions) granted.add(action);
    }
    if (granted.has("*")) return ALL_ACTIONS;
    return granted;
  }
}

/** Parses an ACL file's text; errors name the file and the offending rule. */
export function parseAcl(text: string, file = "<acl>"): AccessPolicy {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new AuthConfigError(`${file}: not valid JSON: ${(err as Error).message}`, {
      hint: 'an ACL file is a JSON array like [{"account":"alice","name":"team/*","actions":["pull","push"]}]',
    });
  }
  const parsed = aclFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? ` at rule ${issue.path.map(String).join(".")}` : "";
    throw new AuthConfigError(`${file}: invalid ACL${where}: ${issue?.message ?? "bad shape"}`, {
      hint: 'each rule needs "account", "name" and "actions" (pull, push, delete or *); "type" is optional',
    });
  }
  const rules = parsed.data.map(
    (rule): CompiledRule => ({
      account: rule.account,
      accountPattern: globToRegExp(rule.account),
      type: rule.type ?? "repository",
      namePattern: globToRegExp(rule.name),
      actions: new Set(rule.actions),
    }),
  );
  return new AclPolicy(rules);
}

function actionsNeeded(request: AccessRequest): readonly string[] {
  if (request.actions.length === 1 && request.actions[0] === "*") {
    return request.type === "registry" ? ["*"] : REPOSITORY_ACTIONS;
  }
  return request.actions;
}

/** The first request in `access` that `subject` may not fully perform, or undefined when all are allowed. */
export function firstDenied(
  policy: AccessPolicy,
  subject: string,
  access: readonly AccessRequest[],
): AccessRequest | undefined {
  for (const request of access) {
    const held = policy.actionsFor(subject, request.type, request.name);
    if (held.has("*")) continue;
    for (const action of actionsNeeded(request)) {
      if (!held.has(action)) return request;
    }
  }
  return undefined;
}

/**
 * The part of a requested scope that `subject` holds, as the token endpoint grants it (never an error for an
 * unpermitted scope: the grant is just smaller). Undefined when nothing at all is granted.
 */
export function grantedPart(
  policy: AccessPolicy,
  subject: string,
  request: { type: string; name: string; actions: readonly string[] },
): { type: string; name: string; actions: string[] } | undefined {
  if (request.type !== "repository" && request.type !== "registry") return undefined;
  const held = policy.actionsFor(subject, request.type, request.name);
  const actions: string[] = [];
  for (const action of request.actions) {
    if (actions.includes(action)) continue;
    if (held.has("*") || held.has(action)) actions.push(action);
  }
  return actions.length ? { type: request.type, name: request.name, actions } : undefined;
}

/** A short text for a denied request: `repository:team/app:push`. */
export function describeAccess(request: AccessRequest): string {
  return `${request.type}:${request.name}:${request.actions.join(",")}`;
}

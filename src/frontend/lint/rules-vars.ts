/**
 * Lint rules about variables: UndefinedVar (a `$name` in a word the builder expands — COPY/ADD sources,
 * destination and flags, ENV, LABEL, USER, WORKDIR, VOLUME, STOPSIGNAL, ARG defaults, RUN --mount values —
 * that no ENV, ARG or proxy arg defines) and SecretsUsedInArgOrEnv (ARG/ENV names that look like secrets).
 */
import type { Located } from "../ast.js";
import { expandedWords } from "../expanded-words.js";
import { suggest } from "../suggest.js";
import { PROXY_ARGS, tryExpand } from "./scope.js";
import { type LintContext, type LintRule, ruleUrl } from "./types.js";

/** Args BuildKit handles itself and never reports (SBOM scan switches). */
const NON_ENV_ARGS = new Set(["BUILDKIT_SBOM_SCAN_CONTEXT", "BUILDKIT_SBOM_SCAN_STAGE"]);

function reportUnmatched(ctx: LintContext, word: Located, env: Map<string, string>, args: Set<string>): void {
  const r = tryExpand(word.value, env, ctx.ast.escapeChar);
  if (!r) return;
  for (const name of [...r.unmatched].sort()) {
    if (args.has(name) || PROXY_ARGS.has(name) || NON_ENV_ARGS.has(name)) continue;
    const close = suggest(name, [...env.keys()]);
    ctx.report({
      range: word.range,
      message: `Usage of undefined variable '$${name}'${close ? ` (did you mean $${close}?)` : ""}`,
      suggestion: close === undefined ? undefined : `$${close}`,
      hint: close ? undefined : `declare it with ARG ${name} or ENV ${name}=<value> earlier in the stage`,
    });
  }
}

export const undefinedVar: LintRule = {
  name: "UndefinedVar",
  description: "Variables should be defined before their use",
  url: ruleUrl("UndefinedVar"),
  check(ctx) {
    for (const stage of ctx.ast.stages) {
      for (const inst of stage.instructions) {
        const scope = ctx.scopes.before.get(inst);
        if (!scope) continue;
        if (inst.kind === "Arg") {
          // Each declaration sees the ones before it.
          const env = new Map(scope.env);
          const args = new Set(scope.args);
          for (const decl of inst.args) {
            if (decl.defaultValue) {
              reportUnmatched(ctx, decl.defaultValue, env, args);
              env.set(
                decl.name.value,
                tryExpand(decl.defaultValue.value, env, ctx.ast.escapeChar)?.value ?? "",
              );
            }
            args.add(decl.name.value);
          }
          continue;
        }
        for (const word of expandedWords(inst)) reportUnmatched(ctx, word, scope.env, scope.args);
      }
    }
  },
};

const SECRET_TOKENS = [
  "apikey",
  "auth",
  "credential",
  "credentials",
  "key",
  "password",
  "pword",
  "passwd",
  "secret",
  "token",
];
const SECRET_NAME = new RegExp(`(?:_|^)(?:${SECRET_TOKENS.join("|")})(?:_|$)`, "i");
const ALLOWED_NAME = /(?:_|^)(?:public)(?:_|$)/i;

/** Whether an ARG/ENV name looks like it holds a secret (`API_KEY`, `db_password`, `GITHUB_TOKEN`). */
export function looksSecret(name: string): boolean {
  return SECRET_NAME.test(name) && !ALLOWED_NAME.test(name);
}

export const secretsUsedInArgOrEnv: LintRule = {
  name: "SecretsUsedInArgOrEnv",
  description: "Sensitive data should not be used in the ARG or ENV commands",
  url: ruleUrl("SecretsUsedInArgOrEnv"),
  check(ctx) {
    for (const stage of ctx.ast.stages) {
      for (const inst of stage.instructions) {
        const names =
          inst.kind === "Arg"
            ? inst.args.map((a) => a.name)
            : inst.kind === "Env"
              ? inst.pairs.map((p) => p.key)
              : [];
        const what = inst.kind === "Arg" ? "ARG" : "ENV";
        for (const name of names) {
          if (!looksSecret(name.value)) continue;
          ctx.report({
            range: name.range,
            message: `Do not use ARG or ENV instructions for sensitive data (${what} ${JSON.stringify(name.value)})`,
            hint: "pass secrets with RUN --mount=type=secret instead",
          });
        }
      }
    }
  },
};

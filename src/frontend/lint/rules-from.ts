/**
 * Lint rules about FROM and its global-ARG scope: UndefinedArgInFrom, InvalidDefaultArgInFrom,
 * RedundantTargetPlatform and FromPlatformFlagConstDisallowed, each expanding the base name / platform with
 * the global ARG defaults and predefined platform args, as BuildKit does with no build args given.
 */
import type { Located } from "../ast.js";
import { suggest } from "../suggest.js";
import { isValidImageReference, parsePlatform } from "./image-ref.js";
import { tryExpand } from "./scope.js";
import { type LintContext, type LintRule, ruleUrl } from "./types.js";

function reportUndeclared(ctx: LintContext, word: Located): void {
  const r = tryExpand(word.value, ctx.scopes.globalEnv, ctx.ast.escapeChar);
  if (!r) return;
  const known = new Set([...ctx.scopes.globalArgNames, ...ctx.scopes.globalEnv.keys()]);
  for (const name of [...r.unmatched].sort()) {
    if (known.has(name)) continue;
    const close = suggest(name, [...known]);
    ctx.report({
      range: word.range,
      message: `FROM argument '${name}' is not declared${close ? ` (did you mean ${close}?)` : ""}`,
      suggestion: close,
      hint: close ? undefined : `declare it with ARG ${name}=<default> before the first FROM`,
    });
  }
}

export const undefinedArgInFrom: LintRule = {
  name: "UndefinedArgInFrom",
  description: "FROM command must use declared ARGs",
  url: ruleUrl("UndefinedArgInFrom"),
  check(ctx) {
    for (const { from } of ctx.ast.stages) {
      reportUndeclared(ctx, from.image);
      if (from.platform) reportUndeclared(ctx, from.platform);
    }
  },
};

export const invalidDefaultArgInFrom: LintRule = {
  name: "InvalidDefaultArgInFrom",
  description: "Default value for global ARG results in an empty or invalid base image name",
  url: ruleUrl("InvalidDefaultArgInFrom"),
  check(ctx) {
    for (const { from } of ctx.ast.stages) {
      const r = tryExpand(from.image.value, ctx.scopes.globalEnv, ctx.ast.escapeChar);
      if (!r) return; // BuildKit abandons this check on an expansion error
      if (!isValidImageReference(r.value)) {
        ctx.report({
          range: from.image.range,
          message: `Default value for ARG ${from.image.value} results in empty or invalid base image name`,
          hint: "give the global ARG a default, e.g. ARG TAG=latest",
        });
      }
    }
  },
};

export const redundantTargetPlatform: LintRule = {
  name: "RedundantTargetPlatform",
  description:
    "Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior",
  url: ruleUrl("RedundantTargetPlatform"),
  check(ctx) {
    for (const { from } of ctx.ast.stages) {
      if (!from.platform) continue;
      const r = tryExpand(from.platform.value, ctx.scopes.globalEnv, ctx.ast.escapeChar);
      if (!r) continue;
      if (r.matched.size !== 1 || r.unmatched.size !== 0 || !r.matched.has("TARGETPLATFORM")) continue;
      if (r.value === ctx.scopes.globalEnv.get("TARGETPLATFORM")) {
        ctx.report({
          range: from.platform.range,
          message: `Setting platform to predefined ${from.platform.value} in FROM is redundant as this is the default behavior`,
          hint: "remove the --platform flag",
        });
      }
    }
  },
};

export const fromPlatformFlagConstDisallowed: LintRule = {
  name: "FromPlatformFlagConstDisallowed",
  description: "FROM --platform flag should not use a constant value",
  url: ruleUrl("FromPlatformFlagConstDisallowed"),
  check(ctx) {
    for (const { from } of ctx.ast.stages) {
      if (!from.platform) continue;
      const r = tryExpand(from.platform.value, ctx.scopes.globalEnv, ctx.ast.escapeChar);
      if (!r || r.matched.size > 0 || r.unmatched.size > 0) continue;
      const p = parsePlatform(r.value);
      if (!p) continue;
      const stageName = from.stageName?.value ?? "";
      if ((p.os !== "" && stageName.includes(p.os)) || (p.arch !== "" && stageName.includes(p.arch)))
        continue;
      ctx.report({
        range: from.platform.range,
        message: `FROM --platform flag should not use constant value ${JSON.stringify(r.value)}`,
        hint: "use --platform=$BUILDPLATFORM or name the stage after the platform",
      });
    }
  },
};

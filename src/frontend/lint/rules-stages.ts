/**
 * Lint rules about stages: StageNameCasing, FromAsCasing, DuplicateStageName, ReservedStageName, and
 * UnknownStageName (Gantry's own: a `--from`/`FROM` name that is not a stage but is one letter-swap away
 * from one, e.g. `COPY --from=biuld` with a stage `build`, which would otherwise be pulled as an image).
 */
import type { Located } from "../ast.js";
import { suggest } from "../suggest.js";
import { tryExpand } from "./scope.js";
import { type LintRule, ruleUrl } from "./types.js";

function isSelfConsistent(s: string): boolean {
  return s === s.toLowerCase() || s === s.toUpperCase();
}

export const stageNameCasing: LintRule = {
  name: "StageNameCasing",
  description: "Stage names should be lowercase",
  url: ruleUrl("StageNameCasing"),
  check(ctx) {
    for (const stage of ctx.ast.stages) {
      const written = stage.from.stageNameAsWritten;
      if (written !== undefined && written !== written.toLowerCase()) {
        ctx.report({
          range: stage.from.stageName!.range,
          message: `Stage name '${written}' should be lowercase`,
          suggestion: written.toLowerCase(),
        });
      }
    }
  },
};

export const fromAsCasing: LintRule = {
  name: "FromAsCasing",
  description: "The 'as' keyword should match the case of the 'from' keyword",
  url: ruleUrl("FromAsCasing"),
  check(ctx) {
    for (const { from } of ctx.ast.stages) {
      if (!from.asKeyword) continue;
      const kw = from.keyword;
      if (!isSelfConsistent(kw)) continue; // ConsistentInstructionCasing reports that
      const as = from.asKeyword.value;
      const ok = kw === kw.toLowerCase() ? as === as.toLowerCase() : as === as.toUpperCase();
      if (!ok) {
        ctx.report({
          range: from.asKeyword.range,
          message: `'${as}' and '${kw}' keywords' casing do not match`,
          suggestion: kw === kw.toLowerCase() ? "as" : "AS",
        });
      }
    }
  },
};

export const duplicateStageName: LintRule = {
  name: "DuplicateStageName",
  description: "Stage names should be unique",
  url: ruleUrl("DuplicateStageName"),
  check(ctx) {
    const seen = new Set<string>();
    for (const stage of ctx.ast.stages) {
      if (!stage.name) continue;
      if (seen.has(stage.name)) {
        ctx.report({
          range: stage.from.stageName!.range,
          message: `Duplicate stage name "${stage.name}", stage names should be unique`,
        });
      }
      seen.add(stage.name);
    }
  },
};

const RESERVED_STAGE_NAMES = new Set(["context", "scratch"]);

export const reservedStageName: LintRule = {
  name: "ReservedStageName",
  description: "Reserved words should not be used as stage names",
  url: ruleUrl("ReservedStageName"),
  check(ctx) {
    for (const stage of ctx.ast.stages) {
      if (stage.name && RESERVED_STAGE_NAMES.has(stage.name)) {
        ctx.report({
          range: stage.from.stageName!.range,
          message: `Stage name should not use the same name as reserved stage "${stage.name}"`,
        });
      }
    }
  },
};

/** Official images short enough to look like a misspelt stage name (`FROM bash` with a stage `base`). */
const COMMON_IMAGES = new Set(
  "alpine bash busybox centos debian fedora gcc golang haproxy httpd java mariadb memcached mongo mysql nats nginx node openjdk perl php postgres python rabbitmq redis ruby rust scratch traefik ubuntu".split(
    " ",
  ),
);

/** Looks like a plain stage name rather than an image reference or a stage index. */
function couldBeStageName(value: string): boolean {
  return /^[A-Za-z][A-Za-z0-9-_]*$/.test(value);
}

export const unknownStageName: LintRule = {
  name: "UnknownStageName",
  description: "A stage reference that matches no stage but is close to one is probably misspelt",
  url: "https://docs.docker.com/reference/dockerfile/#copy---from",
  check(ctx) {
    const names = ctx.ast.stages.flatMap((s) => (s.name ? [s.name] : []));
    if (names.length === 0) return;
    const known = new Set(names);
    const checkRef = (ref: Located, what: string) => {
      const value = ref.value.toLowerCase();
      if (known.has(value) || !couldBeStageName(ref.value) || value === "scratch" || value === "context")
        return;
      const close = suggest(value, names, true);
      if (!close) return;
      ctx.report({
        range: ref.range,
        message: `${what} "${ref.value}" is not a stage of this Dockerfile and will be used as an image (did you mean ${close}?)`,
        suggestion: close,
      });
    };
    for (const stage of ctx.ast.stages) {
      const image = tryExpand(stage.from.image.value, ctx.scopes.globalEnv, ctx.ast.escapeChar)?.value;
      if (image !== undefined && !COMMON_IMAGES.has(image.toLowerCase())) {
        checkRef({ value: image, range: stage.from.image.range }, "FROM");
      }
      for (const inst of stage.instructions) {
        if (inst.kind === "Copy" && inst.from) checkRef(inst.from, "COPY --from");
        if (inst.kind === "Run") {
          for (const m of inst.mounts)
            if (m.from !== undefined) checkRef({ value: m.from, range: m.range }, "--mount from");
        }
      }
    }
  },
};

/**
 * Lint rules about how instructions are written: ConsistentInstructionCasing (every keyword should follow
 * the file's majority casing), NoEmptyContinuation (from the raw parser's warnings), MaintainerDeprecated
 * and LegacyKeyValueFormat (`ENV key value`).
 */
import { type LintRule, ruleUrl } from "./types.js";

function isSelfConsistent(s: string): boolean {
  return s === s.toLowerCase() || s === s.toUpperCase();
}

export const consistentInstructionCasing: LintRule = {
  name: "ConsistentInstructionCasing",
  description: "All commands within the Dockerfile should use the same casing (either upper or lower)",
  url: ruleUrl("ConsistentInstructionCasing"),
  check(ctx) {
    // As in BuildKit, only instructions inside stages count (global ARGs do not).
    const instructions = ctx.ast.stages.flatMap((s) => [s.from, ...s.instructions]);
    let lower = 0;
    let upper = 0;
    for (const inst of instructions) {
      if (!isSelfConsistent(inst.keyword)) continue;
      if (inst.keyword === inst.keyword.toLowerCase()) lower++;
      else upper++;
    }
    const majorityLower = lower > upper;
    for (const inst of instructions) {
      const kw = inst.keyword;
      const casing =
        majorityLower && kw !== kw.toLowerCase()
          ? "lowercase"
          : !majorityLower && kw !== kw.toUpperCase()
            ? "uppercase"
            : undefined;
      if (casing) {
        ctx.report({
          range: inst.keywordRange,
          message: `Command '${kw}' should match the case of the command majority (${casing})`,
          suggestion: casing === "lowercase" ? kw.toLowerCase() : kw.toUpperCase(),
        });
      }
    }
  },
};

export const noEmptyContinuation: LintRule = {
  name: "NoEmptyContinuation",
  description: "Empty continuation lines will become errors in a future release",
  url: ruleUrl("NoEmptyContinuation"),
  check(ctx) {
    for (const w of ctx.raw.warnings) {
      if (w.code === "NoEmptyContinuation") {
        ctx.report({
          range: w.range,
          message: "Empty continuation line",
          hint: "remove the empty line or the continuation",
        });
      }
    }
  },
};

export const maintainerDeprecated: LintRule = {
  name: "MaintainerDeprecated",
  description: "The MAINTAINER instruction is deprecated, use a label instead to define an image author",
  url: ruleUrl("MaintainerDeprecated"),
  check(ctx) {
    for (const stage of ctx.ast.stages) {
      for (const inst of stage.instructions) {
        if (inst.kind !== "Maintainer") continue;
        ctx.report({
          range: inst.keywordRange,
          message: "Maintainer instruction is deprecated in favor of using label",
          hint: `use LABEL org.opencontainers.image.authors="${inst.maintainer.value.replace(/"/g, '\\"')}"`,
        });
      }
    }
  },
};

export const legacyKeyValueFormat: LintRule = {
  name: "LegacyKeyValueFormat",
  description: "Legacy key/value format with whitespace separator should not be used",
  url: ruleUrl("LegacyKeyValueFormat"),
  check(ctx) {
    for (const stage of ctx.ast.stages) {
      for (const inst of stage.instructions) {
        if (inst.kind !== "Env" && inst.kind !== "Label") continue;
        for (const pair of inst.pairs) {
          if (!pair.legacy) continue;
          const kw = inst.keyword;
          ctx.report({
            range: pair.range,
            message: `"${kw} key=value" should be used instead of legacy "${kw} key value" format`,
          });
        }
      }
    }
  },
};

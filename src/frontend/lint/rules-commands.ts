/**
 * Lint rules about a stage's commands: JSONArgsRecommended (shell-form CMD/ENTRYPOINT without a SHELL),
 * MultipleInstructionsDisallowed (only the last CMD/ENTRYPOINT/HEALTHCHECK of a stage counts) and
 * WorkdirRelativePath (the first WORKDIR of a stage chain is relative).
 */
import type { Instruction, Stage } from "../ast.js";
import { tryExpand } from "./scope.js";
import { type LintContext, type LintRule, ruleUrl } from "./types.js";

/** For each stage, whether some stage it builds on (or itself, before `inst`) sets SHELL / WORKDIR. */
function inheritedFlag(ctx: LintContext, stage: Stage, kind: Instruction["kind"]): boolean {
  let base = ctx.scopes.baseStage.get(stage.index);
  while (base !== undefined) {
    if (ctx.ast.stages[base]!.instructions.some((i) => i.kind === kind)) return true;
    base = ctx.scopes.baseStage.get(base);
  }
  return false;
}

export const jsonArgsRecommended: LintRule = {
  name: "JSONArgsRecommended",
  description:
    "JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals",
  url: ruleUrl("JSONArgsRecommended"),
  check(ctx) {
    for (const stage of ctx.ast.stages) {
      let shellSet = inheritedFlag(ctx, stage, "Shell");
      for (const inst of stage.instructions) {
        if (inst.kind === "Shell") shellSet = true;
        if (
          (inst.kind === "Cmd" || inst.kind === "Entrypoint") &&
          inst.command.form === "shell" &&
          !shellSet
        ) {
          const words = inst.command.text.trim();
          ctx.report({
            range: inst.command.range,
            message: `JSON arguments recommended for ${inst.keyword} to prevent unintended behavior related to OS signals`,
            hint: words.includes('"')
              ? `write ${inst.keyword.toUpperCase()} ["executable", "arg", …]`
              : `write ${inst.keyword.toUpperCase()} ${JSON.stringify(words.split(/\s+/)).replace(/","/g, '", "')}`,
          });
        }
      }
    }
  },
};

export const multipleInstructionsDisallowed: LintRule = {
  name: "MultipleInstructionsDisallowed",
  description: "Multiple instructions of the same type should not be used in the same stage",
  url: ruleUrl("MultipleInstructionsDisallowed"),
  check(ctx) {
    for (const stage of ctx.ast.stages) {
      const last = new Map<string, Instruction>();
      for (const inst of stage.instructions) {
        if (inst.kind !== "Cmd" && inst.kind !== "Entrypoint" && inst.kind !== "Healthcheck") continue;
        const previous = last.get(inst.kind);
        if (previous) {
          // The earlier one is reported: it is the one that will be ignored.
          ctx.report({
            range: previous.keywordRange,
            message: `Multiple ${inst.keyword.toUpperCase()} instructions should not be used in the same stage because only the last one will be used`,
          });
        }
        last.set(inst.kind, inst);
      }
    }
  },
};

export const workdirRelativePath: LintRule = {
  name: "WorkdirRelativePath",
  description:
    "Relative workdir without an absolute workdir declared within the build can have unexpected results if the base image changes",
  url: ruleUrl("WorkdirRelativePath"),
  check(ctx) {
    for (const stage of ctx.ast.stages) {
      let workdirSet = inheritedFlag(ctx, stage, "Workdir");
      for (const inst of stage.instructions) {
        if (inst.kind !== "Workdir") continue;
        if (!workdirSet) {
          const env = ctx.scopes.before.get(inst)?.env ?? new Map<string, string>();
          const path = tryExpand(inst.path.value, env, ctx.ast.escapeChar)?.value ?? inst.path.value;
          if (!path.startsWith("/")) {
            ctx.report({
              range: inst.path.range,
              message: `Relative workdir ${JSON.stringify(path)} can have unexpected results if the base image changes`,
              hint: `use an absolute path, e.g. WORKDIR /${path.replace(/^\.\//, "")}`,
            });
          }
        }
        workdirSet = true;
      }
    }
  },
};

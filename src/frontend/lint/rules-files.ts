/**
 * Lint rules about ports, files and descriptions: ExposeProtoCasing, ExposeInvalidFormat, CopyIgnoredFile
 * (experimental: a COPY/ADD source the build context's .dockerignore excludes) and
 * InvalidDefinitionDescription (experimental: the comment above a stage or ARG should start with its name).
 */
import type { Instruction, Located } from "../ast.js";
import { expandWords } from "../shell/index.js";
import { type LintContext, type LintRule, ruleUrl } from "./types.js";

/** EXPOSE words after BuildKit's ProcessWords expansion (which may split one word into several). */
function exposedPorts(ctx: LintContext, inst: Instruction & { kind: "Expose" }): Located[] {
  const env = ctx.scopes.before.get(inst)?.env ?? new Map<string, string>();
  return inst.ports.flatMap((p) => {
    try {
      return expandWords(p.value, env, { escape: ctx.ast.escapeChar }).words.map((w) => ({
        value: w,
        range: p.range,
      }));
    } catch {
      return [p];
    }
  });
}

function forEachExpose(ctx: LintContext, fn: (port: Located) => void): void {
  for (const stage of ctx.ast.stages) {
    for (const inst of stage.instructions) if (inst.kind === "Expose") exposedPorts(ctx, inst).forEach(fn);
  }
}

export const exposeProtoCasing: LintRule = {
  name: "ExposeProtoCasing",
  description: "Protocol in EXPOSE instruction should be lowercase",
  url: ruleUrl("ExposeProtoCasing"),
  check(ctx) {
    forEachExpose(ctx, (port) => {
      const slash = port.value.indexOf("/");
      if (slash < 0) return;
      const proto = port.value.slice(slash + 1);
      if (proto !== proto.toLowerCase()) {
        ctx.report({
          range: port.range,
          message: `Defined protocol '${port.value}' in EXPOSE instruction should be lowercase`,
          suggestion: port.value.slice(0, slash + 1) + proto.toLowerCase(),
        });
      }
    });
  },
};

export const exposeInvalidFormat: LintRule = {
  name: "ExposeInvalidFormat",
  description:
    "IP address and host-port mapping should not be used in EXPOSE instruction. This will become an error in a future release",
  url: ruleUrl("ExposeInvalidFormat"),
  check(ctx) {
    forEachExpose(ctx, (port) => {
      const spec = port.value.split("/")[0]!;
      if (!spec.includes(":")) return;
      const containerPort = spec.slice(spec.lastIndexOf(":") + 1);
      ctx.report({
        range: port.range,
        message: `EXPOSE instruction should not define an IP address or host-port mapping, found '${port.value}'`,
        suggestion: containerPort + port.value.slice(spec.length),
        hint: "publish ports when running the container (-p)",
      });
    });
  },
};

/** The context-relative path BuildKit checks against .dockerignore (`./a/b` → `a/b`, `/x` → `x`). */
function contextPath(src: string): string {
  const parts: string[] = [];
  for (const part of src.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return parts.join("/");
}

/** Whether `path` or one of its parent directories is excluded. */
function ignoredOrParent(matcher: NonNullable<LintContext["ignore"]>, path: string): boolean {
  const parts = path.split("/");
  for (let i = parts.length; i > 0; i--) if (matcher.matches(parts.slice(0, i).join("/"))) return true;
  return false;
}

export const copyIgnoredFile: LintRule = {
  name: "CopyIgnoredFile",
  description: "Attempting to Copy file that is excluded by .dockerignore",
  url: ruleUrl("CopyIgnoredFile"),
  experimental: true,
  check(ctx) {
    const matcher = ctx.ignore;
    if (!matcher) return;
    for (const stage of ctx.ast.stages) {
      for (const inst of stage.instructions) {
        if (inst.kind !== "Copy" && inst.kind !== "Add") continue;
        if (inst.kind === "Copy" && inst.from) continue; // sources come from a stage or image
        for (const s of inst.sources) {
          if (s.type !== "path") continue;
          const src = s.path.value;
          if (/^(https?|git):\/\//.test(src) || src.startsWith("git@")) continue;
          const rel = contextPath(src);
          if (rel === "" || !ignoredOrParent(matcher, rel)) continue;
          const verb = inst.kind === "Add" ? "Add" : "Copy";
          ctx.report({
            range: s.path.range,
            message: `Attempting to ${verb} file ${JSON.stringify(src)} that is excluded by .dockerignore`,
            hint: "remove the pattern from .dockerignore or do not copy this file",
          });
        }
      }
    }
  },
};

export const invalidDefinitionDescription: LintRule = {
  name: "InvalidDefinitionDescription",
  description:
    "Comment for build stage or argument should follow the format: `# <arg/stage name> <description>`. If this is not intended to be a description comment, add an empty line or comment between the instruction and the comment.",
  url: ruleUrl("InvalidDefinitionDescription"),
  experimental: true,
  check(ctx) {
    const check = (keyword: string, name: Located, comments: string[], range: Located["range"]) => {
      if (comments.length === 0) return;
      if (comments.some((c) => c.trimStart().startsWith(`${name.value} `))) return;
      ctx.report({
        range,
        message: `Comment for ${keyword} should follow the format: \`# ${name.value} <description>\``,
      });
    };
    const args = [...ctx.ast.globalArgs, ...ctx.ast.stages.flatMap((s) => s.instructions)];
    for (const inst of args) {
      if (inst.kind === "Arg")
        for (const d of inst.args) check("ARG", d.name, inst.comments, inst.keywordRange);
    }
    for (const { from } of ctx.ast.stages) {
      if (from.stageName) check("FROM", from.stageName, from.comments, from.keywordRange);
    }
  },
};

/**
 * `lintDockerfile(raw, ast, options)`: runs every enabled rule (registry.ts) under the Dockerfile's
 * `# check=` configuration and returns the findings sorted by position, plus whether they fail the check
 * (`error=true`). Unknown rule names in `skip=`/`experimental=` are findings themselves, with a suggestion.
 */
import type { DockerfileAst } from "../ast.js";
import type { RawDockerfile } from "../raw.js";
import { suggest } from "../suggest.js";
import { type LintConfig, lintConfigOf, ruleEnabled } from "./check-directive.js";
import { LINT_RULES } from "./registry.js";
import { computeScopes } from "./scope.js";
import type { IgnoreMatcherLike, LintContext, LintFinding } from "./types.js";

export type { LintConfig } from "./check-directive.js";
export { LINT_RULES } from "./registry.js";
export type { LintFinding, LintRule, Severity } from "./types.js";

export interface LintOptions {
  /** The build context's .dockerignore matcher (enables CopyIgnoredFile when that rule is turned on). */
  ignore?: IgnoreMatcherLike;
  /** Overrides the `# check=` directive. */
  config?: LintConfig;
}

export interface LintResult {
  findings: LintFinding[];
  config: LintConfig;
  /** `# check=error=true` and there are findings. */
  failed: boolean;
}

/** Findings for rule names in the check directive that do not exist. */
function unknownRuleFindings(raw: RawDockerfile, config: LintConfig): LintFinding[] {
  const directive = raw.directives.find((d) => d.name === "check");
  if (!directive) return [];
  const names = LINT_RULES.map((r) => r.name);
  const out: LintFinding[] = [];
  for (const name of [...config.skip, ...config.experimental]) {
    if (name === "" || names.includes(name)) continue;
    const close = suggest(name, names);
    out.push({
      rule: "InvalidCheckDirective",
      message: `unknown lint rule "${name}" in check directive${close ? ` (did you mean ${close}?)` : ""}`,
      range: directive.range,
      severity: "warning",
      suggestion: close,
    });
  }
  return out;
}

export function lintDockerfile(
  raw: RawDockerfile,
  ast: DockerfileAst,
  options: LintOptions = {},
): LintResult {
  const config = options.config ?? lintConfigOf(raw);
  const severity = config.errorOnFindings ? "error" : "warning";
  const findings: LintFinding[] = unknownRuleFindings(raw, config);
  const scopes = computeScopes(ast);
  for (const rule of LINT_RULES) {
    if (!ruleEnabled(config, rule.name, rule.experimental === true)) continue;
    const ctx: LintContext = {
      raw,
      ast,
      scopes,
      ignore: options.ignore,
      report(f) {
        findings.push({ rule: rule.name, severity, url: rule.url, ...f });
      },
    };
    rule.check(ctx);
  }
  findings.sort(
    (a, b) =>
      a.range.start.line - b.range.start.line ||
      a.range.start.column - b.range.start.column ||
      LINT_RULES.findIndex((r) => r.name === a.rule) - LINT_RULES.findIndex((r) => r.name === b.rule),
  );
  const failed = config.errorOnFindings && findings.some((f) => f.rule !== "InvalidCheckDirective");
  return { findings, config, failed };
}

/**
 * Lint rule and finding types. A rule is a small object with BuildKit's name, description and URL and a
 * `check` function that reports findings through the context; the registry (registry.ts) lists them all.
 */
import type { DockerfileAst } from "../ast.js";
import type { RawDockerfile, SourceRange } from "../raw.js";
import type { Scopes } from "./scope.js";

export type Severity = "warning" | "error";

/** One lint finding, before it is turned into a located, printable diagnostic. */
export interface LintFinding {
  rule: string;
  message: string;
  range: SourceRange;
  severity: Severity;
  url?: string;
  /** A replacement the user probably meant ("did you mean …"). */
  suggestion?: string;
  /** Extra advice shown as `hint:`. */
  hint?: string;
}

/** Something `.dockerignore` excludes (H2's IgnoreMatcher). */
export interface IgnoreMatcherLike {
  matches(relPath: string): boolean;
}

export interface LintContext {
  raw: RawDockerfile;
  ast: DockerfileAst;
  scopes: Scopes;
  /** Matcher of the build context's .dockerignore, when there is one. */
  ignore?: IgnoreMatcherLike;
  report(finding: { range: SourceRange; message: string; suggestion?: string; hint?: string }): void;
}

export interface LintRule {
  name: string;
  description: string;
  url: string;
  /** Experimental rules run only when `# check=experimental=<Rule>|all` enables them. */
  experimental?: boolean;
  check(ctx: LintContext): void;
}

/** BuildKit's rule documentation URL for a rule name (`StageNameCasing` → …/stage-name-casing/). */
export function ruleUrl(name: string): string {
  const slug = name
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .replace(/([A-Z])([A-Z][a-z])/g, "$1-$2")
    .toLowerCase();
  return `https://docs.docker.com/go/dockerfile/rule/${slug}/`;
}

/**
 * The `# check=` parser directive (BuildKit linter.go ParseLintOptions):
 * `skip=<Rule,Rule|all>;error=<bool>;experimental=<Rule,…|all>`, at most three `;`-separated parts.
 */
import { ParseError } from "../../errors.js";
import type { RawDockerfile } from "../raw.js";
import { locationOf } from "../validate-location.js";

export interface LintConfig {
  skipAll: boolean;
  skip: Set<string>;
  experimentalAll: boolean;
  experimental: Set<string>;
  /** `error=true`: findings fail the check. */
  errorOnFindings: boolean;
}

export function defaultLintConfig(): LintConfig {
  return {
    skipAll: false,
    skip: new Set(),
    experimentalAll: false,
    experimental: new Set(),
    errorOnFindings: false,
  };
}

function parseGoBool(v: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(v)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(v)) return false;
  return undefined;
}

function splitList(v: string): Set<string> {
  return new Set(v.split(",").map((s) => s.trim()));
}

/** Parses a `check` directive value; throws a message string on bad input. */
export function parseCheckOptions(value: string): LintConfig {
  const config = defaultLintConfig();
  const text = value.trim();
  if (text === "") return config;
  const parts: string[] = [];
  let rest = text;
  while (parts.length < 2 && rest.includes(";")) {
    const i = rest.indexOf(";");
    parts.push(rest.slice(0, i));
    rest = rest.slice(i + 1);
  }
  parts.push(rest);
  for (const part of parts) {
    const eq = part.indexOf("=");
    if (eq < 0) throw `invalid check option "${part}"`;
    const key = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (key === "skip") {
      if (v === "all") config.skipAll = true;
      else config.skip = splitList(v);
    } else if (key === "experimental") {
      if (v === "all") config.experimentalAll = true;
      else config.experimental = splitList(v);
    } else if (key === "error") {
      const b = parseGoBool(v);
      if (b === undefined) throw `failed to parse check option "${part}": invalid syntax`;
      config.errorOnFindings = b;
    } else {
      throw `invalid check option "${key}"`;
    }
  }
  return config;
}

/** The lint configuration of a Dockerfile, from its `# check=` directive (defaults when absent). */
export function lintConfigOf(raw: RawDockerfile): LintConfig {
  const directive = raw.directives.find((d) => d.name === "check");
  if (!directive) return defaultLintConfig();
  try {
    return parseCheckOptions(directive.value);
  } catch (message) {
    throw new ParseError(`failed to parse check options: ${String(message)}`, {
      location: locationOf(raw, directive.range),
      hint: "write # check=skip=Rule1,Rule2;error=true;experimental=Rule3",
    });
  }
}

/** Whether a rule runs under `config` (BuildKit: experimental rules need opting in; skip does not apply). */
export function ruleEnabled(config: LintConfig, name: string, experimental: boolean): boolean {
  if (experimental) return config.experimentalAll || config.experimental.has(name);
  return !(config.skipAll || config.skip.has(name));
}

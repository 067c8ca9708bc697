/**
 * COPY/ADD source patterns as BuildKit resolves them (fsutil copy.ResolveWildcards): the path is cleaned
 * and clamped to the source root (`../x` is `x`), split into components, and each component containing
 * `*`, `?` or `[` is matched against directory entries with Go's filepath.Match (`*` and `?` never cross
 * `/`, classes with `^` and ranges, `\` escapes). `--parents` paths may carry BuildKit's `/./` pivot.
 */
import { cleanPath, PathPattern, PathPatternSyntaxError } from "../frontend/glob.js";
import { CopyError } from "./errors.js";

/** A source pattern ready for matching. */
export interface SourcePattern {
  /** As written. */
  original: string;
  /** Cleaned, clamped to the root, relative (`""` = the root). */
  path: string;
  /** Components of `path`; each either a literal name or a compiled wildcard. */
  parts: PatternPart[];
  hasWildcards: boolean;
  /**
   * With `--parents`: the number of leading components dropped from destination paths (everything
   * before a `/./` pivot; 0 without one).
   */
  pivot: number;
}

export type PatternPart = { kind: "literal"; name: string } | { kind: "wildcard"; matcher: PathPattern };

const WILDCARD = /(^|[^\\])(\\\\)*[*?[]/;

/** True when a component contains an unescaped `*`, `?` or `[`. */
export function containsWildcards(component: string): boolean {
  return WILDCARD.test(component);
}

/** Removes `\` escapes from a literal component (`a\*b` names the file `a*b`). */
function unescapeComponent(component: string): string {
  return component.replace(/\\(.)/g, "$1");
}

export function parseSourcePattern(original: string): SourcePattern {
  let pivot = 0;
  let text = original;
  const pivotAt = text.indexOf("/./");
  if (pivotAt >= 0) {
    const before = cleanPath(`/${text.slice(0, pivotAt)}`).slice(1);
    pivot = before === "" ? 0 : before.split("/").length;
  }
  text = cleanPath(`/${text}`).slice(1);
  const names = text === "" ? [] : text.split("/");
  let hasWildcards = false;
  const parts = names.map((name): PatternPart => {
    if (!containsWildcards(name)) return { kind: "literal", name: unescapeComponent(name) };
    hasWildcards = true;
    try {
      return { kind: "wildcard", matcher: new PathPattern(name) };
    } catch (error) {
      if (!(error instanceof PathPatternSyntaxError)) throw error;
      throw new CopyError(
        "COPY_INVALID",
        `bad source pattern ${JSON.stringify(original)}: ${error.message}`,
        {
          path: original,
          hint: "escape a literal `[`, `*` or `?` with `\\`",
        },
      );
    }
  });
  const path = parts.map((p) => (p.kind === "literal" ? p.name : "")).join("/");
  return { original, path: hasWildcards ? text : path, parts, hasWildcards, pivot };
}

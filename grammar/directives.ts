/**
 * Parser directives (`# syntax=…`, `# escape=…`, `# check=…`): which comment lines at the top of a file are
 * directives, and the escape character they select. The line lexer uses `matchDirective` to give such lines
 * their own token; `scanEscape` runs first so the right lexer (one per escape char) can be picked.
 */
import { skipS, trimNLEnd } from "./chars.js";

export const DIRECTIVE_NAMES = ["syntax", "escape", "check"] as const;

/** `key = value` after the `#` (Go: `^([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*$`). */
const DIRECTIVE_BODY = /^([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*([^\n]+?)[\t\n\f\r ]*$/;

export interface DirectiveMatch {
  /** Lower-cased key. */
  name: string;
  value: string;
  /** Offsets (in the text) of the value. */
  valueStart: number;
  valueEnd: number;
}

/** If text[start, end) (one physical line) is a known directive line, its key and value. */
export function matchDirective(text: string, start: number, end: number): DirectiveMatch | undefined {
  const contentEnd = trimNLEnd(text, start, end);
  const hash = skipS(text, start, contentEnd);
  if (hash >= contentEnd || text.charCodeAt(hash) !== 0x23) return undefined;
  const bodyStart = skipS(text, hash + 1, contentEnd);
  const m = DIRECTIVE_BODY.exec(text.slice(bodyStart, contentEnd));
  if (!m) return undefined;
  const name = m[1]!.toLowerCase();
  if (!(DIRECTIVE_NAMES as readonly string[]).includes(name)) return undefined;
  const value = m[2]!;
  const valueStart = bodyStart + m[0].lastIndexOf(value, m[0].length);
  return { name, value, valueStart, valueEnd: valueStart + value.length };
}

/** Offset where the first physical line starts (after a UTF-8 BOM). */
export function contentStart(text: string): number {
  return text.charCodeAt(0) === 0xfeff ? 1 : 0;
}

/**
 * The escape character chosen by the directive section (the leading run of directive lines). Errors in the
 * directives (bad value, repeats) are reported later, by the parser's semantic pass; here a bad value just
 * keeps the default.
 */
export function scanEscape(text: string): "\\" | "`" {
  let escapeChar: "\\" | "`" = "\\";
  let pos = contentStart(text);
  while (pos < text.length) {
    const nl = text.indexOf("\n", pos);
    const end = nl < 0 ? text.length : nl + 1;
    const d = matchDirective(text, pos, end);
    if (!d) break;
    if (d.name === "escape" && (d.value === "`" || d.value === "\\")) escapeChar = d.value;
    pos = end;
  }
  return escapeChar;
}

/**
 * Renders a source location the way compilers do: `file:line:col: message`, the offending line, and a caret
 * (or a run of carets) under the spot. Used by the CLI for errors and lint findings.
 */
import type { SourceLocation } from "../errors.js";

/** Display width of a line prefix: tabs are kept as tabs so the caret lines up in a terminal. */
function padFor(prefix: string): string {
  let out = "";
  for (const ch of prefix) out += ch === "\t" ? "\t" : " ";
  return out;
}

export function formatLocation(loc: SourceLocation): string {
  return `${loc.file}:${loc.line}:${loc.column}`;
}

/** The source line and a caret line under `loc`, or "" when the line text is unknown. */
export function caretSnippet(loc: SourceLocation): string {
  if (loc.sourceLine === undefined) return "";
  const line = loc.sourceLine.replace(/\r$/, "");
  const chars = Array.from(line);
  const start = Math.max(0, Math.min(loc.column - 1, chars.length));
  const end = Math.max(start + 1, Math.min((loc.endColumn ?? loc.column + 1) - 1, chars.length));
  const gutter = `${String(loc.line).padStart(4)} | `;
  const caret = `${" ".repeat(gutter.length - 2)}| ${padFor(chars.slice(0, start).join(""))}${"^".repeat(end - start)}`;
  return `${gutter}${line}\n${caret}`;
}

/** `file:line:col: label: message`, snippet, `hint: …` — the complete block for one diagnostic. */
export function formatDiagnostic(
  label: string,
  message: string,
  loc: SourceLocation | undefined,
  hint?: string,
): string {
  const head = loc ? `${formatLocation(loc)}: ${label}: ${message}` : `${label}: ${message}`;
  const parts = [head];
  if (loc) {
    const snippet = caretSnippet(loc);
    if (snippet) parts.push(snippet);
  }
  if (hint) parts.push(`  hint: ${hint}`);
  return parts.join("\n");
}

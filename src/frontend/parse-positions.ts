/**
 * Source positions for the parser: file-text offsets → 1-based line / code-point column, logical-line spans
 * → SourceRange, and error locations with the source line for the caret display.
 */
import type { LogicalLine, Span } from "../../grammar/index.js";
import type { SourceLocation } from "../errors.js";
import type { SourcePos, SourceRange } from "./raw.js";

/** Column (1-based, in code points) of `offset` on the physical line starting at `lineStart`. */
export function columnOf(text: string, lineStart: number, offset: number, astral: boolean): number {
  if (!astral) return offset - lineStart + 1;
  let col = 1;
  for (let i = lineStart; i < offset; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < offset && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) i++;
    col++;
  }
  return col;
}

/** Maps spans of one logical line to source ranges. */
export class LineMapper {
  constructor(
    private readonly text: string,
    private readonly line: LogicalLine,
  ) {}

  pos(at: number, isEnd: boolean): SourcePos {
    const l = this.line;
    const k = l.count === 1 ? 0 : l.pieceAt(at, isEnd);
    const offset = l.textOffset(k, at);
    const lineStart = l.lineStart[k]!;
    const column = l.astral[k] ? columnOf(this.text, lineStart, offset, true) : offset - lineStart + 1;
    return { line: l.line[k]!, column };
  }

  range(span: Span): SourceRange {
    const start = this.pos(span.start, false);
    const end = span.end <= span.start ? { ...start } : this.pos(span.end, true);
    return { start, end };
  }
}

/** A SourceLocation for a range, with the text of its first line and an end column when on one line. */
export function locationOf(file: string, lines: string[], range: SourceRange): SourceLocation {
  const loc: SourceLocation = { file, line: range.start.line, column: range.start.column };
  if (range.end.line === range.start.line && range.end.column > range.start.column)
    loc.endColumn = range.end.column;
  const src = lines[range.start.line - 1];
  if (src !== undefined) loc.sourceLine = src;
  return loc;
}

/** Location of a whole physical line (1-based). */
export function lineLocation(file: string, lines: string[], line: number, column = 1): SourceLocation {
  return { file, line, column, sourceLine: lines[line - 1] ?? "" };
}

/** Physical lines without their `\n` (and without a leading BOM). */
export function physicalLines(text: string): string[] {
  const start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const lines = text.slice(start).split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

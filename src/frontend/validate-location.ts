/**
 * Source locations for diagnostics: turns a range of the raw tree into a `SourceLocation` (file, line,
 * columns, the line's text) and builds the `InstructionError`s that AST building throws.
 */
import { InstructionError, type SourceLocation } from "../errors.js";
import type { SourceRange } from "./raw.js";

/** What a location needs from the raw file: its display name and physical lines. */
export interface SourceText {
  file: string;
  lines: string[];
}

/**
 * The location of `range`. A range spanning several lines is shown on its first line, up to that line's end.
 */
export function locationOf(src: SourceText, range: SourceRange): SourceLocation {
  const line = range.start.line;
  const sourceLine = src.lines[line - 1];
  let endColumn = range.end.column;
  if (range.end.line !== line) {
    endColumn = (sourceLine === undefined ? range.start.column : Array.from(sourceLine).length) + 1;
  }
  if (endColumn <= range.start.column) endColumn = range.start.column + 1;
  return { file: src.file, line, column: range.start.column, endColumn, sourceLine };
}

/** An `InstructionError` pointing at `range`. */
export function instructionError(
  src: SourceText,
  range: SourceRange,
  message: string,
  hint?: string,
): InstructionError {
  return new InstructionError(message, { location: locationOf(src, range), hint });
}

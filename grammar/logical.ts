/**
 * Joining the physical lines of one instruction into its logical line (BuildKit's continuation handling):
 * the first line is S-trimmed on the left; each continued line loses its escape char and the blanks after
 * it; comment and blank lines inside the continuation are dropped; nothing is inserted between pieces.
 * Each piece remembers where it came from, so offsets in the logical line map back to physical positions.
 */
import type { IToken } from "chevrotain";
import { skipS, trimNLEnd } from "./chars.js";
import { Blank, Comment, Continued, continues } from "./lines.js";

export interface Segment {
  /** Offset of the piece in the logical line. */
  at: number;
  /** Offset of the piece in the file text. */
  textStart: number;
  length: number;
  /** 1-based physical line number and the offset where that line starts. */
  line: number;
  lineStart: number;
  /** The physical line holds astral characters (columns need counting). */
  astral: boolean;
}

export interface LogicalLine {
  text: string;
  segments: Segment[];
  /** An empty line inside the continuation (BuildKit warns about these). */
  hasEmptyContinuation: boolean;
}

/**
 * Joins the line tokens of one instruction (first line, then continuation lines in order). `mayBeAstral`
 * false promises the file holds no astral characters (their lines need column counting), so lines need
 * not be checked one by one.
 */
export function joinLogicalLine(
  text: string,
  lines: IToken[],
  esc: number,
  lineOf: (tok: IToken) => number,
  mayBeAstral = true,
): LogicalLine {
  const segments: Segment[] = [];
  let out = "";
  let hasEmptyContinuation = false;
  for (let k = 0; k < lines.length; k++) {
    const tok = lines[k]!;
    const type = tok.tokenType;
    if (k > 0 && type === Comment) continue;
    if (k > 0 && type === Blank) {
      hasEmptyContinuation = true;
      continue;
    }
    const lineStart = tok.startOffset;
    const lineEnd = trimNLEnd(text, lineStart, lineStart + tok.image.length);
    const start = k === 0 ? skipS(text, lineStart, lineEnd) : lineStart;
    let end = lineEnd;
    if (type === Continued) {
      const cut = continues(text, start, lineEnd, esc);
      if (cut >= 0) end = cut;
    }
    const line = lineOf(tok);
    const astral = mayBeAstral && HIGH_SURROGATE.test(tok.image);
    segments.push({ at: out.length, textStart: start, length: end - start, line, lineStart, astral });
    out = k === 0 ? text.slice(start, end) : out + text.slice(start, end);
  }
  return { text: out, segments, hasEmptyContinuation };
}

const HIGH_SURROGATE = /[\uD800-\uDBFF]/;

/** Index of the piece holding a logical-line offset (an end maps to the earlier piece). */
export function segmentIndexOf(segs: Segment[], at: number, isEnd: boolean): number {
  if (segs.length === 0) throw new Error("internal: empty logical line");
  let lo = 0;
  let hi = segs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    const s = segs[mid]!;
    if (s.at < at || (!isEnd && s.at === at)) lo = mid;
    else hi = mid - 1;
  }
  // Skip empty pieces when looking for a start position.
  if (!isEnd) {
    while (lo + 1 < segs.length && segs[lo]!.length === 0 && segs[lo + 1]!.at === at) lo++;
  }
  return lo;
}

/** The file-text offset of a logical-line offset inside piece `seg`. */
export function offsetInSegment(seg: Segment, at: number): number {
  return seg.textStart + Math.max(0, Math.min(at - seg.at, seg.length));
}

/** The piece holding a logical-line offset and the file-text offset (an end maps to the earlier piece). */
export function textOffsetOf(
  line: LogicalLine,
  at: number,
  isEnd: boolean,
): { seg: Segment; offset: number } {
  const seg = line.segments[segmentIndexOf(line.segments, at, isEnd)]!;
  return { seg, offset: offsetInSegment(seg, at) };
}

/**
 * Joining the physical lines of one instruction into its logical line (BuildKit's continuation handling):
 * the first line is S-trimmed on the left; each continued line loses its escape char and the blanks after
 * it; comment and blank lines inside the continuation are dropped; nothing is inserted between pieces.
 * Each piece remembers where it came from, so offsets in the logical line map back to physical positions.
 *
 * A LogicalLine keeps its pieces in flat typed arrays and is meant to be refilled for each instruction of a
 * file (one per parse), so joining allocates nothing but the joined text.
 */
import type { IToken } from "chevrotain";
import { skipS, trimNLEnd } from "./chars.js";
import { Blank, Comment, Continued, continues } from "./lines.js";

export class LogicalLine {
  text = "";
  /** Number of pieces (at least 1 once joined). */
  count = 0;
  /** An empty line inside the continuation (BuildKit warns about these). */
  hasEmptyContinuation = false;
  /** Per piece: its offset in the logical line. */
  at = new Int32Array(8);
  /** Per piece: its offset in the file text, and its length. */
  textStart = new Int32Array(8);
  length = new Int32Array(8);
  /** Per piece: the 1-based physical line number and the offset where that line starts. */
  line = new Int32Array(8);
  lineStart = new Int32Array(8);
  /** Per piece: 1 when the physical line holds astral characters (columns need counting). */
  astral = new Uint8Array(8);

  /** Offset just past the last piece, in the logical line. */
  end(): number {
    const k = this.count - 1;
    return this.at[k]! + this.length[k]!;
  }

  /** Index of the piece holding a logical-line offset (an end maps to the earlier piece). */
  pieceAt(at: number, isEnd: boolean): number {
    if (this.count === 0) throw new Error("internal: empty logical line");
    let lo = 0;
    let hi = this.count - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      const a = this.at[mid]!;
      if (a < at || (!isEnd && a === at)) lo = mid;
      else hi = mid - 1;
    }
    // Skip empty pieces when looking for a start position.
    if (!isEnd) {
      while (lo + 1 < this.count && this.length[lo] === 0 && this.at[lo + 1] === at) lo++;
    }
    return lo;
  }

  /** The file-text offset of a logical-line offset inside piece k. */
  textOffset(k: number, at: number): number {
    return this.textStart[k]! + Math.max(0, Math.min(at - this.at[k]!, this.length[k]!));
  }

  private push(
    at: number,
    textStart: number,
    length: number,
    line: number,
    lineStart: number,
    astral: boolean,
  ) {
    const k = this.count++;
    if (k === this.at.length) this.grow();
    this.at[k] = at;
    this.textStart[k] = textStart;
    this.length[k] = length;
    this.line[k] = line;
    this.lineStart[k] = lineStart;
    this.astral[k] = astral ? 1 : 0;
  }

  private grow(): void {
    const n = this.at.length * 2;
    const wider = <T extends Int32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.at = wider(this.at, (m) => new Int32Array(m));
    this.textStart = wider(this.textStart, (m) => new Int32Array(m));
    this.length = wider(this.length, (m) => new Int32Array(m));
    this.line = wider(this.line, (m) => new Int32Array(m));
    this.lineStart = wider(this.lineStart, (m) => new Int32Array(m));
    this.astral = wider(this.astral, (m) => new Uint8Array(m));
  }

  /**
   * Refills this line from the line tokens of one instruction (first line, then continuation lines in
   * order). `mayBeAstral` false promises the file holds no astral characters, so lines need no check.
   */
  join(
    text: string,
    lines: IToken[],
    esc: number,
    lineOf: (tok: IToken) => number,
    mayBeAstral = true,
  ): this {
    this.count = 0;
    this.hasEmptyContinuation = false;
    let out = "";
    for (let k = 0; k < lines.length; k++) {
      const tok = lines[k]!;
      const type = tok.tokenType;
      if (k > 0 && type === Comment) continue;
      if (k > 0 && type === Blank) {
        this.hasEmptyContinuation = true;
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
      const astral = mayBeAstral && HIGH_SURROGATE.test(tok.image);
      this.push(out.length, start, end - start, lineOf(tok), lineStart, astral);
      out = k === 0 ? text.slice(start, end) : out + text.slice(start, end);
    }
    this.text = out;
    return this;
  }
}

const HIGH_SURROGATE = /[\uD800-\uDBFF]/;

/** Joins the line tokens of one instruction into a new LogicalLine. */
export function joinLogicalLine(
  text: string,
  lines: IToken[],
  esc: number,
  lineOf: (tok: IToken) => number,
  mayBeAstral = true,
): LogicalLine {
  return new LogicalLine().join(text, lines, esc, lineOf, mayBeAstral);
}

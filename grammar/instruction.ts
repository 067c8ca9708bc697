/**
 * One logical line → keyword, builder flags and the rest (BuildKit splitCommand + extractBuilderFlags).
 * Offsets are code-unit offsets into the logical line; the caller maps them to physical positions.
 *
 *   instruction = S* keyword [ W+ { S-byte* flag } [ "--" ] rest ] S*
 *   flag        = "--" { quoted | E byte | non-space byte }     (scanned byte-wise, see bytes.ts)
 */

import { type ByteView, byteView, isSpaceByte, textFromByte } from "./bytes.js";
import { isW, skipS, skipSBack } from "./chars.js";

export interface Span {
  start: number;
  end: number;
}

export interface FlagWord extends Span {
  /** The flag as dumped: quotes and escapes removed, bytes ≥ 0x80 as U+0080–U+00FF. */
  text: string;
}

/** Text plus where it sits in the logical line: line offset of text[i] is `offset + i`. */
export interface Piece {
  text: string;
  offset: number;
}

export interface SplitLine {
  keyword: Span;
  flags: FlagWord[];
  /** trimS(rest), with its offset in the line. */
  rest: Piece;
}

/** No flags (shared: shapes never modify their flag lists). */
const NO_FLAGS: FlagWord[] = [];

/** Splits line[from, to) into keyword, flags and rest. */
export function splitInstruction(line: string, from: number, to: number, esc: number): SplitLine {
  const a = skipS(line, from, to);
  const b = skipSBack(line, a, to);
  let k = a;
  while (k < b && !isW(line.charCodeAt(k))) k++;
  const keyword = { start: a, end: k };
  if (k === b) return { keyword, flags: NO_FLAGS, rest: { text: "", offset: b } };
  let r = k;
  while (r < b && isW(line.charCodeAt(r))) r++;
  const scan = extractFlags(line, r, b, esc);
  if (scan.restText === undefined) {
    // The rest is line[restStart, b): trim it in place, slice once.
    const rs = skipS(line, scan.restStart, b);
    const re = skipSBack(line, rs, b);
    return { keyword, flags: scan.flags, rest: { text: line.slice(rs, re), offset: rs } };
  }
  const text = scan.restText;
  const rs = skipS(text, 0, text.length);
  const re = skipSBack(text, rs, text.length);
  return { keyword, flags: scan.flags, rest: { text: text.slice(rs, re), offset: scan.restStart + rs } };
}

/**
 * Result of a flag scan over line[from, to): the rest is line[restStart, to), unless `restText` is set (a
 * cut inside a multi-byte character), in which case the rest is restText at offset restStart.
 */
export interface FlagScan {
  flags: FlagWord[];
  restStart: number;
  restText?: string;
}

/**
 * BuildKit extractBuilderFlags over line[from, to), byte-wise. ASCII text is scanned on code units
 * directly; when a non-ASCII character is met, the scan restarts over a byte view.
 */
export function extractFlags(line: string, from: number, to: number, esc: number): FlagScan {
  // Common case, no allocation beyond the result: the first byte after ASCII spaces is ASCII and not "--".
  let i = from;
  while (i < to && line.charCodeAt(i) < 0x80 && isSpaceByte(line.charCodeAt(i))) i++;
  const c0 = line.charCodeAt(i);
  if (i === to || (c0 < 0x80 && (c0 !== 0x2d || line.charCodeAt(i + 1) !== 0x2d))) {
    return { flags: NO_FLAGS, restStart: i };
  }
  const fast = scanFlags(new AsciiSource(line, from, to), esc);
  if (fast) return fast;
  return scanFlags(new ByteViewSource(line, from, to), esc)!;
}

/** Bytes to scan: `byte(k)` is -1 to abort (non-ASCII in the fast path); `unit(k)` maps to a line offset. */
interface ByteSource {
  length: number;
  byte(k: number): number;
  unit(k: number): number;
  /** The text of bytes [a, b) when it equals those bytes as U+0000–U+00FF chars (ASCII source only). */
  slice?(a: number, b: number): string;
  /** The rest of the line from byte k. */
  restAt(k: number): FlagScan;
}

/** The ASCII fast path: bytes are code units; any non-ASCII unit aborts the scan. */
class AsciiSource implements ByteSource {
  readonly length: number;
  constructor(
    private readonly line: string,
    private readonly from: number,
    private readonly to: number,
  ) {
    this.length = to - from;
  }
  byte(k: number): number {
    const c = this.line.charCodeAt(this.from + k);
    return c < 0x80 ? c : -1;
  }
  unit(k: number): number {
    return this.from + k;
  }
  slice(a: number, b: number): string {
    return this.line.slice(this.from + a, this.from + b);
  }
  restAt(k: number): FlagScan {
    return { flags: NO_FLAGS, restStart: this.from + k };
  }
}

/** The general path over the UTF-8 bytes of the line. */
class ByteViewSource implements ByteSource {
  readonly length: number;
  private readonly v: ByteView;
  constructor(
    private readonly line: string,
    from: number,
    private readonly to: number,
  ) {
    this.v = byteView(line, from, to);
    this.length = this.v.bytes.length;
  }
  byte(k: number): number {
    return this.v.bytes[k]!;
  }
  unit(k: number): number {
    return k < this.length ? this.v.unitStart[k]! : this.to;
  }
  restAt(k: number): FlagScan {
    const rest = textFromByte(this.line, this.v, k, this.to);
    return { flags: NO_FLAGS, restStart: rest.offset, restText: rest.text };
  }
}

function scanFlags(src: ByteSource, esc: number): FlagScan | undefined {
  let flags = NO_FLAGS;
  const done = (k: number): FlagScan => {
    const r = src.restAt(k);
    r.flags = flags;
    return r;
  };
  const n = src.length;
  let pos = 0;
  for (;;) {
    let c = -2;
    while (pos < n) {
      c = src.byte(pos);
      if (c < 0 || !isSpaceByte(c)) break;
      pos++;
    }
    if (c === -1) return undefined;
    if (pos >= n) return done(n);
    const c1 = pos + 1 < n ? src.byte(pos + 1) : -2;
    if (c1 === -1) return undefined;
    if (c !== 0x2d || c1 !== 0x2d) return done(pos);
    const wordStart = pos;
    // Plain words (no quote or escape) are sliced at the end; others are built byte by byte.
    let plain = src.slice !== undefined;
    let word = "";
    let quote = 0;
    let blankOK = false;
    while (pos < n) {
      c = src.byte(pos);
      if (c < 0) return undefined;
      if (quote !== 0) {
        if (c === quote) {
          quote = 0;
          pos++;
          continue;
        }
      } else if (isSpaceByte(c)) break;
      else if (c === 0x27 || c === 0x22) {
        if (plain) word = src.slice!(wordStart, pos);
        plain = false;
        quote = c;
        blankOK = true;
        pos++;
        continue;
      }
      if (c === esc) {
        if (plain) word = src.slice!(wordStart, pos);
        plain = false;
        pos++;
        if (pos === n) continue; // an esc as very last byte is dropped
        c = src.byte(pos);
        if (c < 0) return undefined;
      }
      if (!plain) word += String.fromCharCode(c);
      pos++;
    }
    if (plain) word = src.slice!(wordStart, pos);
    if (word === "--") return done(pos);
    if (blankOK || word.length > 0) {
      if (flags === NO_FLAGS) flags = [];
      flags.push({ text: word, start: src.unit(wordStart), end: src.unit(pos) });
    }
    if (pos >= n) return done(n);
  }
}

/**
 * One logical line → keyword, builder flags and the rest (BuildKit splitCommand + extractBuilderFlags).
 * Offsets are code-unit offsets into the logical line; the caller maps them to physical positions.
 *
 *   instruction = S* keyword [ W+ { S-byte* flag } [ "--" ] rest ] S*
 *   flag        = "--" { quoted | E byte | non-space byte }     (scanned byte-wise, see bytes.ts)
 */

import { byteView, isSpaceByte, textFromByte } from "./bytes.js";
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

/** Splits line[from, to) into keyword, flags and rest. */
export function splitInstruction(line: string, from: number, to: number, esc: number): SplitLine {
  const a = skipS(line, from, to);
  const b = skipSBack(line, a, to);
  let k = a;
  while (k < b && !isW(line.charCodeAt(k))) k++;
  const keyword = { start: a, end: k };
  if (k === b) return { keyword, flags: [], rest: { text: "", offset: b } };
  let r = k;
  while (r < b && isW(line.charCodeAt(r))) r++;
  const { flags, rest } = extractFlags(line, r, b, esc);
  const rs = skipS(rest.text, 0, rest.text.length);
  const re = skipSBack(rest.text, rs, rest.text.length);
  return { keyword, flags, rest: { text: rest.text.slice(rs, re), offset: rest.offset + rs } };
}

/** Result of a flag scan. */
interface FlagScan {
  flags: FlagWord[];
  rest: Piece;
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
    return { flags: [], rest: { text: i === from ? line.slice(from, to) : line.slice(i, to), offset: i } };
  }
  const fast = scanFlags(asciiSource(line, from, to), esc, (k) => ({
    text: line.slice(from + k, to),
    offset: from + k,
  }));
  if (fast) return fast;
  const v = byteView(line, from, to);
  const n = v.bytes.length;
  const src: ByteSource = {
    length: n,
    byte: (k) => v.bytes[k]!,
    unit: (k) => (k < n ? v.unitStart[k]! : to),
  };
  return scanFlags(src, esc, (k) => textFromByte(line, v, k, to))!;
}

/** Bytes to scan: `byte(k)` is -1 to abort (non-ASCII in the fast path); `unit(k)` maps to a line offset. */
interface ByteSource {
  length: number;
  byte(k: number): number;
  unit(k: number): number;
  /** The text of bytes [a, b) when it equals those bytes as U+0000–U+00FF chars (ASCII source only). */
  slice?(a: number, b: number): string;
}

function asciiSource(line: string, from: number, to: number): ByteSource {
  return {
    length: to - from,
    byte: (k) => {
      const c = line.charCodeAt(from + k);
      return c < 0x80 ? c : -1;
    },
    unit: (k) => from + k,
    slice: (a, b) => line.slice(from + a, from + b),
  };
}

function scanFlags(src: ByteSource, esc: number, restAt: (k: number) => Piece): FlagScan | undefined {
  const flags: FlagWord[] = [];
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
    if (pos >= n) return { flags, rest: restAt(n) };
    const c1 = pos + 1 < n ? src.byte(pos + 1) : -2;
    if (c1 === -1) return undefined;
    if (c !== 0x2d || c1 !== 0x2d) return { flags, rest: restAt(pos) };
    const wordStart = pos;
    // Plain words (no quote or escape) are sliced at the end; others are built byte by byte.
    let plain = src.slice !== undefined;
    let word = "";
    let quote = 0;
    let blankOK = false;
    const leavePlain = (): void => {
      if (plain) word = src.slice!(wordStart, pos);
      plain = false;
    };
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
        leavePlain();
        quote = c;
        blankOK = true;
        pos++;
        continue;
      }
      if (c === esc) {
        leavePlain();
        pos++;
        if (pos === n) continue; // an esc as very last byte is dropped
        c = src.byte(pos);
        if (c < 0) return undefined;
      }
      if (!plain) word += String.fromCharCode(c);
      pos++;
    }
    if (plain) word = src.slice!(wordStart, pos);
    const span = { start: src.unit(wordStart), end: src.unit(pos) };
    if (word === "--") return { flags, rest: restAt(pos) };
    if (blankOK || word.length > 0) flags.push({ text: word, ...span });
    if (pos >= n) return { flags, rest: restAt(n) };
  }
}

/**
 * Arguments of an instruction by keyword (BuildKit's dispatch table in line_parsers.go): whitespace lists,
 * exec-form JSON arrays, verbatim shell text, ENV/LABEL name=value pairs, ARG words, HEALTHCHECK, ONBUILD.
 * All spans are offsets into `Piece.text` shifted by `Piece.offset` (= offsets in the logical line).
 */

import { type ByteView, byteView, isSpaceByte, textFromByte } from "./bytes.js";
import { isS, isW } from "./chars.js";
import type { Piece, Span } from "./instruction.js";

export interface ArgWord extends Span {
  value: string;
}

/** A fatal problem in the instruction text; the caller adds the source location. */
export class GrammarFault extends Error {
  constructor(
    message: string,
    readonly span: Span,
    readonly hint: string,
  ) {
    super(message);
  }
}

export type ArgStyle =
  | "none"
  | "words"
  | "list"
  | "command"
  | "text"
  | "healthcheck"
  | "nameval"
  | "arg"
  | "sub";

/** How each known (lower-cased) keyword's rest is parsed; unknown keywords get one empty arg. */
export const ARG_STYLE: Record<string, ArgStyle> = {
  from: "words",
  expose: "words",
  add: "list",
  copy: "list",
  volume: "list",
  run: "command",
  cmd: "command",
  entrypoint: "command",
  shell: "command",
  maintainer: "text",
  user: "text",
  workdir: "text",
  stopsignal: "text",
  healthcheck: "healthcheck",
  env: "nameval",
  label: "nameval",
  arg: "arg",
  onbuild: "sub",
};

const at = (p: Piece, start: number, end: number, value: string): ArgWord => ({
  value,
  start: p.offset + start,
  end: p.offset + end,
});

/** Pieces of p separated by runs of W (p is S-trimmed, so no piece is empty). */
export function splitW(p: Piece): ArgWord[] {
  const out: ArgWord[] = [];
  const s = p.text;
  let i = 0;
  while (i < s.length) {
    const start = i;
    while (i < s.length && !isW(s.charCodeAt(i))) i++;
    out.push(at(p, start, i, s.slice(start, i)));
    while (i < s.length && isW(s.charCodeAt(i))) i++;
  }
  return out;
}

/** Invalid bytes and lone surrogates become U+FFFD (Go decodes such text rune by rune). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const ANY_SURROGATE = /[\uD800-\uDFFF]/;
export function toValidUnicode(s: string): string {
  return ANY_SURROGATE.test(s) ? s.replace(LONE_SURROGATE, "\ufffd") : s;
}

/**
 * BuildKit parseWords: S-separated words; quotes kept; `'…'` takes E literally; in `"…"` E and the next rune
 * are kept and an escaped `"` does not close; outside quotes E and the next rune are kept; an E that is the
 * last rune is dropped; an unterminated quote runs to the end. Invalid bytes become U+FFFD.
 */
export function parseWords(p: Piece, esc: number): ArgWord[] {
  // Every rune of a word is kept verbatim except an escape char that is the last rune of s, so each word
  // is a slice of s: [start, end).
  const s = p.text;
  const n = s.length;
  const words: ArgWord[] = [];
  let start = -1;
  let quote = 0;
  let blankOK = false;
  const push = (end: number, spanEnd: number): void => {
    if (blankOK || end > start) words.push(at(p, start, spanEnd, toValidUnicode(s.slice(start, end))));
  };
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (start < 0) {
      if (isS(c)) {
        i++;
        continue;
      }
      start = i;
    }
    if (quote === 0) {
      if (isS(c)) {
        push(i, i);
        blankOK = false;
        start = -1;
        i++;
        continue;
      }
      if (c === 0x27 || c === 0x22) {
        quote = c;
        blankOK = true;
        i++;
        continue;
      }
    } else if (c === quote) {
      quote = 0;
      i++;
      continue;
    }
    if (c === esc && quote !== 0x27) {
      if (i + 1 === n) {
        push(i, n); // an escape char as last rune is dropped
        return words;
      }
      i++;
      const h = s.charCodeAt(i);
      // The escaped rune: a surrogate pair counts as one.
      i += h >= 0xd800 && h <= 0xdbff && i + 1 < n && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
      continue;
    }
    i++;
  }
  if (start >= 0) push(n, n);
  return words;
}

/** Exec form: args when p is one JSON array of strings; undefined when p is not JSON; throws if not strings. */
export function parseJSONArgs(p: Piece): ArgWord[] | undefined {
  const s = p.text;
  if (s.charCodeAt(0) !== 0x5b) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(s);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || hasNonFiniteNumber(parsed)) return undefined;
  if (!parsed.every((e) => typeof e === "string")) {
    throw new GrammarFault(
      "when using JSON array syntax, arrays must be comprised of strings only",
      { start: p.offset, end: p.offset + s.length },
      'write every element as a JSON string, e.g. ["echo", "1"]',
    );
  }
  const spans = stringLiteralSpans(s);
  return (parsed as string[]).map((v, k) => {
    const sp = spans[k] ?? { start: 0, end: s.length };
    return at(p, sp.start, sp.end, toValidUnicode(v));
  });
}

/** Go rejects numbers that overflow float64 (the array is then not JSON); JS parses them as Infinity. */
function hasNonFiniteNumber(v: unknown): boolean {
  if (typeof v === "number") return !Number.isFinite(v);
  if (Array.isArray(v)) return v.some(hasNonFiniteNumber);
  if (v !== null && typeof v === "object") return Object.values(v).some(hasNonFiniteNumber);
  return false;
}

/** Spans of the top-level string literals of a valid JSON array of strings, in order. */
function stringLiteralSpans(s: string): Span[] {
  const out: Span[] = [];
  let i = 0;
  while (i < s.length) {
    if (s.charCodeAt(i) !== 0x22) {
      i++;
      continue;
    }
    const start = i++;
    while (i < s.length && s.charCodeAt(i) !== 0x22) i += s.charCodeAt(i) === 0x5c ? 2 : 1;
    out.push({ start, end: ++i });
  }
  return out;
}

/** parseMaybeJSON: none if empty; JSON if it is JSON; else one verbatim arg. */
export function commandArgs(p: Piece): { args: ArgWord[]; json: boolean } {
  if (p.text === "") return { args: [], json: false };
  const json = parseJSONArgs(p);
  if (json) return { args: json, json: true };
  return { args: [at(p, 0, p.text.length, p.text)], json: false };
}

/** HEALTHCHECK: a type word (byte-wise split) then a command like RUN's. */
export function healthcheckArgs(p: Piece): { args: ArgWord[]; json: boolean } {
  const s = p.text;
  let i = 0;
  while (i < s.length && s.charCodeAt(i) < 0x80 && !isSpaceByte(s.charCodeAt(i))) i++;
  let typ: ArgWord;
  let after: Piece;
  if (i < s.length && s.charCodeAt(i) >= 0x80) {
    // Non-ASCII before the first ASCII space: split byte-wise (bytes 0x85/0xA0 count as spaces).
    const v = byteView(s, 0, s.length);
    let k = 0;
    while (k < v.bytes.length && !isSpaceByte(v.bytes[k]!)) k++;
    if (k === 0) return { args: [], json: false };
    const typText = bytesText(s, v, k);
    while (k < v.bytes.length && isSpaceByte(v.bytes[k]!)) k++;
    const rest = textFromByte(s, v, k, s.length);
    typ = at(p, 0, k < v.bytes.length ? v.unitStart[k]! : s.length, typText);
    after = { text: rest.text, offset: p.offset + rest.offset };
  } else {
    if (i === 0) return { args: [], json: false };
    typ = at(p, 0, i, s.slice(0, i));
    let j = i;
    while (j < s.length && s.charCodeAt(j) < 0x80 && isSpaceByte(s.charCodeAt(j))) j++;
    after = { text: s.slice(j), offset: p.offset + j };
    if (j < s.length && s.charCodeAt(j) >= 0x80) {
      const v = byteView(s, j, s.length);
      let k = 0;
      while (k < v.bytes.length && isSpaceByte(v.bytes[k]!)) k++;
      const rest = textFromByte(s, v, k, s.length);
      after = { text: rest.text, offset: p.offset + rest.offset };
    }
  }
  const cmd = commandArgs(after);
  return { args: [typ, ...cmd.args], json: cmd.json };
}

/** Bytes [0, k) of the view as byte-preserving text (a cut inside a character leaves escaped bytes). */
function bytesText(s: string, v: ByteView, k: number): string {
  let out = "";
  let j = 0;
  while (j < k) {
    let last = j;
    while (last + 1 < v.bytes.length && v.indexInChar[last + 1] !== 0) last++;
    if (last < k) out += s.slice(v.unitStart[j]!, v.unitEnd[j]!);
    else for (let m = j; m < k; m++) out += String.fromCharCode(0xdc00 + v.bytes[m]!);
    j = last + 1;
  }
  return out;
}

/** ENV / LABEL: `k=v …` pairs, or the legacy `k v` form. */
export function nameValArgs(p: Piece, esc: number, keyword: string): ArgWord[] {
  const words = parseWords(p, esc);
  if (words.length === 0) return [];
  const upper = keyword.toUpperCase();
  if (!words[0]!.value.includes("=")) {
    const parts = splitW2(p);
    if (!parts) {
      throw new GrammarFault(
        `${upper} must have two arguments`,
        { start: p.offset, end: p.offset + p.text.length },
        `write ${upper} ${p.text}=value (or ${upper} ${p.text} value)`,
      );
    }
    const [key, value] = parts;
    return [key, value, { value: "", start: value.end, end: value.end }];
  }
  const out: ArgWord[] = [];
  for (const w of words) {
    const eq = w.value.indexOf("=");
    if (eq < 0) {
      throw new GrammarFault(
        `Syntax error - can't find = in ${JSON.stringify(w.value)}. Must be of the form: name=value`,
        { start: w.start, end: w.end },
        `every word of ${upper} must be name=value once the first one is; quote values that contain spaces`,
      );
    }
    const eqAt = Math.min(w.start + eq, w.end);
    out.push(
      { value: w.value.slice(0, eq), start: w.start, end: eqAt },
      { value: w.value.slice(eq + 1), start: Math.min(eqAt + 1, w.end), end: w.end },
      { value: "=", start: eqAt, end: Math.min(eqAt + 1, w.end) },
    );
  }
  return out;
}

/** Split at the first W+ run into exactly two pieces (value verbatim), or undefined if there is no W. */
function splitW2(p: Piece): [ArgWord, ArgWord] | undefined {
  const s = p.text;
  let i = 0;
  while (i < s.length && !isW(s.charCodeAt(i))) i++;
  if (i === s.length) return undefined;
  let j = i;
  while (j < s.length && isW(s.charCodeAt(j))) j++;
  return [at(p, 0, i, s.slice(0, i)), at(p, j, s.length, s.slice(j))];
}

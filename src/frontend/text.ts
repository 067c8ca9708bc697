/**
 * Byte-preserving text (see raw.ts): decoding Dockerfile bytes as UTF-8 with every invalid byte b kept as
 * the lone surrogate U+DC00+b, encoding such text back to the same bytes, and Go's strconv.Quote over it.
 */

const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Length of the valid UTF-8 sequence starting at buf[i] (Go utf8.DecodeRune rules), or 0 if invalid. */
function validSequenceLength(buf: Uint8Array, i: number): number {
  const b0 = buf[i]!;
  if (b0 < 0x80) return 1;
  const n = buf.length;
  const cont = (j: number, lo = 0x80, hi = 0xbf): boolean => j < n && buf[j]! >= lo && buf[j]! <= hi;
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(i + 1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const lo = b0 === 0xe0 ? 0xa0 : 0x80;
    const hi = b0 === 0xed ? 0x9f : 0xbf;
    return cont(i + 1, lo, hi) && cont(i + 2) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const lo = b0 === 0xf0 ? 0x90 : 0x80;
    const hi = b0 === 0xf4 ? 0x8f : 0xbf;
    return cont(i + 1, lo, hi) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  }
  return 0;
}

/** Decodes UTF-8; each byte that is not part of a valid sequence becomes U+DC00+byte. A BOM is kept. */
export function decodeBytes(buf: Uint8Array): string {
  try {
    return strictDecoder.decode(buf);
  } catch {
    // Invalid somewhere: decode valid runs with the fast decoder, escape the bad bytes one by one.
  }
  const parts: string[] = [];
  let runStart = 0;
  let i = 0;
  while (i < buf.length) {
    const len = validSequenceLength(buf, i);
    if (len > 0) {
      i += len;
      continue;
    }
    if (runStart < i) parts.push(strictDecoder.decode(buf.subarray(runStart, i)));
    parts.push(String.fromCharCode(0xdc00 + buf[i]!));
    i++;
    runStart = i;
  }
  if (runStart < buf.length) parts.push(strictDecoder.decode(buf.subarray(runStart)));
  return parts.join("");
}

/** A U+DC80–U+DCFF code unit not preceded by a high surrogate: an escaped invalid byte. */
const ESCAPED_BYTE = /(?<![\uD800-\uDBFF])[\uDC80-\uDCFF]/;

/** The byte of an escaped invalid byte at s[i], or -1. */
export function escapedByteAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c < 0xdc80 || c > 0xdcff) return -1;
  if (i > 0) {
    const p = s.charCodeAt(i - 1);
    if (p >= 0xd800 && p <= 0xdbff) return -1;
  }
  return c - 0xdc00;
}

/** Inverse of decodeBytes: escaped bytes become the original bytes, everything else UTF-8. */
export function encodeBytes(s: string): Uint8Array {
  if (!ESCAPED_BYTE.test(s)) return Buffer.from(s, "utf8");
  const out: number[] = [];
  let runStart = 0;
  const flush = (end: number): void => {
    if (end > runStart) for (const b of Buffer.from(s.slice(runStart, end), "utf8")) out.push(b);
  };
  for (let i = 0; i < s.length; i++) {
    const b = escapedByteAt(s, i);
    if (b < 0) continue;
    flush(i);
    out.push(b);
    runStart = i + 1;
  }
  flush(s.length);
  return Uint8Array.from(out);
}

/** The UTF-8 byte length of byte-preserving text. */
export function byteLength(s: string): number {
  if (!ESCAPED_BYTE.test(s)) return Buffer.byteLength(s, "utf8");
  return encodeBytes(s).length;
}

const PLAIN_ASCII = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;
const hex = (n: number, width: number): string => n.toString(16).padStart(width, "0");

/** Go strconv.Quote of byte-preserving text: escaped bytes print as `\xNN`, lone surrogates as U+FFFD. */
export function goQuote(s: string): string {
  if (PLAIN_ASCII.test(s)) return `"${s}"`;
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    let cp = s.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < s.length) {
      const lo = s.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      }
    }
    if (cp >= 0xd800 && cp <= 0xdfff) {
      // Lone surrogate: an escaped invalid byte, or (only in text not made by decodeBytes) U+FFFD.
      out += cp >= 0xdc80 && cp <= 0xdcff ? `\\x${hex(cp - 0xdc00, 2)}` : "\ufffd";
      continue;
    }
    out += quoteRune(cp);
  }
  return `${out}"`;
}

function quoteRune(cp: number): string {
  switch (cp) {
    case 0x22:
      return '\\"';
    case 0x5c:
      return "\\\\";
    case 0x07:
      return "\\a";
    case 0x08:
      return "\\b";
    case 0x0c:
      return "\\f";
    case 0x0a:
      return "\\n";
    case 0x0d:
      return "\\r";
    case 0x09:
      return "\\t";
    case 0x0b:
      return "\\v";
  }
  if (cp >= 0x20 && cp < 0x7f) return String.fromCharCode(cp);
  const ch = String.fromCodePoint(cp);
  if (cp > 0x7f && PRINTABLE.test(ch)) return ch;
  if (cp < 0x20 || cp === 0x7f) return `\\x${hex(cp, 2)}`;
  if (cp <= 0xffff) return `\\u${hex(cp, 4)}`;
  return `\\U${hex(cp, 8)}`;
}

const lowerCache = new Map<string, string>();

/** Go strings.ToLower: per-rune simple lower-casing; invalid bytes become U+FFFD. Cached for keywords. */
export function goToLower(s: string): string {
  let lower = lowerCache.get(s);
  if (lower === undefined) {
    lower = computeLower(s);
    if (lowerCache.size < 4096 && s.length <= 32) lowerCache.set(s, lower);
  }
  return lower;
}

function computeLower(s: string): string {
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return s.toLowerCase();
  let out = "";
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (ch.length === 1 && c >= 0xd800 && c <= 0xdfff) {
      out += "\ufffd";
      continue;
    }
    if (c === 0x130) {
      out += "i"; // Go's simple mapping; JS full lower-casing gives "i̇".
      continue;
    }
    const lower = ch.toLowerCase();
    out += Array.from(lower).length === 1 ? lower : ch;
  }
  return out;
}

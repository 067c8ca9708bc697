/**
 * Character classes of the Dockerfile language, over byte-preserving text (invalid UTF-8 bytes are the lone
 * surrogates U+DC80–U+DCFF, which are never spaces).
 *
 * - S: Go `unicode.IsSpace` (U+0009–000D, U+0020, U+0085, U+00A0, U+1680, U+2000–200A, U+2028, U+2029,
 *   U+202F, U+205F, U+3000). Used for trimming, comments and word splitting.
 * - W: ASCII `[\t\v\f\r ]` (BuildKit's reWhitespace), used to split keyword/rest and whitespace-form args.
 */

/** True for a code unit in S (every member of S is in the BMP, so code units suffice). */
export function isS(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0x85) return false;
  return (
    c === 0x85 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}

/** True for a code unit in W. */
export function isW(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0b || c === 0x0c || c === 0x0d;
}

/** Index of the first non-S code unit of s[from, to), or `to`. */
export function skipS(s: string, from: number, to: number): number {
  while (from < to && isS(s.charCodeAt(from))) from++;
  return from;
}

/** Index just past the last non-S code unit of s[from, to), or `from`. */
export function skipSBack(s: string, from: number, to: number): number {
  while (to > from && isS(s.charCodeAt(to - 1))) to--;
  return to;
}

/** Index just before the trailing `\r`/`\n` run of s[from, to). */
export function trimNLEnd(s: string, from: number, to: number): number {
  while (to > from) {
    const c = s.charCodeAt(to - 1);
    if (c !== 0x0a && c !== 0x0d) break;
    to--;
  }
  return to;
}

/** trimS over a whole string. */
export function trimS(s: string): string {
  const a = skipS(s, 0, s.length);
  return s.slice(a, skipSBack(s, a, s.length));
}

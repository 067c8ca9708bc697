/**
 * Character classes used by the shell-word lexer, matching Go's `unicode` package as BuildKit's lexer uses it:
 * `unicode.IsSpace`, `unicode.IsLetter` (category L) and `unicode.IsDigit` (category Nd). Everything works on
 * code points; a lone surrogate (how byte-preserving text carries an invalid byte) is none of these.
 */

export const EOF = -1;

const LETTER = /^\p{L}$/u;
const DECIMAL_DIGIT = /^\p{Nd}$/u;

/** Go's unicode.IsSpace: ASCII \t \n \v \f \r and space, U+0085, U+00A0, and the Z categories. */
export function isSpace(cp: number): boolean {
  if (cp < 0x80) return cp === 0x20 || (cp >= 0x09 && cp <= 0x0d);
  switch (cp) {
    case 0x85:
    case 0xa0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202f:
    case 0x205f:
    case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200a;
  }
}

/** Go's unicode.IsLetter. */
export function isLetter(cp: number): boolean {
  if (cp < 0x80) return (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a);
  return cp >= 0 && LETTER.test(String.fromCodePoint(cp));
}

/** Go's unicode.IsDigit (any decimal digit, not only ASCII). */
export function isDigit(cp: number): boolean {
  if (cp < 0x80) return cp >= 0x30 && cp <= 0x39;
  return cp >= 0 && DECIMAL_DIGIT.test(String.fromCodePoint(cp));
}

/** A character that may appear in a variable name after its first character. */
export function isNameChar(cp: number): boolean {
  return cp === 0x5f || isLetter(cp) || isDigit(cp);
}

/** Splits text into code points (lone surrogates stay single elements). */
export function codePoints(text: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i)!;
    out.push(cp);
    i += cp > 0xffff ? 2 : 1;
  }
  return out;
}

export function fromCodePoints(cps: readonly number[], start = 0, end = cps.length): string {
  let out = "";
  for (let i = start; i < end; i++) out += String.fromCodePoint(cps[i]!);
  return out;
}

/**
 * A byte view of byte-preserving text, for the parts of the language BuildKit scans byte by byte (builder
 * flags, the HEALTHCHECK type word): each byte knows the code-unit span of the character it belongs to, so
 * results can be mapped back to text offsets, and a cut in the middle of a character can be rebuilt.
 */

export interface ByteView {
  bytes: number[];
  /** Code-unit offset where the character holding each byte starts. */
  unitStart: number[];
  /** Code-unit offset just past the character holding each byte. */
  unitEnd: number[];
  /** Index of each byte inside its character's encoding (0 = first byte). */
  indexInChar: number[];
}

/** Go's unicode.IsSpace applied to a single byte widened to a rune. */
export function isSpaceByte(b: number): boolean {
  return b === 0x20 || (b >= 0x09 && b <= 0x0d) || b === 0x85 || b === 0xa0;
}

export function byteView(s: string, from: number, to: number): ByteView {
  const v: ByteView = { bytes: [], unitStart: [], unitEnd: [], indexInChar: [] };
  const push = (b: number, start: number, end: number, k: number): void => {
    v.bytes.push(b);
    v.unitStart.push(start);
    v.unitEnd.push(end);
    v.indexInChar.push(k);
  };
  for (let i = from; i < to; i++) {
    let cp = s.charCodeAt(i);
    const start = i;
    if (cp < 0x80) {
      push(cp, start, i + 1, 0);
      continue;
    }
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < to) {
      const lo = s.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      }
    }
    const end = i + 1;
    if (cp >= 0xdc80 && cp <= 0xdcff) push(cp - 0xdc00, start, end, 0);
    else if (cp >= 0xd800 && cp <= 0xdfff) {
      push(0xef, start, end, 0);
      push(0xbf, start, end, 1);
      push(0xbd, start, end, 2);
    } else if (cp < 0x800) {
      push(0xc0 | (cp >> 6), start, end, 0);
      push(0x80 | (cp & 0x3f), start, end, 1);
    } else if (cp < 0x10000) {
      push(0xe0 | (cp >> 12), start, end, 0);
      push(0x80 | ((cp >> 6) & 0x3f), start, end, 1);
      push(0x80 | (cp & 0x3f), start, end, 2);
    } else {
      push(0xf0 | (cp >> 18), start, end, 0);
      push(0x80 | ((cp >> 12) & 0x3f), start, end, 1);
      push(0x80 | ((cp >> 6) & 0x3f), start, end, 2);
      push(0x80 | (cp & 0x3f), start, end, 3);
    }
  }
  return v;
}

/**
 * The text of bytes [k, end of view) as byte-preserving text: when k falls inside a character, its remaining
 * bytes are invalid on their own and become escaped bytes (U+DC00+b).
 */
export function textFromByte(
  s: string,
  v: ByteView,
  k: number,
  to: number,
): { text: string; offset: number } {
  if (k >= v.bytes.length) return { text: "", offset: to };
  if (v.indexInChar[k] === 0) return { text: s.slice(v.unitStart[k]!, to), offset: v.unitStart[k]! };
  let head = "";
  let j = k;
  while (j < v.bytes.length && v.indexInChar[j] !== 0) head += String.fromCharCode(0xdc00 + v.bytes[j++]!);
  const tailStart = j < v.bytes.length ? v.unitStart[j]! : to;
  // offset + i is exact for the tail; the escaped head bytes map onto the characters just before it.
  return { text: head + s.slice(tailStart, to), offset: Math.max(0, tailStart - head.length) };
}

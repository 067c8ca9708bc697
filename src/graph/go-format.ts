/**
 * Go's fmt verbs as BuildKit uses them in image history (`CMD %q`, `VOLUME %v`, `HEALTHCHECK %+v`): Go string
 * quoting, `[a b]` slices and time.Duration's String(), so `created_by` matches what BuildKit records.
 */

const ESCAPES: Record<string, string> = {
  "\x07": "\\a",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\v": "\\v",
  '"': '\\"',
  "\\": "\\\\",
};

/** strconv.Quote. Lone surrogates U+DC80–U+DCFF (invalid bytes, see frontend/raw.ts) print as `\xNN`. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    const esc = ESCAPES[ch];
    if (esc) out += esc;
    else if (cp >= 0xdc80 && cp <= 0xdcff) out += `\\x${(cp - 0xdc00).toString(16).padStart(2, "0")}`;
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, "0")}`;
    else if ((cp >= 0x80 && cp < 0xa0) || (cp >= 0xd800 && cp <= 0xdfff))
      out += `\\u${cp.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

/** `%q` of a []string: `["a" "b"]`. */
export function goQuotedList(items: readonly string[]): string {
  return `[${items.map(goQuote).join(" ")}]`;
}

/** `%v` of a []string: `[a b]`. */
export function goList(items: readonly string[]): string {
  return `[${items.join(" ")}]`;
}

function trimFraction(digits: string): string {
  return digits.replace(/0+$/, "");
}

/** time.Duration.String() of a duration in nanoseconds: `0s`, `500ms`, `1.5s`, `1m30s`, `1h0m0s`. */
export function goDuration(ns: number): string {
  if (ns === 0) return "0s";
  const neg = ns < 0;
  let n = Math.abs(Math.round(ns));
  let out: string;
  if (n < 1e9) {
    const [unit, div] = n < 1e3 ? ["ns", 1] : n < 1e6 ? ["µs", 1e3] : ["ms", 1e6];
    const whole = Math.floor(n / div);
    const frac = trimFraction(String(n % div).padStart(String(div).length - 1, "0"));
    out = `${whole}${frac ? `.${frac}` : ""}${unit}`;
  } else {
    const h = Math.floor(n / 3.6e12);
    n -= h * 3.6e12;
    const m = Math.floor(n / 6e10);
    n -= m * 6e10;
    const s = Math.floor(n / 1e9);
    const frac = trimFraction(String(n - s * 1e9).padStart(9, "0"));
    const secs = `${s}${frac ? `.${frac}` : ""}s`;
    out = h > 0 ? `${h}h${m}m${secs}` : m > 0 ? `${m}m${secs}` : secs;
  }
  return neg ? `-${out}` : out;
}

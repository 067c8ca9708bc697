/**
 * Go `time.ParseDuration` for HEALTHCHECK flags (`30s`, `1m30s`, `1.5h`, `300ms`, `0`): returns
 * nanoseconds, or an error message in Go's words. No unit is an error except for a bare `0`.
 */

const UNIT_NANOS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Nanoseconds, or `{ error }` with Go's message. */
export function parseGoDuration(text: string): number | { error: string } {
  const bad = { error: `time: invalid duration "${text}"` };
  let s = text;
  let sign = 1;
  if (s.startsWith("-") || s.startsWith("+")) {
    if (s[0] === "-") sign = -1;
    s = s.slice(1);
  }
  if (s === "0") return 0;
  if (s === "") return bad;
  let total = 0;
  const part = /^([0-9]*)(?:\.([0-9]*))?([^0-9.]*)/;
  while (s !== "") {
    const m = part.exec(s);
    if (!m || m[0] === "") return bad;
    const [whole, intPart = "", fracPart, unit = ""] = m;
    if (intPart === "" && (fracPart === undefined || fracPart === "")) return bad;
    if (unit === "") return { error: `time: missing unit in duration "${text}"` };
    const scale = UNIT_NANOS[unit];
    if (scale === undefined) return { error: `time: unknown unit "${unit}" in duration "${text}"` };
    const value = Number(`${intPart || "0"}.${fracPart ?? ""}0`);
    total += value * scale;
    s = s.slice(whole.length);
  }
  if (total > 2 ** 63) return bad;
  return sign * Math.round(total);
}

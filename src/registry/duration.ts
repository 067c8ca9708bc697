/** Parses human durations for CLI flags: `90s`, `30m`, `24h`, `1h30m`, `7d`, `500ms`, or plain seconds. */
import { UsageError } from "../errors.js";

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 };

export function parseDuration(value: string, flag = "duration"): number {
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    consumed = re.lastIndex;
  }
  if (text.length === 0 || consumed !== text.length) {
    throw new UsageError(`invalid ${flag} ${JSON.stringify(value)}`, {
      hint: "use e.g. 30s, 15m, 24h, 1h30m",
    });
  }
  return Math.round(total);
}

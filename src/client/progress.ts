/**
 * Renders TransferEvents for people: on a terminal, one line per blob redrawn in place (a bar, bytes,
 * speed), at most ten times a second; elsewhere (CI, pipes) one plain line when a blob is skipped,
 * mounted or finished, with its size and speed. Both write to stderr so stdout stays machine-readable.
 */
import type { TransferEvent, TransferListener } from "./events.js";

interface BlobLine {
  event: TransferEvent;
  startedAt: number;
  finishedAt?: number;
}

export interface ProgressRenderer {
  listener: TransferListener;
  /** Draws the final state and stops redrawing. */
  finish(): void;
}

export function formatBytes(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

function speed(line: BlobLine, now: number): string {
  const seconds = ((line.finishedAt ?? now) - line.startedAt) / 1000;
  if (seconds <= 0.05) return "";
  return `${formatBytes(line.event.done / seconds)}/s`;
}

const shortDigest = (digest: string) => digest.replace(/^sha256:/, "").slice(0, 12);

export function createProgressRenderer(
  stream: NodeJS.WriteStream = process.stderr,
  tty = stream.isTTY === true && process.env.TERM !== "dumb",
): ProgressRenderer {
  const lines = new Map<string, BlobLine>();
  if (!tty) {
    return {
      listener(event) {
        const now = Date.now();
        let line = lines.get(event.digest);
        if (!line) lines.set(event.digest, (line = { event, startedAt: now }));
        line.event = event;
        if (event.status === "skipped") stream.write(`${shortDigest(event.digest)}: already exists\n`);
        else if (event.status === "mounted") stream.write(`${shortDigest(event.digest)}: mounted\n`);
        else if (event.status === "done") {
          line.finishedAt = now;
          stream.write(
            `${shortDigest(event.digest)}: done ${formatBytes(event.total)} ${speed(line, now)}\n`,
          );
        }
      },
      finish() {},
    };
  }
  let drawn = 0;
  let finished = false;
  const draw = () => {
    const now = Date.now();
    const width = Math.max(10, Math.min(30, (stream.columns ?? 80) - 60));
    let out = drawn > 0 ? `\x1b[${drawn}A` : "";
    for (const line of lines.values()) {
      const { event } = line;
      const fraction = event.total > 0 ? Math.min(1, event.done / event.total) : 1;
      const filled = Math.round(fraction * width);
      const bar = `[${"=".repeat(filled)}${filled < width ? ">" : ""}${" ".repeat(Math.max(0, width - filled - 1))}]`;
      const label =
        event.status === "skipped" ? "exists" : event.status === "mounted" ? "mounted" : event.status;
      out += `\x1b[2K${shortDigest(event.digest)} ${label.padEnd(11)} ${bar} ${formatBytes(event.done)}/${formatBytes(
        event.total,
      )} ${speed(line, now)}\n`;
    }
    drawn = lines.size;
    stream.write(out);
  };
  const timer = setInterval(draw, 100);
  timer.unref();
  return {
    listener(event) {
      const now = Date.now();
      let line = lines.get(event.digest);
      if (!line) lines.set(event.digest, (line = { event, startedAt: now }));
      line.event = event;
      if (event.status === "done" || event.status === "skipped" || event.status === "mounted") {
        line.finishedAt ??= now;
      }
    },
    finish() {
      if (finished) return;
      finished = true;
      clearInterval(timer);
      draw();
    },
  };
}

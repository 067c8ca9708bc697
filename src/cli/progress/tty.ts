/**
 * The live tree on a terminal: a header with the elapsed time and step count, one line per step with its
 * timer (`CACHED` for hits), and the last few output lines under each running step. Redrawn in place at
 * most every 100 ms; the final frame stays on screen.
 */
import type { ProgressEvent, VertexEvent } from "../../executor/progress.js";
import { formatSeconds, type ProgressRenderer } from "./index.js";

const TAIL = 6;

interface Row {
  vertex: VertexEvent;
  tail: string[];
}

export class TtyRenderer implements ProgressRenderer {
  private readonly rows = new Map<string, Row>();
  private readonly warnings: string[] = [];
  private readonly started = Date.now();
  private drawnLines = 0;
  private timer: NodeJS.Timeout | undefined;
  private dirty = false;

  constructor(private readonly out: NodeJS.WriteStream) {
    this.timer = setInterval(() => this.draw(), 100);
    this.timer.unref();
  }

  readonly sink = (event: ProgressEvent): void => {
    if (event.type === "warning") this.warnings.push(event.message);
    else if (event.type === "vertex") {
      const row = this.rows.get(event.id);
      if (row === undefined) this.rows.set(event.id, { vertex: event, tail: [] });
      else row.vertex = { ...row.vertex, ...event };
    } else if (event.type === "log") {
      const row = this.rows.get(event.id);
      if (row !== undefined) {
        row.tail.push(event.line);
        if (row.tail.length > TAIL) row.tail.shift();
      }
    }
    this.dirty = true;
  };

  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.dirty = true;
    this.draw(true);
  }

  private draw(final = false): void {
    if (!this.dirty && !final) return;
    this.dirty = false;
    const width = Math.max(40, this.out.columns ?? 100);
    const lines: string[] = [];
    const rows = [...this.rows.values()];
    const finished = rows.filter((r) => r.vertex.status === "done" || r.vertex.status === "cached").length;
    lines.push(
      `[+] Building ${formatSeconds(Date.now() - this.started)} (${finished}/${rows.length})${final ? " FINISHED" : ""}`,
    );
    for (const row of rows) {
      const v = row.vertex;
      const elapsed = v.duration ?? (v.started === undefined ? 0 : Date.now() - v.started);
      const prefix =
        v.status === "cached"
          ? "CACHED "
          : v.status === "error"
            ? "ERROR "
            : v.status === "canceled"
              ? "CANCELED "
              : "";
      const timer = formatSeconds(elapsed);
      const label = ` => ${prefix}${v.name}`;
      const room = width - timer.length - 2;
      const text = label.length > room ? `${label.slice(0, room - 3)}...` : label.padEnd(room);
      const color = v.status === "error" ? "\x1b[31m" : v.status === "running" ? "\x1b[34m" : "\x1b[36m";
      lines.push(`${color}${text}  ${timer}\x1b[0m`);
      if (v.status === "running" || v.status === "error") {
        for (const line of row.tail) lines.push(`\x1b[2m => => # ${line.slice(0, width - 10)}\x1b[0m`);
      }
    }
    for (const warning of this.warnings) lines.push(`\x1b[33mWARNING: ${warning}\x1b[0m`);
    let frame = this.drawnLines > 0 ? `\x1b[${this.drawnLines}F` : "";
    frame += lines.map((line) => `${line}\x1b[K`).join("\n");
    frame += "\n\x1b[J";
    this.out.write(frame);
    this.drawnLines = lines.length;
  }
}

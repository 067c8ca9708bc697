/**
 * Build progress as events: what the solver reports about each vertex (a stage's base, a step, an export)
 * and what the renderers (cli/progress/) draw. Events are plain JSON, so `--progress json` prints them as is.
 */
import type { MissReason } from "../cache/explain.js";

export type VertexStatus = "waiting" | "running" | "cached" | "done" | "error" | "canceled";

export interface VertexEvent {
  type: "vertex";
  /** Stable id: the step id (`1.3`), `1.from` for a stage's base, `export`, `push`. */
  id: string;
  name: string;
  status: VertexStatus;
  /** ms since the epoch. */
  started?: number;
  completed?: number;
  /** ms. */
  duration?: number;
  cacheKey?: string;
  /** Why the step was not cached (when known). */
  miss?: MissReason[];
  error?: string;
}

export interface LogEvent {
  type: "log";
  id: string;
  stream: "stdout" | "stderr";
  /** One line of output, without its newline. */
  line: string;
}

export interface WarningEvent {
  type: "warning";
  message: string;
}

export interface SummaryEvent {
  type: "summary";
  status: "done" | "error";
  duration: number;
  steps: number;
  cached: number;
  digest?: string;
  /** Bytes of the image's layers (compressed). */
  size?: number;
  error?: string;
  /** The build was answered from the record of an identical fully cached build (build/replay.ts). */
  replayed?: boolean;
}

export type ProgressEvent = VertexEvent | LogEvent | WarningEvent | SummaryEvent;

export type ProgressSink = (event: ProgressEvent) => void;

/** Splits a byte stream into lines for log events, keeping a partial last line until the next chunk. */
export class LineSplitter {
  private pending = "";
  constructor(private readonly emit: (line: string) => void) {}
  push(chunk: Buffer | string): void {
    const text = this.pending + chunk.toString();
    const lines = text.split(/\r?\n/);
    this.pending = lines.pop() ?? "";
    for (const line of lines) this.emit(line);
  }
  flush(): void {
    if (this.pending !== "") this.emit(this.pending);
    this.pending = "";
  }
}

/** A vertex reported from outside the solver (pull, export, cache import/export): running now, then done or error. */
export interface TrackedVertex {
  /** Reports success, optionally with a final name (e.g. with counts). */
  done(finalName?: string): void;
  /** Reports failure with the error's message. */
  fail(error: unknown): void;
}

export function startVertex(sink: ProgressSink, id: string, name: string): TrackedVertex {
  const started = Date.now();
  sink({ type: "vertex", id, name, status: "running", started });
  return {
    done(finalName = name) {
      const completed = Date.now();
      sink({
        type: "vertex",
        id,
        name: finalName,
        status: "done",
        started,
        completed,
        duration: completed - started,
      });
    },
    fail(error) {
      const message = error instanceof Error ? error.message : String(error);
      sink({ type: "vertex", id, name, status: "error", started, completed: Date.now(), error: message });
    },
  };
}

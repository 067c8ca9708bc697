/**
 * Progress renderers for builds: `tty` (a live tree redrawn in place, like BuildKit's), `plain` (numbered
 * lines for CI logs) and `json` (one event per line). `auto` picks tty when stderr is a terminal.
 */

import { UsageError } from "../../errors.js";
import type { ProgressEvent, ProgressSink } from "../../executor/progress.js";
import { PlainRenderer } from "./plain.js";
import { TtyRenderer } from "./tty.js";

export type ProgressMode = "auto" | "tty" | "plain" | "json" | "quiet";

export interface ProgressRenderer {
  sink: ProgressSink;
  /** Stops timers and draws the final state. */
  close(): void;
}

export function parseProgressMode(value: string | undefined): ProgressMode {
  const mode = value ?? "auto";
  if (mode === "auto" || mode === "tty" || mode === "plain" || mode === "json" || mode === "quiet")
    return mode;
  throw new UsageError(`unknown --progress ${JSON.stringify(mode)}`, {
    hint: "use auto, tty, plain, json or quiet",
  });
}

export function createRenderer(
  mode: ProgressMode,
  out: NodeJS.WriteStream = process.stderr,
): ProgressRenderer {
  const resolved = mode === "auto" ? (out.isTTY ? "tty" : "plain") : mode;
  if (resolved === "json") {
    return {
      sink: (event: ProgressEvent) => process.stdout.write(`${JSON.stringify(event)}\n`),
      close: () => {},
    };
  }
  if (resolved === "quiet") return { sink: () => {}, close: () => {} };
  if (resolved === "tty") return new TtyRenderer(out);
  return new PlainRenderer(out);
}

/** `1.23s` */
export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

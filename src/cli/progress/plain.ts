/** Plain progress for logs: `#N name`, output lines prefixed with `#N`, then `#N CACHED|DONE 1.2s|ERROR`. */

import { formatMissReason } from "../../cache/explain.js";
import type { ProgressEvent } from "../../executor/progress.js";
import { formatSeconds, type ProgressRenderer } from "./index.js";

export class PlainRenderer implements ProgressRenderer {
  private readonly numbers = new Map<string, number>();
  private readonly started = Date.now();

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly explain = false,
  ) {}

  readonly sink = (event: ProgressEvent): void => {
    if (event.type === "warning") {
      this.out.write(`WARNING: ${event.message}\n`);
      return;
    }
    if (event.type === "summary") return;
    let n = this.numbers.get(event.id);
    const fresh = n === undefined;
    if (n === undefined) {
      n = this.numbers.size + 1;
      this.numbers.set(event.id, n);
    }
    if (event.type === "log") {
      const at = ((Date.now() - this.started) / 1000).toFixed(3);
      this.out.write(`#${n} ${at} ${event.line}\n`);
      return;
    }
    if (fresh) this.out.write(`#${n} ${event.name}\n`);
    if (event.status === "running" && event.miss !== undefined && this.explain) {
      for (const reason of event.miss) this.out.write(`#${n} cache miss: ${formatMissReason(reason)}\n`);
    }
    if (event.status === "cached") this.out.write(`#${n} CACHED\n`);
    else if (event.status === "done") this.out.write(`#${n} DONE ${formatSeconds(event.duration ?? 0)}\n`);
    else if (event.status === "error") this.out.write(`#${n} ERROR: ${event.error ?? "failed"}\n`);
    else if (event.status === "canceled") this.out.write(`#${n} CANCELED\n`);
  };

  close(): void {}
}

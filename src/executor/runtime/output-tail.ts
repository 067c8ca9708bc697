/**
 * Keeps the last lines of a process's combined output (for "RUN failed" messages) without holding more
 * than those lines.
 */
export class OutputTail {
  private lines: string[] = [];
  private partial = "";

  constructor(private readonly limit = 20) {}

  push(chunk: Buffer): void {
    const text = this.partial + chunk.toString("utf8");
    const parts = text.split("\n");
    this.partial = parts.pop() ?? "";
    if (this.partial.length > 4096) this.partial = this.partial.slice(-4096);
    for (const line of parts) this.lines.push(line.replace(/\r$/, ""));
    if (this.lines.length > this.limit) this.lines = this.lines.slice(-this.limit);
  }

  get tail(): string[] {
    const all = this.partial === "" ? this.lines : [...this.lines, this.partial];
    return all.slice(-this.limit);
  }
}

/**
 * A configuration file that is parsed once and parsed again when it changes on disk (htpasswd, ACL).
 * Changes are noticed by comparing (inode, size, mtime) at most once per `checkIntervalMs`, so the hot path
 * costs one cached comparison. A file that stops parsing fails closed: `get()` throws until it is fixed.
 */
import { promises as fs, readFileSync, type Stats, statSync } from "node:fs";
import { AuthConfigError } from "./errors.js";

export interface ReloadingFileOptions<T> {
  path: string;
  parse(text: string, path: string): T;
  /** How often to look at the file's metadata; 0 means on every `get()`. Default 1000 ms. */
  checkIntervalMs?: number;
  /** Called when a changed file fails to parse (the previous contents are no longer used). */
  onReloadError?(err: unknown): void;
  /** Called after each successful (re)load, e.g. to drop caches derived from the old contents. */
  onReload?(value: T): void;
}

function fingerprint(st: Stats): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

export class ReloadingFile<T> {
  private value: T | undefined;
  private error: unknown;
  private stamp: string;
  private lastCheck = 0;
  private pending: Promise<void> | undefined;
  private readonly interval: number;

  /** Loads the file synchronously, so a broken file is reported when the server starts. */
  constructor(private readonly options: ReloadingFileOptions<T>) {
    this.interval = options.checkIntervalMs ?? 1000;
    let st: Stats;
    let text: string;
    try {
      st = statSync(options.path);
      text = readFileSync(options.path, "utf8");
    } catch (err) {
      throw new AuthConfigError(`cannot read ${options.path}: ${(err as Error).message}`, { cause: err });
    }
    this.value = options.parse(text, options.path);
    this.stamp = fingerprint(st);
    this.lastCheck = Date.now();
    options.onReload?.(this.value);
  }

  get path(): string {
    return this.options.path;
  }

  /** The current parsed contents; throws the parse error while the file on disk is broken. */
  async get(): Promise<T> {
    if (Date.now() - this.lastCheck >= this.interval) {
      this.pending ??= this.refresh().finally(() => {
        this.pending = undefined;
      });
      await this.pending;
    }
    if (this.value === undefined) throw this.error;
    return this.value;
  }

  private async refresh(): Promise<void> {
    this.lastCheck = Date.now();
    let st: Stats;
    try {
      st = await fs.stat(this.options.path);
    } catch (err) {
      this.fail(err);
      return;
    }
    const stamp = fingerprint(st);
    if (stamp === this.stamp && this.value !== undefined) return;
    try {
      const text = await fs.readFile(this.options.path, "utf8");
      const value = this.options.parse(text, this.options.path);
      this.value = value;
      this.error = undefined;
      this.stamp = stamp;
      this.options.onReload?.(value);
    } catch (err) {
      this.fail(err);
    }
  }

  private fail(err: unknown): void {
    if (this.value !== undefined || this.error === undefined) this.options.onReloadError?.(err);
    this.value = undefined;
    this.error = err;
    this.stamp = "";
  }
}

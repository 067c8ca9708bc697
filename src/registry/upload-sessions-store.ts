/**
 * Where upload sessions live: `<root>/uploads/<uuid>/data` (the bytes received so far) and
 * `<root>/uploads/<uuid>/state.json` (repository, offset, timestamps; replaced atomically). Because the
 * state is on disk, sessions survive a restart. Owns creation, lookup (with expiry), deletion, the
 * periodic sweep of expired sessions, and a per-session lock so requests on one session run one at a time.
 * The in-memory hash of each session is cached here too; after a restart it is rebuilt by re-hashing.
 */
import { createHash, type Hash, randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { blobUploadUnknown } from "./errors.js";

export interface UploadState {
  uuid: string;
  repo: string;
  /** Bytes received and accepted so far (the data file is exactly this long). */
  offset: number;
  startedAt: number;
  updatedAt: number;
}

/** A live session: its persisted state and the running sha256 over `offset` bytes. */
export interface LiveSession {
  state: UploadState;
  hasher: StreamHasherLike;
  dir: string;
  dataPath: string;
}

/** The subset of a node Hash the sessions need (copyable, so a chunk can be rolled back). */
export interface StreamHasherLike {
  update(chunk: Uint8Array): void;
  copy(): StreamHasherLike;
  hex(): string;
}

class Sha256Hasher implements StreamHasherLike {
  constructor(private readonly hash: Hash = createHash("sha256")) {}
  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
  }
  copy(): Sha256Hasher {
    return new Sha256Hasher(this.hash.copy());
  }
  hex(): string {
    return this.hash.copy().digest("hex");
  }
}

const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface UploadSessionStoreOptions {
  /** Sessions idle for longer than this expire (ms). Default 24h. */
  ttlMs?: number;
  now?: () => number;
}

export class UploadSessionStore {
  readonly dir: string;
  readonly ttlMs: number;
  private readonly now: () => number;
  private readonly live = new Map<string, LiveSession>();
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(root: string, options: UploadSessionStoreOptions = {}) {
    this.dir = path.join(root, "uploads");
    this.ttlMs = options.ttlMs ?? 24 * 3600_000;
    this.now = options.now ?? Date.now;
  }

  async create(repo: string): Promise<LiveSession> {
    const uuid = randomUUID();
    const dir = path.join(this.dir, uuid);
    await fs.mkdir(dir, { recursive: true });
    const dataPath = path.join(dir, "data");
    await fs.writeFile(dataPath, new Uint8Array(0));
    const now = this.now();
    const session: LiveSession = {
      state: { uuid, repo, offset: 0, startedAt: now, updatedAt: now },
      hasher: new Sha256Hasher(),
      dir,
      dataPath,
    };
    await this.save(session.state);
    this.live.set(uuid, session);
    return session;
  }

  /** Runs `fn` with the session locked. Throws BLOB_UPLOAD_UNKNOWN if it does not exist for `repo`. */
  async withSession<T>(uuid: string, repo: string, fn: (s: LiveSession) => Promise<T>): Promise<T> {
    if (!UUID_SHAPE.test(uuid)) throw blobUploadUnknown(uuid);
    return this.withLock(uuid, async () => {
      const session = await this.load(uuid);
      if (!session || session.state.repo !== repo) throw blobUploadUnknown(uuid);
      return fn(session);
    });
  }

  private async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => {});
    this.locks.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    }
  }

  private async readState(uuid: string): Promise<UploadState | undefined> {
    try {
      const text = await fs.readFile(path.join(this.dir, uuid, "state.json"), "utf8");
      const state = JSON.parse(text) as UploadState;
      if (state.uuid !== uuid || typeof state.offset !== "number" || typeof state.repo !== "string")
        return undefined;
      return state;
    } catch {
      return undefined;
    }
  }

  private async load(uuid: string): Promise<LiveSession | undefined> {
    const state = await this.readState(uuid);
    if (!state) {
      this.live.delete(uuid);
      return undefined;
    }
    if (this.isExpired(state)) {
      await this.remove(uuid);
      return undefined;
    }
    const cached = this.live.get(uuid);
    if (cached && cached.state.offset === state.offset) {
      cached.state = state;
      return cached;
    }
    // Not cached (restart) or out of step: make the data file match the state and re-hash it.
    const dir = path.join(this.dir, uuid);
    const dataPath = path.join(dir, "data");
    let size: number;
    try {
      size = (await fs.stat(dataPath)).size;
    } catch {
      await this.remove(uuid);
      return undefined;
    }
    if (size > state.offset) await fs.truncate(dataPath, state.offset);
    else if (size < state.offset) state.offset = size;
    const hasher = new Sha256Hasher();
    if (state.offset > 0) {
      for await (const chunk of createReadStream(dataPath, { start: 0, end: state.offset - 1 })) {
        hasher.update(chunk as Buffer);
      }
    }
    const session: LiveSession = { state, hasher, dir, dataPath };
    this.live.set(uuid, session);
    return session;
  }

  /** Persists `state` atomically (temp file + rename). */
  async save(state: UploadState): Promise<void> {
    const dir = path.join(this.dir, state.uuid);
    const tmp = path.join(dir, `state.json.${process.pid}.${randomUUID()}.tmp`);
    await fs.writeFile(tmp, JSON.stringify(state));
    await fs.rename(tmp, path.join(dir, "state.json"));
  }

  isExpired(state: UploadState): boolean {
    return state.updatedAt + this.ttlMs < this.now();
  }

  async remove(uuid: string): Promise<void> {
    this.live.delete(uuid);
    await fs.rm(path.join(this.dir, uuid), { recursive: true, force: true });
  }

  /** Deletes the session (under its lock). Throws BLOB_UPLOAD_UNKNOWN if it does not exist for `repo`. */
  async cancel(uuid: string, repo: string): Promise<void> {
    await this.withSession(uuid, repo, async () => this.remove(uuid));
  }

  /** Every session on disk (including expired ones not yet swept). */
  async list(): Promise<UploadState[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch {
      return [];
    }
    const out: UploadState[] = [];
    for (const name of names) {
      if (!UUID_SHAPE.test(name)) continue;
      const state = await this.readState(name);
      if (state) out.push(state);
    }
    return out;
  }

  /**
   * Removes expired sessions (and half-created directories older than the TTL). Sessions in use are
   * skipped. Returns the ids removed; with `dryRun` only lists them.
   */
  async sweep(options: { dryRun?: boolean } = {}): Promise<string[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch {
      return [];
    }
    const removed: string[] = [];
    for (const name of names) {
      if (this.locks.has(name)) continue;
      const state = UUID_SHAPE.test(name) ? await this.readState(name) : undefined;
      let expired: boolean;
      if (state) expired = this.isExpired(state);
      else {
        const st = await fs.stat(path.join(this.dir, name)).catch(() => undefined);
        expired = !st || st.mtimeMs + this.ttlMs < this.now();
      }
      if (!expired) continue;
      removed.push(name);
      if (!options.dryRun) await this.remove(name);
    }
    return removed;
  }
}

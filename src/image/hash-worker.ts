/**
 * Hashing large blobs on a worker thread. Pulling a layer is CPU-bound on the main thread — undici's
 * parser, the stream plumbing, and sha256 of every byte (~0.35 s per 500 MiB) — so the hash moves to one
 * shared worker while the main thread keeps downloading and writing. Bytes go over in batches (copied
 * once, the copy transferred, not cloned). The worker is started on first use, serves every hash of the
 * process, and never keeps the process alive. Small blobs hash inline: a round trip would cost more.
 */
import { Worker } from "node:worker_threads";
import type { DigestAlgorithm } from "./digest.js";

/** The worker's whole program: sessions by id, `update` with a transferred buffer, `digest` answers. */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const sessions = new Map();
parentPort.on("message", (m) => {
  if (m.op === "update") {
    let h = sessions.get(m.id);
    if (h === undefined) { h = createHash(m.algorithm); sessions.set(m.id, h); }
    h.update(new Uint8Array(m.buffer, 0, m.length));
  } else if (m.op === "digest") {
    const h = sessions.get(m.id) ?? createHash(m.algorithm);
    sessions.delete(m.id);
    parentPort.postMessage({ id: m.id, hex: h.digest("hex") });
  } else if (m.op === "drop") {
    sessions.delete(m.id);
  }
});
`;

let worker: Worker | undefined;
let nextId = 0;
let waiting = 0;
const answers = new Map<number, (hex: string) => void>();

function shared(): Worker {
  if (worker !== undefined) return worker;
  const started = new Worker(WORKER_SOURCE, { eval: true });
  started.on("message", (m: { id: number; hex: string }) => {
    answers.get(m.id)?.(m.hex);
    answers.delete(m.id);
    if (--waiting === 0) started.unref();
  });
  started.on("error", () => {
    worker = undefined;
  });
  started.unref();
  worker = started;
  return started;
}

/** An incremental hash computed on the shared worker thread. */
export class OffThreadHash {
  private readonly id = nextId++;
  private readonly worker = shared();
  private done = false;

  constructor(readonly algorithm: DigestAlgorithm) {}

  /** Hashes `pieces` (in order) after those given before; they may be reused once this returns. */
  update(pieces: readonly Uint8Array[], bytes: number): void {
    const copy = new ArrayBuffer(bytes);
    const view = new Uint8Array(copy);
    let at = 0;
    for (const piece of pieces) {
      view.set(piece, at);
      at += piece.byteLength;
    }
    this.worker.postMessage(
      { op: "update", id: this.id, algorithm: this.algorithm, buffer: copy, length: bytes },
      [copy],
    );
  }

  /** The hex digest of everything given; the session ends. */
  digest(): Promise<string> {
    if (this.done) throw new Error("OffThreadHash: digest() twice");
    this.done = true;
    waiting++;
    this.worker.ref();
    return new Promise((resolve) => {
      answers.set(this.id, resolve);
      this.worker.postMessage({ op: "digest", id: this.id, algorithm: this.algorithm });
    });
  }

  /** Ends the session without a digest (the write failed). */
  drop(): void {
    if (this.done) return;
    this.done = true;
    this.worker.postMessage({ op: "drop", id: this.id });
  }
}

/**
 * The deterministic layer tar: `LayerEntry`s (in canonical order) → a tar byte stream, built with
 * tar-stream 3. Only what defines the content is recorded: path, type, permission bits (incl.
 * setuid/setgid/sticky), numeric uid/gid (no user or group names), mtime (clamped to `clampMtime`, the
 * SOURCE_DATE_EPOCH rule; never atime/ctime), link targets, device numbers, and PAX records for long or
 * non-ASCII names/targets, xattrs and ids too large for the ustar field. File content is streamed with
 * backpressure, never held whole. The same entries with the same clamp always give the same bytes.
 */
import { Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import { clampTime, compareLayerPaths, type LayerEntry, normalizeLayerPath } from "./entry.js";
import { LayerError } from "./errors.js";

export interface TarWriteOptions {
  /** Upper bound (seconds since the epoch) for every timestamp, e.g. SOURCE_DATE_EPOCH. */
  clampMtime?: number;
}

export interface TarStats {
  /** Tar members written (not counting PAX headers). */
  entries: number;
  /** Bytes of file content written. */
  contentBytes: number;
}

type TarHeader = Parameters<tar.Pack["entry"]>[0];
type EntrySink = ReturnType<tar.Pack["entry"]>;

const S_IFREG = 0o100000;

/** The largest id a 7-digit octal ustar field holds; larger ids go into PAX `uid`/`gid`. */
const MAX_USTAR_ID = 0o7777777;

/**
 * A readable tar of `entries`. `done` resolves with statistics once the whole tar has been produced, or
 * rejects with the first error (which also destroys `stream`).
 */
export function layerTarStream(
  entries: AsyncIterable<LayerEntry>,
  options: TarWriteOptions = {},
): { stream: Readable; done: Promise<TarStats> } {
  const pack = tar.pack();
  const stream = Readable.from(pack, { objectMode: false });
  const done = produce(pack, entries, options);
  done.catch((error: unknown) => {
    pack.destroy(error as Error);
    stream.destroy(error as Error);
  });
  return { stream, done };
}

/** Writes the tar of `entries` to `out` and resolves when `out` has finished. */
export async function writeLayerTar(
  entries: AsyncIterable<LayerEntry>,
  out: Writable,
  options: TarWriteOptions = {},
): Promise<TarStats> {
  const { stream, done } = layerTarStream(entries, options);
  const [stats] = await Promise.all([done, pipeline(stream, out)]);
  return stats;
}

async function produce(
  pack: tar.Pack,
  entries: AsyncIterable<LayerEntry>,
  options: TarWriteOptions,
): Promise<TarStats> {
  const stats: TarStats = { entries: 0, contentBytes: 0 };
  let previous: string | undefined;
  for await (const raw of entries) {
    const entry = checkEntry(raw, previous);
    previous = entry.path;
    await addEntry(pack, entry, options.clampMtime);
    stats.entries++;
    stats.contentBytes += entry.type === "file" ? entry.size : 0;
  }
  pack.finalize();
  return stats;
}

function checkEntry(raw: LayerEntry, previous: string | undefined): LayerEntry {
  const path = normalizeLayerPath(raw.path);
  if (path === "") throw new LayerError("LAYER_ENTRY_INVALID", "the layer root cannot be an entry");
  if (previous !== undefined && compareLayerPaths(previous, path) >= 0) {
    throw new LayerError(
      "LAYER_ORDER",
      `entry ${JSON.stringify(path)} is out of order or repeated (after ${JSON.stringify(previous)})`,
      { path, hint: "sort entries with sortLayerEntries() first" },
    );
  }
  const entry: LayerEntry = { ...raw, path, size: raw.type === "file" ? raw.size : 0 };
  for (const [field, value] of [
    ["mode", entry.mode],
    ["uid", entry.uid],
    ["gid", entry.gid],
    ["size", entry.size],
    ["mtime", entry.mtime],
  ] as const) {
    if (!Number.isInteger(value) || value < 0) {
      throw new LayerError("LAYER_ENTRY_INVALID", `${path}: invalid ${field} ${value}`, { path });
    }
  }
  if (entry.type === "link") {
    const target = normalizeLayerPath(entry.linkname ?? "");
    if (target === "" || compareLayerPaths(target, path) >= 0) {
      throw new LayerError("LAYER_ENTRY_INVALID", `${path}: hard link must point to an earlier entry`, {
        path,
      });
    }
    entry.linkname = target;
  } else if (entry.type === "symlink") {
    if (!entry.linkname) throw new LayerError("LAYER_ENTRY_INVALID", `${path}: symlink without target`);
  } else {
    entry.linkname = undefined;
  }
  if (entry.type === "file" && entry.size > 0 && entry.open === undefined) {
    throw new LayerError("LAYER_ENTRY_INVALID", `${path}: file with content but no open()`, { path });
  }
  return entry;
}

function headerFor(entry: LayerEntry, clamp: number | undefined): TarHeader {
  const pax: Record<string, string> = {};
  for (const key of Object.keys(entry.xattrs ?? {}).sort()) {
    pax[`SCHILY.xattr.${key}`] = entry.xattrs![key]!;
  }
  if (entry.uid > MAX_USTAR_ID) pax.uid = String(entry.uid);
  if (entry.gid > MAX_USTAR_ID) pax.gid = String(entry.gid);
  const device = entry.type === "character-device" || entry.type === "block-device";
  const header: TarHeader = {
    name: entry.type === "directory" ? `${entry.path}/` : entry.path,
    type: entry.type,
    // tar-stream replaces a falsy mode with 0644; the file-type bit keeps mode 0 (whiteouts) intact and
    // is masked off again when the header is encoded.
    mode: S_IFREG | (entry.mode & 0o7777),
    uid: Math.min(entry.uid, MAX_USTAR_ID),
    gid: Math.min(entry.gid, MAX_USTAR_ID),
    size: entry.size,
    mtime: new Date(clampTime(entry.mtime, clamp) * 1000),
    devmajor: device ? (entry.devmajor ?? 0) : 0,
    devminor: device ? (entry.devminor ?? 0) : 0,
  };
  if (entry.linkname !== undefined) header.linkname = entry.linkname;
  if (Object.keys(pax).length > 0) header.pax = pax;
  return header;
}

function addEntry(pack: tar.Pack, entry: LayerEntry, clamp: number | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (error?: unknown) => {
      if (settled) return;
      settled = true;
      if (error) reject(error);
      else resolve();
    };
    const sink = pack.entry(headerFor(entry, clamp), (error) => finish(error ?? undefined));
    // Failures reach us through the entry callback; an unheard 'error' event would be thrown globally.
    sink.on("error", () => {});
    if (entry.type !== "file" || entry.size === 0) {
      sink.end(undefined);
      return;
    }
    copyContent(entry, sink).then(
      () => sink.end(undefined),
      (error: unknown) => {
        finish(error);
        sink.destroy(error as Error);
      },
    );
  });
}

/** Streams exactly `entry.size` bytes of content into the tar entry, honouring backpressure. */
async function copyContent(entry: LayerEntry, sink: EntrySink): Promise<void> {
  const source = entry.open!();
  let written = 0;
  try {
    for await (const chunk of source) {
      const bytes = chunk as Buffer;
      if (written + bytes.byteLength > entry.size) {
        throw changed(entry, "grew");
      }
      written += bytes.byteLength;
      if (!sink.write(bytes)) await drained(sink);
    }
  } finally {
    source.destroy();
  }
  if (written !== entry.size) throw changed(entry, "shrank");
}

function changed(entry: LayerEntry, how: string): LayerError {
  return new LayerError("FILE_CHANGED", `${entry.path} ${how} while it was being archived`, {
    path: entry.path,
    hint: "do not modify the tree while a layer is written",
  });
}

function drained(sink: EntrySink): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const cleanup = () => {
      sink.off("drain", onDrain);
      sink.off("close", onClose);
      sink.off("error", onError);
    };
    const onDrain = () => {
      cleanup();
      resolve();
    };
    const onClose = () => {
      cleanup();
      reject(new Error("tar entry closed before its content was written"));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    sink.on("drain", onDrain);
    sink.on("close", onClose);
    sink.on("error", onError);
  });
}

/**
 * Reading layer tars back: `readLayer` detects gzip/zstd/plain from the first bytes, decompresses as a
 * stream and yields each member as a `LayerEntry` (PAX path/linkpath/uid/gid/xattrs applied, directory
 * slashes removed) together with its content stream. For tests, inspection and (later) extraction.
 */
import type { Readable } from "node:stream";
import tar from "tar-stream";
import { type Compression, openDecompressed } from "./compress.js";
import type { LayerEntry, LayerEntryType } from "./entry.js";
import { LayerError } from "./errors.js";

export interface ReadEntry {
  /** The member's metadata (no `open`: read `body` instead). */
  entry: LayerEntry;
  /** The member's content; if it is not consumed before the next entry is requested it is skipped. */
  body: Readable;
  /** Offset of the content in the uncompressed tar. */
  dataOffset: number;
}

export interface ReadLayerOptions {
  /** Told when the compression is known. */
  onCompression?: (compression: Compression) => void;
}

/** Iterates the members of a (possibly compressed) tar stream. */
export async function* readLayer(source: Readable, options: ReadLayerOptions = {}): AsyncIterable<ReadEntry> {
  const { stream, compression } = await openDecompressed(source);
  options.onCompression?.(compression);
  yield* readTar(stream);
}

/** Iterates the members of an uncompressed tar stream. */
export async function* readTar(stream: Readable): AsyncIterable<ReadEntry> {
  const extract = tar.extract();
  stream.on("error", (error) => extract.destroy(error));
  stream.pipe(extract as unknown as NodeJS.WritableStream);
  try {
    for await (const member of extract) {
      const body = member as unknown as Readable;
      try {
        yield {
          entry: toLayerEntry(member.header),
          body,
          dataOffset: (member.header as { byteOffset?: number }).byteOffset ?? 0,
        };
      } finally {
        // Skip whatever the consumer left unread, so the extractor can move on.
        body.resume();
      }
    }
  } catch (error) {
    if (error instanceof LayerError) throw error;
    throw new LayerError("TAR_INVALID", `cannot read tar: ${(error as Error).message}`, { cause: error });
  } finally {
    stream.destroy();
  }
}

const TYPES: Record<string, LayerEntryType> = {
  file: "file",
  "contiguous-file": "file",
  directory: "directory",
  symlink: "symlink",
  link: "link",
  fifo: "fifo",
  "character-device": "character-device",
  "block-device": "block-device",
};

function toLayerEntry(header: tar.Header & { byteOffset?: number }): LayerEntry {
  const type = TYPES[header.type];
  if (type === undefined) {
    throw new LayerError("TAR_INVALID", `${header.name}: unsupported tar member type ${header.type}`, {
      path: header.name,
    });
  }
  const pax = (header.pax ?? {}) as Record<string, string>;
  const entry: LayerEntry = {
    path: header.name.replace(/\/+$/, ""),
    type,
    mode: header.mode & 0o7777,
    uid: pax.uid !== undefined ? Number(pax.uid) : header.uid,
    gid: pax.gid !== undefined ? Number(pax.gid) : header.gid,
    size: type === "file" ? header.size : 0,
    mtime: Math.floor(header.mtime.getTime() / 1000),
  };
  if (header.linkname) entry.linkname = header.linkname;
  if (type === "character-device" || type === "block-device") {
    entry.devmajor = header.devmajor;
    entry.devminor = header.devminor;
  }
  const xattrs: Record<string, string> = {};
  for (const [key, value] of Object.entries(pax)) {
    if (key.startsWith("SCHILY.xattr.")) xattrs[key.slice("SCHILY.xattr.".length)] = value;
  }
  if (Object.keys(xattrs).length > 0) entry.xattrs = xattrs;
  return entry;
}

/**
 * Directory ↔ tar for the archive transports (`oci-archive:`, `docker-archive:`): `packDirectory` streams
 * every regular file and directory of a tree into a tar file (sorted, numeric owner 0, fixed mtime);
 * `extractArchive` unpacks such a tar into an empty directory accepting only regular files and directories
 * whose normalised paths stay inside it (no absolute paths, no `..`, no links, no devices).
 */
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readdir, rename, stat, unlink } from "node:fs/promises";
import { dirname, join, normalize, relative, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import { READ_CHUNK_BYTES, readChunkFor } from "../../util/read-chunk.js";
import { ArchiveError } from "./errors.js";

/** Every file under `dir` as relative paths, directories first, in byte order. */
async function listTree(
  dir: string,
  prefix = "",
): Promise<Array<{ path: string; dir: boolean; size: number }>> {
  const out: Array<{ path: string; dir: boolean; size: number }> = [];
  const names = (await readdir(join(dir, prefix))).sort();
  for (const name of names) {
    const rel = prefix === "" ? name : `${prefix}/${name}`;
    const info = await stat(join(dir, rel));
    if (info.isDirectory()) {
      out.push({ path: rel, dir: true, size: 0 });
      out.push(...(await listTree(dir, rel)));
    } else if (info.isFile()) {
      out.push({ path: rel, dir: false, size: info.size });
    }
  }
  return out;
}

/** Writes `dir`'s tree to the tar file `file` (streamed, one file at a time; renamed into place at the end). */
export async function packDirectory(dir: string, file: string, mtime = new Date(0)): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  const pack = tar.pack();
  const written = pipeline(pack, createWriteStream(temp));
  try {
    for (const entry of await listTree(dir)) {
      const header = { name: entry.path, mode: entry.dir ? 0o755 : 0o644, uid: 0, gid: 0, mtime };
      if (entry.dir) {
        pack.entry({ ...header, type: "directory" });
        continue;
      }
      const sink = pack.entry({ ...header, type: "file", size: entry.size });
      const highWaterMark = readChunkFor(entry.size);
      await pipeline(createReadStream(join(dir, entry.path), { highWaterMark }), sink);
    }
    pack.finalize();
  } catch (error) {
    pack.destroy(error as Error);
  }
  try {
    await written;
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
}

/** Unpacks the tar file `file` into the directory `dir` (created if needed). */
export async function extractArchive(file: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const extract = tar.extract();
  const done = pipeline(createReadStream(file, { highWaterMark: READ_CHUNK_BYTES }), extract);
  for await (const entry of extract) {
    const { name, type } = entry.header;
    const clean = normalize(name).replace(/\/+$/, "");
    const target = join(dir, clean);
    const rel = relative(dir, target);
    if (name.startsWith("/") || rel === "" || rel.startsWith("..") || rel.split(sep).includes("..")) {
      entry.resume();
      if (rel === "" && type === "directory") continue;
      throw new ArchiveError("ARCHIVE_INVALID", `${file}: entry ${JSON.stringify(name)} leaves the archive`);
    }
    if (type === "directory") {
      await mkdir(target, { recursive: true });
      entry.resume();
    } else if (type === "file" || type === "contiguous-file") {
      await mkdir(dirname(target), { recursive: true });
      await pipeline(entry, createWriteStream(target, { flags: "wx" }));
    } else {
      entry.resume();
      throw new ArchiveError("ARCHIVE_INVALID", `${file}: entry ${JSON.stringify(name)} is a ${type}`, {
        hint: "image archives hold only regular files and directories",
      });
    }
  }
  await done;
}

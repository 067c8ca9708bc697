/**
 * ADD <url>: downloads to a temp file (streamed, hashed on the way), verifies `--checksum`
 * (`sha256:…`, `sha384:…`, `sha512:…`), and reports what BuildKit's HTTP source uses: the file name
 * (Content-Disposition, else the last URL path component, else `__unnamed__`) and the Last-Modified time.
 */
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { CopyError } from "../../context/errors.js";

/** The subset of fetch ADD needs (undici's by default; tests may pass another). */
export type FetchLike = (
  url: string,
  init: { signal?: AbortSignal; redirect: "follow" },
) => Promise<{
  ok: boolean;
  status: number;
  statusText: string;
  headers: { get(name: string): string | null };
  body: ReadableStream<Uint8Array> | null;
}>;

export interface Downloaded {
  /** Temp file holding the content; the caller removes it (`cleanup`). */
  path: string;
  filename: string;
  /** From Last-Modified, in ns. */
  mtimeNs?: bigint;
  sha256: string;
  cleanup(): Promise<void>;
}

const CHECKSUM = /^(sha256|sha384|sha512):([0-9a-f]+)$/;
const HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

function parseChecksum(checksum: string): { algorithm: string; hex: string } {
  const match = CHECKSUM.exec(checksum);
  if (match === null || match[2]!.length !== HEX_LENGTH[match[1]!]) {
    throw new CopyError("COPY_FETCH", `invalid --checksum=${checksum}`, {
      hint: "write --checksum=sha256:<64 hex digits>",
    });
  }
  return { algorithm: match[1]!, hex: match[2]! };
}

function filenameOf(url: URL, disposition: string | null): string {
  const fromHeader = disposition === null ? undefined : /filename="?([^";]+)"?/i.exec(disposition)?.[1];
  const candidate = fromHeader ?? posix.basename(decodeURIComponent(url.pathname));
  const name = posix.basename(candidate.replaceAll("\\", "/"));
  return name === "" || name === "." || name === ".." || name === "/" ? "__unnamed__" : name;
}

export async function downloadUrl(
  url: string,
  options: { checksum?: string; fetch?: FetchLike; tempDir?: string; signal?: AbortSignal } = {},
): Promise<Downloaded> {
  const expected = options.checksum === undefined ? undefined : parseChecksum(options.checksum);
  // undici (a large module) is loaded only when an ADD really downloads something.
  const fetchImpl = options.fetch ?? ((await import("undici")).fetch as unknown as FetchLike);
  let response: Awaited<ReturnType<FetchLike>>;
  try {
    response = await fetchImpl(url, { signal: options.signal, redirect: "follow" });
  } catch (error) {
    throw new CopyError("COPY_FETCH", `cannot download ${url}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (!response.ok || response.body === null) {
    throw new CopyError(
      "COPY_FETCH",
      `cannot download ${url}: HTTP ${response.status} ${response.statusText}`,
      {
        hint: "check the URL; ADD only follows redirects, it does not authenticate",
      },
    );
  }
  const path = join(
    options.tempDir ?? tmpdir(),
    `.gantry-add-${process.pid}-${randomBytes(6).toString("hex")}`,
  );
  const sha256 = createHash("sha256");
  const verify =
    expected !== undefined && expected.algorithm !== "sha256" ? createHash(expected.algorithm) : undefined;
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      sha256.update(chunk);
      verify?.update(chunk);
      callback(null, chunk);
    },
  });
  const cleanup = () => unlink(path).catch(() => {});
  try {
    await pipeline(
      Readable.fromWeb(response.body as import("node:stream/web").ReadableStream),
      hashing,
      createWriteStream(path, { flags: "wx", mode: 0o600 }),
    );
  } catch (error) {
    await cleanup();
    throw new CopyError("COPY_FETCH", `cannot download ${url}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const sha256Hex = sha256.digest("hex");
  if (expected !== undefined) {
    const actual = verify === undefined ? sha256Hex : verify.digest("hex");
    if (actual !== expected.hex) {
      await cleanup();
      throw new CopyError(
        "COPY_FETCH",
        `checksum of ${url} does not match: expected ${options.checksum}, got ${expected.algorithm}:${actual}`,
        { hint: "the file at that URL changed, or --checksum is wrong" },
      );
    }
  }
  const lastModified = response.headers.get("last-modified");
  const time = lastModified === null ? Number.NaN : Date.parse(lastModified);
  const downloaded: Downloaded = {
    path,
    filename: filenameOf(new URL(url), response.headers.get("content-disposition")),
    sha256: sha256Hex,
    cleanup,
  };
  if (!Number.isNaN(time)) downloaded.mtimeNs = BigInt(time) * 1_000_000n;
  return downloaded;
}

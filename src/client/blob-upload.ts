/**
 * Uploading one blob to a registry: a monolithic `PUT ?digest=` for blobs up to `chunkSize`, and a chunked
 * upload (`PATCH` with `Content-Range`, then `PUT ?digest=`) for larger ones. A chunked upload is resumable:
 * when a PATCH fails (cut connection, 5xx, 416), the session's status (`GET <location>` → `Range: 0-N`) says
 * how much the registry has, and the upload continues from byte N+1 with a fresh source stream. The source
 * is a function opening a byte range, so any attempt can restart anywhere.
 */
import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import type { ByteRange, Digest } from "../image/store-types.js";
import { ClientError, RegistryHttpError } from "./errors.js";
import { type HttpResponse, headerValue, isTransientNetworkError } from "./http.js";
import { pushScope, type RegistryClient } from "./registry-client.js";

/** Opens the blob's bytes (`range` inclusive); the whole blob without a range. */
export type BlobOpener = (range?: ByteRange) => Promise<Readable>;

export interface UploadOptions {
  /** Blobs larger than this go in chunks of this size (default 128 MiB). */
  chunkSize?: number;
  /** Failed attempts tolerated before giving up (default 5). */
  attempts?: number;
  /** Bytes the registry has confirmed so far. */
  onProgress?: (bytes: number) => void;
}

export const DEFAULT_CHUNK_SIZE = 128 * 1024 * 1024;

/** Uploads `blob` into `repo` from `open`. */
export async function uploadBlob(
  client: RegistryClient,
  repo: string,
  blob: { digest: Digest; size: number },
  open: BlobOpener,
  options: UploadOptions = {},
): Promise<void> {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const attempts = options.attempts ?? 5;
  if (blob.size <= chunkSize) {
    for (let attempt = 1; ; attempt++) {
      try {
        const location = await startUpload(client, repo);
        const response = await client.request(
          {
            method: "PUT",
            path: withDigest(location, blob.digest),
            headers: { "content-type": "application/octet-stream", "content-length": String(blob.size) },
            body: () => open(),
            retry: false,
          },
          [pushScope(repo)],
        );
        if (response.statusCode !== 201) await client.fail("PUT", `/v2/${repo}/blobs/uploads/…`, response);
        await response.body.dump();
        options.onProgress?.(blob.size);
        return;
      } catch (error) {
        if (attempt >= attempts || !retryable(error)) throw error;
        await sleep(backoff(attempt));
      }
    }
  }

  let location = await startUpload(client, repo);
  let offset = 0;
  let failures = 0;
  while (offset < blob.size) {
    const end = Math.min(offset + chunkSize, blob.size) - 1;
    let response: HttpResponse | undefined;
    try {
      response = await client.request(
        {
          method: "PATCH",
          path: location,
          headers: {
            "content-type": "application/octet-stream",
            "content-length": String(end - offset + 1),
            "content-range": `${offset}-${end}`,
          },
          body: () => open({ start: offset, end }),
          retry: false,
        },
        [pushScope(repo)],
      );
    } catch (error) {
      if (++failures > attempts || !retryable(error)) throw error;
    }
    if (response?.statusCode === 202) {
      await response.body.dump();
      const next = headerValue(response.headers, "location");
      if (next) location = new URL(next, `${await client.baseUrl()}/`).toString();
      offset = confirmedEnd(response) ?? end + 1;
      options.onProgress?.(offset);
      continue;
    }
    if (response !== undefined) {
      const status = response.statusCode;
      if (++failures > attempts || (status < 500 && status !== 416 && status !== 429)) {
        await client.fail("PATCH", `/v2/${repo}/blobs/uploads/…`, response);
      }
      await response.body.dump().catch(() => {});
    }
    // Ask the registry how much it has, then continue from there.
    await sleep(backoff(failures));
    const state = await uploadStatus(client, repo, location);
    location = state.location;
    offset = state.offset;
    options.onProgress?.(offset);
  }
  const response = await client.request(
    { method: "PUT", path: withDigest(location, blob.digest), headers: { "content-length": "0" } },
    [pushScope(repo)],
  );
  if (response.statusCode !== 201) await client.fail("PUT", `/v2/${repo}/blobs/uploads/…`, response);
  await response.body.dump();
}

/** POST /v2/<repo>/blobs/uploads/ → the session URL. */
async function startUpload(client: RegistryClient, repo: string): Promise<string> {
  const path = `/v2/${repo}/blobs/uploads/`;
  const response = await client.request({ method: "POST", path, headers: { "content-length": "0" } }, [
    pushScope(repo),
  ]);
  if (response.statusCode !== 202) await client.fail("POST", path, response);
  await response.body.dump();
  const location = headerValue(response.headers, "location");
  if (!location) throw new ClientError("REGISTRY_HTTP", `POST ${path}: the registry sent no Location`);
  return new URL(location, `${await client.baseUrl()}/`).toString();
}

/** GET <location>: how many bytes the session holds (`Range: 0-N`, N inclusive). */
async function uploadStatus(
  client: RegistryClient,
  repo: string,
  location: string,
): Promise<{ location: string; offset: number }> {
  const response = await client.request({ method: "GET", path: location }, [pushScope(repo)]);
  if (response.statusCode !== 204 && response.statusCode !== 200) {
    await client.fail("GET", `/v2/${repo}/blobs/uploads/…`, response);
  }
  await response.body.dump();
  const next = headerValue(response.headers, "location");
  return {
    location: next ? new URL(next, `${await client.baseUrl()}/`).toString() : location,
    offset: confirmedEnd(response) ?? 0,
  };
}

/** The first byte not yet received, from a `Range: 0-N` header (N inclusive). */
function confirmedEnd(response: HttpResponse): number | undefined {
  const range = headerValue(response.headers, "range");
  const match = range === undefined ? null : /^(?:bytes=)?0-(\d+)$/.exec(range.trim());
  if (!match) return undefined;
  const last = Number(match[1]);
  // Distribution answers `0-0` both for an empty session and for one byte; taking it as empty only
  // costs re-sending that byte.
  if (last === 0) return 0;
  return last + 1;
}

function withDigest(location: string, digest: Digest): string {
  const url = new URL(location);
  url.searchParams.set("digest", digest);
  return url.toString();
}

function retryable(error: unknown): boolean {
  if (error instanceof RegistryHttpError) return error.status >= 500 || error.status === 429;
  return isTransientNetworkError(error) || (error as { code?: string })?.code === "NETWORK";
}

function backoff(attempt: number): number {
  return Math.min(5000, 200 * 2 ** (attempt - 1));
}

/**
 * `RegistryClient`: the distribution-spec v1.1 API of one registry host, as a client. It pings `/v2/` once
 * (choosing http or https, learning the auth challenge), then sends every request with the Authorization
 * its scopes need, answering a 401 once with a fresh challenge/token. Manifests are fetched and verified
 * against their digest; blob downloads resume with `Range` after a cut connection; uploads live in
 * blob-upload.ts. Error answers become RegistryHttpError with the registry's error body.
 */
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { digestOf, parseDigest } from "../image/digest.js";
import { DigestMismatchError } from "../image/errors.js";
import { MANIFEST_TYPES, stripParameters } from "../image/media-types.js";
import type { Descriptor, Digest } from "../image/store-types.js";
import { Authenticator, errorsOf } from "./auth.js";
import { type Credentials, lookupCredentials } from "./credentials.js";
import { endpointHost, schemesFor } from "./endpoint.js";
import { ClientError, NetworkError, RegistryHttpError } from "./errors.js";
import {
  HttpClient,
  type HttpClientOptions,
  type HttpRequest,
  type HttpResponse,
  headerValue,
  isTransientNetworkError,
} from "./http.js";

export interface RegistryClientOptions extends HttpClientOptions {
  /** Registry host as written in references (`docker.io`, `127.0.0.1:5000`). */
  host: string;
  /** Allow plain HTTP / unverified TLS for a non-loopback host. */
  insecure?: boolean;
  /** Fixed credentials; default: looked up in the Docker config (helpers, then `auths`). */
  credentials?: Credentials;
  /** Path of the Docker config file to read credentials from. */
  dockerConfig?: string;
  /** Times a blob download is resumed after a cut connection (default 5). */
  resumeAttempts?: number;
}

export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  digest: Digest;
}

/** The largest manifest accepted (Distribution's default limit is 4 MiB). */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
export const MANIFEST_ACCEPT = MANIFEST_TYPES.join(", ");

export const pullScope = (repo: string) => `repository:${repo}:pull`;
export const pushScope = (repo: string) => `repository:${repo}:pull,push`;

export class RegistryClient {
  readonly host: string;
  readonly http: HttpClient;
  private readonly auth: Authenticator;
  private readonly options: RegistryClientOptions;
  private base: Promise<string> | undefined;

  constructor(options: RegistryClientOptions) {
    this.options = options;
    this.host = options.host;
    const insecureTls = options.insecure === true || options.insecureTls === true;
    this.http = new HttpClient({ ...options, insecureTls });
    let creds: Promise<Credentials | undefined> | undefined;
    const credentials = () => {
      if (options.credentials) return Promise.resolve(options.credentials);
      creds ??= lookupCredentials(this.host, options.dockerConfig);
      return creds;
    };
    this.auth = new Authenticator(this.http, this.host, credentials);
  }

  /** `scheme://endpoint`, after the ping. */
  baseUrl(): Promise<string> {
    this.base ??= this.ping();
    return this.base;
  }

  /** GET /v2/ on each candidate scheme; remembers the scheme and the auth challenge. */
  private async ping(): Promise<string> {
    const endpoint = endpointHost(this.host);
    let lastError: unknown;
    for (const scheme of schemesFor(this.host, this.options.insecure === true)) {
      const base = `${scheme}://${endpoint}`;
      let response: HttpResponse;
      try {
        response = await this.http.send({ method: "GET", url: `${base}/v2/` });
      } catch (error) {
        lastError = error;
        continue;
      }
      const body = await response.body.text().catch(() => "");
      if (response.statusCode === 200) return base;
      if (response.statusCode === 401) {
        this.auth.setChallenge(headerValue(response.headers, "www-authenticate"));
        return base;
      }
      lastError = new RegistryHttpError("GET", `${base}/v2/`, response.statusCode, errorsOf(body), {
        hint: `is ${this.host} an OCI registry?`,
      });
    }
    if (lastError instanceof ClientError && !(lastError instanceof NetworkError)) throw lastError;
    throw new NetworkError(this.host, (lastError as { cause?: unknown })?.cause ?? lastError, {
      hint: schemesFor(this.host, false).includes("http")
        ? undefined
        : `is it up? A registry without TLS needs --insecure (${this.host} is not a loopback host)`,
    });
  }

  /** Checks that the registry accepts the configured credentials (for `gantry login`). */
  async checkLogin(): Promise<void> {
    await this.baseUrl();
    if (this.auth.scheme === undefined) return;
    await this.auth.authorization([]);
    const response = await this.request({ method: "GET", path: "/v2/" }, []);
    await response.body.dump();
    if (response.statusCode !== 200) throw new RegistryHttpError("GET", "/v2/", response.statusCode, []);
  }

  /**
   * Sends a request to `path` (under the base URL, or an absolute URL) with the Authorization `scopes`
   * need. A 401 is answered once: the challenge is re-read, the token for these scopes renewed, and the
   * request sent again.
   */
  async request(request: Omit<HttpRequest, "url"> & { path: string }, scopes: readonly string[]) {
    const base = await this.baseUrl();
    const url = /^https?:\/\//.test(request.path)
      ? request.path
      : new URL(request.path, `${base}/`).toString();
    for (let attempt = 0; ; attempt++) {
      const authorization = await this.auth.authorization(scopes);
      const headers = { ...request.headers };
      if (authorization) headers.authorization = authorization;
      const response = await this.http.send({ ...request, url, headers });
      if (response.statusCode !== 401 || attempt > 0) return response;
      const challenge = headerValue(response.headers, "www-authenticate");
      await response.body.dump().catch(() => {});
      this.auth.invalidate(scopes);
      this.auth.setChallenge(challenge);
    }
  }

  /** Throws a RegistryHttpError for `response` (reading its error body). */
  async fail(method: string, path: string, response: HttpResponse): Promise<never> {
    const text = method === "HEAD" ? "" : await response.body.text().catch(() => "");
    if (method === "HEAD") await response.body.dump().catch(() => {});
    throw new RegistryHttpError(
      method,
      `${await this.baseUrl()}${path}`,
      response.statusCode,
      errorsOf(text),
    );
  }

  // ---- manifests -----------------------------------------------------------------------------------------

  /** GET a manifest by tag or digest; verifies the content against the digest it is addressed by. */
  async getManifest(repo: string, reference: string, accept = MANIFEST_ACCEPT): Promise<FetchedManifest> {
    const path = `/v2/${repo}/manifests/${reference}`;
    const response = await this.request({ method: "GET", path, headers: { accept } }, [pullScope(repo)]);
    if (response.statusCode !== 200) await this.fail("GET", path, response);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      size += (chunk as Buffer).byteLength;
      if (size > MAX_MANIFEST_BYTES) {
        response.body.destroy();
        throw new ClientError("REGISTRY_HTTP", `manifest ${repo}:${reference} is larger than 4 MiB`);
      }
      chunks.push(chunk as Buffer);
    }
    const bytes = Buffer.concat(chunks);
    const headerDigest = headerValue(response.headers, "docker-content-digest");
    const expected = reference.includes(":") ? reference : headerDigest;
    let digest: Digest;
    if (expected !== undefined) {
      const wanted = parseDigest(expected);
      digest = digestOf(bytes, wanted.algorithm);
      if (digest !== wanted.digest) throw new DigestMismatchError(wanted.digest, digest);
    } else {
      digest = digestOf(bytes);
    }
    const contentType = headerValue(response.headers, "content-type");
    const declared = (JSON.parse(bytes.toString("utf8")) as { mediaType?: unknown }).mediaType;
    const mediaType =
      typeof declared === "string" ? declared : contentType ? stripParameters(contentType) : "";
    return { bytes, mediaType, digest };
  }

  /** HEAD a manifest: its descriptor, or undefined when the registry does not have it. */
  async headManifest(repo: string, reference: string): Promise<Descriptor | undefined> {
    const path = `/v2/${repo}/manifests/${reference}`;
    const response = await this.request({ method: "HEAD", path, headers: { accept: MANIFEST_ACCEPT } }, [
      pullScope(repo),
    ]);
    await response.body.dump().catch(() => {});
    if (response.statusCode === 404) return undefined;
    if (response.statusCode !== 200) await this.fail("HEAD", path, response);
    const digest = headerValue(response.headers, "docker-content-digest");
    if (digest === undefined) return undefined;
    return {
      mediaType: stripParameters(headerValue(response.headers, "content-type") ?? ""),
      digest: parseDigest(digest).digest,
      size: Number(headerValue(response.headers, "content-length") ?? 0),
    };
  }

  async putManifest(repo: string, reference: string, bytes: Buffer, mediaType: string): Promise<Digest> {
    const path = `/v2/${repo}/manifests/${reference}`;
    const response = await this.request(
      { method: "PUT", path, headers: { "content-type": mediaType }, body: bytes },
      [pushScope(repo)],
    );
    if (response.statusCode !== 201 && response.statusCode !== 200) await this.fail("PUT", path, response);
    await response.body.dump();
    return (headerValue(response.headers, "docker-content-digest") as Digest | undefined) ?? digestOf(bytes);
  }

  async listTags(repo: string): Promise<string[]> {
    const path = `/v2/${repo}/tags/list`;
    const response = await this.request({ method: "GET", path }, [pullScope(repo)]);
    if (response.statusCode !== 200) await this.fail("GET", path, response);
    const body = (await response.body.json()) as { tags?: string[] | null };
    return body.tags ?? [];
  }

  // ---- blobs ---------------------------------------------------------------------------------------------

  /** HEAD a blob: its size, or undefined when absent. */
  async headBlob(repo: string, digest: Digest, scopes = [pullScope(repo)]): Promise<number | undefined> {
    const path = `/v2/${repo}/blobs/${digest}`;
    const response = await this.request({ method: "HEAD", path }, scopes);
    await response.body.dump().catch(() => {});
    if (response.statusCode === 404) return undefined;
    if (response.statusCode !== 200) await this.fail("HEAD", path, response);
    return Number(headerValue(response.headers, "content-length") ?? -1);
  }

  /**
   * Streams a blob. When the connection breaks, the download continues where it stopped with
   * `Range: bytes=N-` (or skips N bytes if the registry ignores ranges), up to `resumeAttempts` times.
   * `onResume` reports each resumption. `start`/`blob.size` select a byte range (`size` = one past the
   * last byte wanted). The caller verifies the digest (the content store does).
   */
  openBlob(
    repo: string,
    blob: { digest: Digest; size: number },
    options: { start?: number; onResume?: (offset: number) => void } = {},
  ): Readable {
    const client = this;
    const maxResumes = this.options.resumeAttempts ?? 5;
    async function* download(): AsyncGenerator<Buffer> {
      let offset = options.start ?? 0;
      let resumes = 0;
      const path = `/v2/${repo}/blobs/${blob.digest}`;
      while (offset < blob.size || (blob.size === 0 && offset === 0 && resumes === 0)) {
        const headers: Record<string, string> = {};
        if (offset > 0) headers.range = `bytes=${offset}-`;
        const response = await client.request({ method: "GET", path, headers }, [pullScope(repo)]);
        if (response.statusCode !== 200 && response.statusCode !== 206)
          await client.fail("GET", path, response);
        let skip = offset > 0 && response.statusCode === 200 ? offset : 0;
        try {
          for await (const raw of response.body) {
            let chunk = raw as Buffer;
            if (skip > 0) {
              if (chunk.byteLength <= skip) {
                skip -= chunk.byteLength;
                continue;
              }
              chunk = chunk.subarray(skip);
              skip = 0;
            }
            if (blob.size > 0 && offset + chunk.byteLength >= blob.size) {
              // The wanted range ends here (a ranged read stops early; a full read ends anyway).
              yield chunk.subarray(0, blob.size - offset);
              offset = blob.size;
              response.body.destroy();
              return;
            }
            offset += chunk.byteLength;
            yield chunk;
          }
          if (blob.size === 0 || offset >= blob.size) return;
        } catch (error) {
          response.body.destroy();
          if (resumes >= maxResumes || !isResumable(error)) throw error;
        }
        if (resumes++ >= maxResumes) {
          throw new ClientError(
            "NETWORK",
            `download of ${blob.digest} ended at byte ${offset} of ${blob.size}`,
          );
        }
        options.onResume?.(offset);
        await sleep(Math.min(2000, 100 * 2 ** resumes));
      }
    }
    return Readable.from(download(), { objectMode: false, highWaterMark: 1 << 20 });
  }

  /** Tries a cross-repository mount; true when the registry mounted it (201). */
  async mountBlob(repo: string, digest: Digest, from: string): Promise<boolean> {
    const path = `/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`;
    const response = await this.request({ method: "POST", path, headers: { "content-length": "0" } }, [
      pushScope(repo),
      pullScope(from),
    ]);
    await response.body.dump().catch(() => {});
    if (response.statusCode === 201) return true;
    // 202: the registry opened an ordinary upload instead; abandon it (registries expire idle sessions).
    const location = headerValue(response.headers, "location");
    if (response.statusCode === 202 && location) {
      const cancel = await this.request({ method: "DELETE", path: location, retry: false }, [
        pushScope(repo),
      ]).catch(() => undefined);
      await cancel?.body.dump().catch(() => {});
    }
    return false;
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}

function isResumable(error: unknown): boolean {
  if (isTransientNetworkError(error)) return true;
  const code = (error as { code?: string })?.code;
  return (
    code === "UND_ERR_RES_CONTENT_LENGTH_MISMATCH" || code === "UND_ERR_ABORTED" || code === "ECONNRESET"
  );
}

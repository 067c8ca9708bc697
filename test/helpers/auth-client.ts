/**
 * A small registry client for the auth tests that answers challenges the way Docker clients do: on a 401
 * with `Basic` it retries with the credentials; with `Bearer realm=…,service=…,scope=…` it asks the token
 * endpoint (Basic credentials if it has any, else anonymously) and retries with the token. Bodies are
 * buffers so requests can be replayed. Also: a real (gzip'd tar) image, pushed through this client.
 */
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { type Dispatcher, fetch, Headers, type RequestInit, type Response } from "undici";

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses one `WWW-Authenticate` challenge: `Scheme k="v",k2="v2"`. */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const m = /^(\w+)\s*(.*)$/s.exec(header.trim());
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([\w-]+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?\s*/gy;
  let p: RegExpExecArray | null;
  while ((p = re.exec(m[2]!))) params[p[1]!.toLowerCase()] = (p[2] ?? p[3] ?? "").replace(/\\(.)/g, "$1");
  return { scheme: m[1]!.toLowerCase(), params };
}

export const sha256Of = (data: Uint8Array | string): string =>
  `sha256:${createHash("sha256").update(data).digest("hex")}`;

export interface AuthClientOptions {
  user?: string;
  password?: string;
  dispatcher?: Dispatcher;
}

export class AuthClient {
  /** Authorization header to send first, per repository (or "" for registry-level requests). */
  private readonly authFor = new Map<string, string>();
  /** Every token the client obtained, newest last (tests look at them). */
  readonly tokens: string[] = [];

  constructor(
    readonly url: string,
    private readonly options: AuthClientOptions = {},
  ) {}

  private basic(): string | undefined {
    const { user, password } = this.options;
    if (user === undefined) return undefined;
    return `Basic ${Buffer.from(`${user}:${password ?? ""}`).toString("base64")}`;
  }

  /** Sends a request, answering one authentication challenge if the registry sends one. */
  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const repo = /^\/v2\/(.+?)\/(?:blobs|manifests|tags|referrers)\//.exec(path)?.[1] ?? "";
    const first = await this.send(path, init, this.authFor.get(repo));
    if (first.status !== 401) return first;
    const challenge = parseChallenge(first.headers.get("www-authenticate"));
    if (!challenge) return first;
    let authorization: string | undefined;
    if (challenge.scheme === "basic") authorization = this.basic();
    else if (challenge.scheme === "bearer") authorization = await this.bearerFor(challenge);
    if (!authorization) return first;
    await first.body?.cancel();
    this.authFor.set(repo, authorization);
    return this.send(path, init, authorization);
  }

  private send(path: string, init: RequestInit, authorization: string | undefined): Promise<Response> {
    const headers = new Headers(init.headers);
    if (authorization) headers.set("authorization", authorization);
    return fetch(`${this.url}${path}`, { ...init, headers, dispatcher: this.options.dispatcher });
  }

  /** Fetches a token for the challenge's scope; undefined when the token endpoint refuses. */
  async bearerFor(challenge: Challenge): Promise<string | undefined> {
    const { realm, service, scope } = challenge.params;
    if (!realm) return undefined;
    const query = new URLSearchParams();
    if (service) query.set("service", service);
    for (const s of (scope ?? "").split(" ").filter(Boolean)) query.append("scope", s);
    const basic = this.basic();
    const res = await fetch(`${realm}?${query}`, {
      headers: basic ? { authorization: basic } : {},
      dispatcher: this.options.dispatcher,
    });
    if (res.status !== 200) {
      await res.body?.cancel();
      return undefined;
    }
    const body = (await res.json()) as { token: string };
    this.tokens.push(body.token);
    return `Bearer ${body.token}`;
  }

  /** Monolithic blob push through `POST` + `PUT ?digest=`; returns the digest. */
  async pushBlob(repo: string, data: Uint8Array | string): Promise<string> {
    const digest = sha256Of(data);
    const start = await this.request(`/v2/${repo}/blobs/uploads/`, { method: "POST" });
    if (start.status !== 202)
      throw new HttpError(`start upload to ${repo}`, start.status, await start.text());
    const location = new URL(start.headers.get("location")!, this.url);
    location.searchParams.set("digest", digest);
    const put = await this.request(`${location.pathname}${location.search}`, {
      method: "PUT",
      headers: { "content-type": "application/octet-stream" },
      body: typeof data === "string" ? data : Buffer.from(data),
    });
    if (put.status !== 201) throw new HttpError(`finish upload to ${repo}`, put.status, await put.text());
    return digest;
  }

  async putManifest(repo: string, reference: string, manifest: string, mediaType: string): Promise<Response> {
    return this.request(`/v2/${repo}/manifests/${reference}`, {
      method: "PUT",
      headers: { "content-type": mediaType },
      body: manifest,
    });
  }

  /** Pushes a real one-layer image (gzip'd tar layer, valid config) and tags it. */
  async pushImage(
    repo: string,
    tag: string,
    content = `hello from ${repo}:${tag}\n`,
  ): Promise<PushedTestImage> {
    const image = buildTestImage(content);
    await this.pushBlob(repo, image.layer);
    await this.pushBlob(repo, image.config);
    const res = await this.putManifest(repo, tag, image.manifest, OCI_MANIFEST);
    if (res.status !== 201) throw new HttpError(`put manifest ${repo}:${tag}`, res.status, await res.text());
    return image;
  }
}

export class HttpError extends Error {
  constructor(
    what: string,
    readonly status: number,
    body: string,
  ) {
    super(`${what}: HTTP ${status} ${body}`);
  }
}

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

export interface PushedTestImage {
  layer: Buffer;
  config: string;
  manifest: string;
  digest: string;
}

function tarOf(content: string): Buffer {
  // One regular file in a ustar archive, written by hand so the image can be built synchronously.
  const header = Buffer.alloc(512);
  const body = Buffer.from(content);
  header.write("hello.txt", 0, "utf8");
  header.write("0000644\0", 100);
  header.write("0000000\0", 108);
  header.write("0000000\0", 116);
  header.write(`${body.length.toString(8).padStart(11, "0")}\0`, 124);
  header.write("00000000000\0", 136);
  header.write("        ", 148);
  header.write("0", 156);
  header.write("ustar\0", 257);
  header.write("00", 263);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  const padded = Buffer.alloc(Math.ceil(body.length / 512) * 512);
  body.copy(padded);
  return Buffer.concat([header, padded, Buffer.alloc(1024)]);
}

/** A valid linux/amd64 OCI image with one layer holding /hello.txt. */
export function buildTestImage(content: string): PushedTestImage {
  const uncompressed = tarOf(content);
  const layer = gzipSync(uncompressed);
  const config = JSON.stringify({
    architecture: "amd64",
    os: "linux",
    config: { Cmd: ["/bin/sh"] },
    rootfs: { type: "layers", diff_ids: [sha256Of(uncompressed)] },
  });
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: {
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: sha256Of(config),
      size: Buffer.byteLength(config),
    },
    layers: [
      {
        mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
        digest: sha256Of(layer),
        size: layer.length,
      },
    ],
  });
  return { layer, config, manifest, digest: sha256Of(manifest) };
}

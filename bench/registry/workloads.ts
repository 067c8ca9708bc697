/**
 * The benchmark's workloads, the same for every registry: a large blob pushed as one streamed PATCH from a
 * generated stream (never held in memory) and pulled back; manifest GETs at fixed concurrency through an
 * undici Pool; and thousands of idle keep-alive connections held open while another client pulls.
 */
import { createHash } from "node:crypto";
import net from "node:net";
import { Readable } from "node:stream";
import { Pool, request } from "undici";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const sha256 = (data: Uint8Array | string): string =>
  `sha256:${createHash("sha256").update(data).digest("hex")}`;

/** `size` bytes made by repeating a 1 MiB random-looking block, with a running counter so no two MiB match. */
function generatedStream(size: number, onChunk: (chunk: Buffer) => void): Readable {
  const block = Buffer.alloc(1 << 20);
  for (let i = 0; i < block.length; i += 4)
    block.writeUInt32LE((Math.imul(i, 2654435761) ^ 0x9e3779b9) >>> 0, i);
  let sent = 0;
  let counter = 0;
  return new Readable({
    highWaterMark: 1 << 20,
    read() {
      if (sent >= size) {
        this.push(null);
        return;
      }
      const chunk = Buffer.from(block.subarray(0, Math.min(block.length, size - sent)));
      chunk.writeUInt32LE(counter++, 0);
      sent += chunk.length;
      onChunk(chunk);
      this.push(chunk);
    },
  });
}

export interface BlobPushResult {
  digest: string;
  seconds: number;
}

/** POST a session, stream `size` bytes in one PATCH, then PUT `?digest=` (as Docker clients push layers). */
export async function pushLargeBlob(url: string, repo: string, size: number): Promise<BlobPushResult> {
  const started = performance.now();
  const open = await request(`${url}/v2/${repo}/blobs/uploads/`, { method: "POST" });
  await open.body.dump();
  if (open.statusCode !== 202) throw new Error(`POST upload: HTTP ${open.statusCode}`);
  const hash = createHash("sha256");
  const patch = await request(new URL(open.headers.location as string, url).toString(), {
    method: "PATCH",
    headers: { "content-type": "application/octet-stream", "content-length": String(size) },
    body: generatedStream(size, (chunk) => hash.update(chunk)),
  });
  await patch.body.dump();
  if (patch.statusCode !== 202) throw new Error(`PATCH upload: HTTP ${patch.statusCode}`);
  const digest = `sha256:${hash.digest("hex")}`;
  const done = new URL(patch.headers.location as string, url);
  done.searchParams.set("digest", digest);
  const put = await request(done.toString(), { method: "PUT", headers: { "content-length": "0" } });
  await put.body.dump();
  if (put.statusCode !== 201) throw new Error(`PUT upload: HTTP ${put.statusCode}`);
  return { digest, seconds: (performance.now() - started) / 1000 };
}

/** GETs a blob and counts its bytes; returns seconds. */
export async function pullBlob(
  url: string,
  repo: string,
  digest: string,
  expectedSize: number,
): Promise<number> {
  const started = performance.now();
  const res = await request(`${url}/v2/${repo}/blobs/${digest}`);
  if (res.statusCode !== 200) throw new Error(`GET blob: HTTP ${res.statusCode}`);
  let bytes = 0;
  for await (const chunk of res.body) bytes += (chunk as Buffer).length;
  if (bytes !== expectedSize) throw new Error(`GET blob: ${bytes} bytes, expected ${expectedSize}`);
  return (performance.now() - started) / 1000;
}

async function putSmallBlob(url: string, repo: string, data: string): Promise<string> {
  const digest = sha256(data);
  const open = await request(`${url}/v2/${repo}/blobs/uploads/`, { method: "POST" });
  await open.body.dump();
  const done = new URL(open.headers.location as string, url);
  done.searchParams.set("digest", digest);
  const put = await request(done.toString(), {
    method: "PUT",
    headers: { "content-type": "application/octet-stream" },
    body: data,
  });
  await put.body.dump();
  if (put.statusCode !== 201) throw new Error(`PUT blob: HTTP ${put.statusCode}`);
  return digest;
}

/** Pushes a small image whose manifest the request-rate test reads; returns the manifest's digest. */
export async function pushSmallImage(url: string, repo: string, tag: string): Promise<string> {
  const config = JSON.stringify({
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: [] },
  });
  const configDigest = await putSmallBlob(url, repo, config);
  const layers = [];
  for (let i = 0; i < 5; i++) {
    const data = `layer ${i} `.repeat(100);
    layers.push({
      mediaType: "application/vnd.oci.image.layer.v1.tar",
      digest: await putSmallBlob(url, repo, data),
      size: data.length,
    });
  }
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: {
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: configDigest,
      size: config.length,
    },
    layers,
  });
  const res = await request(`${url}/v2/${repo}/manifests/${tag}`, {
    method: "PUT",
    headers: { "content-type": OCI_MANIFEST },
    body: manifest,
  });
  await res.body.dump();
  if (res.statusCode !== 201) throw new Error(`PUT manifest: HTTP ${res.statusCode}`);
  return sha256(manifest);
}

/** Manifest GETs by tag from `connections` concurrent clients for `seconds`; returns requests per second. */
export async function manifestRequestRate(
  url: string,
  path: string,
  connections: number,
  seconds: number,
): Promise<number> {
  const pool = new Pool(url, { connections, pipelining: 1 });
  let completed = 0;
  let failed = 0;
  const until = performance.now() + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < until) {
      const res = await pool.request({ method: "GET", path, headers: { accept: OCI_MANIFEST } });
      await res.body.dump();
      if (res.statusCode === 200) completed++;
      else failed++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: connections }, worker));
  const elapsed = (performance.now() - started) / 1000;
  await pool.close();
  if (failed > 0) throw new Error(`${failed} manifest GETs failed`);
  return completed / elapsed;
}

export interface IdleConnections {
  open: number;
  close(): void;
}

/**
 * Opens `count` TCP connections, sends one keep-alive `GET /v2/` on each and waits for the answer, so the
 * server holds them as idle HTTP connections. Opened in batches to stay within the listen backlog.
 */
export async function holdIdleConnections(url: string, count: number): Promise<IdleConnections> {
  const { hostname, port } = new URL(url);
  const sockets: net.Socket[] = [];
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const socket = net.connect({ host: hostname, port: Number(port) });
      socket.setNoDelay(true);
      socket.once("error", reject);
      socket.once("connect", () => {
        socket.write(`GET /v2/ HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: keep-alive\r\n\r\n`);
      });
      socket.once("data", () => {
        socket.off("error", reject);
        socket.on("error", () => {});
        socket.on("data", () => {});
        sockets.push(socket);
        resolve();
      });
    });
  const batch = 200;
  for (let i = 0; i < count; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, count - i) }, one));
  }
  return {
    get open() {
      return sockets.filter((s) => !s.destroyed).length;
    },
    close() {
      for (const s of sockets) s.destroy();
    },
  };
}

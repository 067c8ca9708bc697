/**
 * The HTTP layer of the registry client, on undici: one connection pool per client (keep-alive, TLS
 * verification off only when asked), GETs that follow redirects (blob downloads are often redirected to a
 * CDN; undici drops Authorization when the origin changes), and retries with exponential backoff for
 * network errors and 429/5xx answers, honouring `Retry-After` (seconds or an HTTP date). Request bodies are
 * buffers or stream factories, so a retried request sends its body again from the start.
 */
import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import type { Dispatcher } from "undici";
import { NetworkError } from "./errors.js";
import { Agent, redirectInterceptor } from "./undici-core.js";

export type RequestBody = Buffer | string | (() => Readable | Promise<Readable>);

export interface HttpRequest {
  method: "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";
  url: string;
  headers?: Record<string, string>;
  body?: RequestBody;
  /** Retry on network errors and 429/5xx (default true). */
  retry?: boolean;
}

export type HttpResponse = Dispatcher.ResponseData;

export interface RetryPolicy {
  /** Attempts in total, the first included (default 5). */
  attempts: number;
  /** First backoff delay in ms (doubles each time; default 250). */
  baseDelayMs: number;
  /** Longest wait between attempts, Retry-After included (default 30 s). */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 250, maxDelayMs: 30_000 };

const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

export interface HttpClientOptions {
  /** Skip TLS certificate verification (`--insecure`). */
  insecureTls?: boolean;
  retry?: Partial<RetryPolicy>;
  /** Connections per origin (default 16). */
  connections?: number;
  /** Called before each retry (for progress output and tests). */
  onRetry?: (info: { url: string; attempt: number; delayMs: number; reason: string }) => void;
}

export class HttpClient {
  readonly retry: RetryPolicy;
  private readonly agent: Agent;
  private readonly redirecting: Dispatcher;
  private readonly onRetry: HttpClientOptions["onRetry"];

  constructor(options: HttpClientOptions = {}) {
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.onRetry = options.onRetry;
    this.agent = new Agent({
      connections: options.connections ?? 16,
      keepAliveTimeout: 30_000,
      headersTimeout: 120_000,
      bodyTimeout: 300_000,
      connect: { rejectUnauthorized: options.insecureTls !== true },
    });
    this.redirecting = this.agent.compose(redirectInterceptor({ maxRedirections: 5 }));
  }

  /** Sends a request, retrying per the policy. A non-retryable or final status is returned, not thrown. */
  async send(request: HttpRequest): Promise<HttpResponse> {
    const attempts = request.retry === false ? 1 : this.retry.attempts;
    for (let attempt = 1; ; attempt++) {
      let response: HttpResponse;
      try {
        response = await this.sendOnce(request);
      } catch (error) {
        if (attempt >= attempts || !isTransientNetworkError(error)) {
          throw new NetworkError(new URL(request.url).host, error);
        }
        await this.wait(request.url, attempt, undefined, (error as Error).message);
        continue;
      }
      if (attempt < attempts && RETRY_STATUSES.has(response.statusCode)) {
        const retryAfter = headerValue(response.headers, "retry-after");
        await response.body.dump().catch(() => {});
        await this.wait(request.url, attempt, retryAfter, `HTTP ${response.statusCode}`);
        continue;
      }
      return response;
    }
  }

  private async sendOnce(request: HttpRequest): Promise<HttpResponse> {
    const body = typeof request.body === "function" ? await request.body() : request.body;
    const follow = request.method === "GET" || request.method === "HEAD";
    return (follow ? this.redirecting : this.agent).request({
      origin: new URL(request.url).origin,
      path: pathOf(request.url),
      method: request.method,
      headers: request.headers,
      body: body ?? null,
    });
  }

  private async wait(url: string, attempt: number, retryAfter: string | undefined, reason: string) {
    const delayMs = retryDelay(this.retry, attempt, retryAfter);
    this.onRetry?.({ url, attempt, delayMs, reason });
    if (delayMs > 0) await sleep(delayMs);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/** Backoff before attempt `attempt + 1`: Retry-After when given, else base·2^(attempt-1) with jitter. */
export function retryDelay(policy: RetryPolicy, attempt: number, retryAfter?: string): number {
  const after = parseRetryAfter(retryAfter);
  if (after !== undefined) return Math.min(after, policy.maxDelayMs);
  const exponential = policy.baseDelayMs * 2 ** (attempt - 1);
  return Math.min(policy.maxDelayMs, Math.round(exponential * (0.5 + Math.random() / 2)));
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

const TRANSIENT_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

export function isTransientNetworkError(error: unknown): boolean {
  for (let e = error as { code?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.code !== undefined && TRANSIENT_CODES.has(e.code)) return true;
  }
  return false;
}

export function headerValue(headers: HttpResponse["headers"], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function pathOf(url: string): string {
  const parsed = new URL(url);
  return `${parsed.pathname}${parsed.search}`;
}

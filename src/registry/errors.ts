/**
 * The registry's error edge: distribution-spec error codes, their HTTP status (mapped here and nowhere
 * else), and the JSON body `{"errors":[{"code","message","detail"}]}`. Handlers throw typed errors (this
 * module's RegistryError or the image layer's DistributionError); `toErrorResponse` turns any of them into
 * a status and body. Anything that is not a GantryError is a real fault and becomes a 500.
 */
import { GantryError, type GantryErrorOptions } from "../errors.js";

/**
 * HTTP status of every error code that can reach the edge: the distribution-spec v1.1 codes, plus codes
 * other layers raise (TAG_INVALID, RANGE_NOT_SATISFIABLE) and the brief's RANGE. UNSUPPORTED is 405 by
 * default; raise sites override it (415, 404, 400) where that fits better.
 */
export const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 404,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
  TAG_INVALID: 400,
  RANGE: 416,
  RANGE_NOT_SATISFIABLE: 416,
  UNKNOWN: 500,
};

/**
 * The spec says a JSON error's `code` MUST be one of its fourteen codes, so codes from other layers are
 * sent as the nearest spec code (the status still comes from the original code).
 */
const SPEC_CODE_FOR: Readonly<Record<string, string>> = {
  TAG_INVALID: "MANIFEST_INVALID",
  RANGE: "SIZE_INVALID",
  RANGE_NOT_SATISFIABLE: "SIZE_INVALID",
};

export interface RegistryErrorOptions extends GantryErrorOptions {
  detail?: unknown;
  /** Overrides the code's usual status (UNSUPPORTED 415, SIZE_INVALID 413). */
  status?: number;
  /** Extra response headers (WWW-Authenticate, Content-Range). */
  headers?: Record<string, string>;
}

/** An error raised by the HTTP layer itself, carrying a distribution-spec code. */
export class RegistryError extends GantryError {
  readonly detail?: unknown;
  readonly status: number;
  readonly headers?: Record<string, string>;
  constructor(code: string, message: string, options: RegistryErrorOptions = {}) {
    super(code, message, options);
    this.detail = options.detail;
    this.status = options.status ?? STATUS_BY_CODE[code] ?? 500;
    this.headers = options.headers;
  }
}

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: { errors: Array<{ code: string; message: string; detail?: unknown }> };
  /** True when this is a real fault (logged with its stack). */
  fault: boolean;
}

/** Maps any thrown value to the response the client gets. The one place codes become statuses. */
export function toErrorResponse(err: unknown): ErrorResponse {
  if (err instanceof GantryError) {
    const status = err instanceof RegistryError ? err.status : (STATUS_BY_CODE[err.code] ?? 500);
    const detail = (err as { detail?: unknown }).detail;
    const headers = err instanceof RegistryError ? { ...(err.headers ?? {}) } : {};
    const code = SPEC_CODE_FOR[err.code] ?? err.code;
    const entry: { code: string; message: string; detail?: unknown } = { code, message: err.message };
    if (detail !== undefined) entry.detail = detail;
    return { status, headers, body: { errors: [entry] }, fault: status >= 500 };
  }
  return {
    status: 500,
    headers: {},
    body: { errors: [{ code: "UNKNOWN", message: "internal server error" }] },
    fault: true,
  };
}

export const blobUploadUnknown = (uuid: string): RegistryError =>
  new RegistryError("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry", { detail: { uuid } });

export const blobUploadInvalid = (message: string, detail?: unknown): RegistryError =>
  new RegistryError("BLOB_UPLOAD_INVALID", message, { detail });

export const notFound = (): RegistryError =>
  new RegistryError("UNSUPPORTED", "no such endpoint in the distribution API", { status: 404 });

/**
 * Typed errors of the registry client: what went wrong talking to a registry (HTTP status with the
 * registry's distribution-spec error body, authentication, network) and with a transport address. Each
 * carries a `code` and a hint, so the CLI prints one clear line and never a stack trace.
 */
import { GantryError, type GantryErrorOptions } from "../errors.js";

export type ClientErrorCode =
  | "REGISTRY_HTTP"
  | "UNAUTHORIZED"
  | "DENIED"
  | "NETWORK"
  | "CREDENTIALS"
  | "TRANSPORT_INVALID"
  | "PLATFORM_UNKNOWN"
  | "IMAGE_UNKNOWN"
  | "ARCHIVE_INVALID";

export class ClientError extends GantryError {
  declare readonly code: ClientErrorCode;
  constructor(code: ClientErrorCode, message: string, options: GantryErrorOptions = {}) {
    super(code, message, options);
  }
}

/** One error of a distribution-spec error body (`{"errors":[{code,message,detail}]}`). */
export interface RegistryErrorEntry {
  code: string;
  message?: string;
  detail?: unknown;
}

/** A registry answered with an unexpected status. `errors` is its parsed error body, when it had one. */
export class RegistryHttpError extends ClientError {
  readonly status: number;
  readonly method: string;
  readonly url: string;
  readonly errors: RegistryErrorEntry[];
  constructor(
    method: string,
    url: string,
    status: number,
    errors: RegistryErrorEntry[],
    options: GantryErrorOptions = {},
  ) {
    const first = errors[0];
    const what = first ? `${first.code}${first.message ? `: ${first.message}` : ""}` : `HTTP ${status}`;
    const code: ClientErrorCode =
      status === 401 ? "UNAUTHORIZED" : status === 403 ? "DENIED" : "REGISTRY_HTTP";
    super(code, `${method} ${redactUrl(url)}: ${what} (HTTP ${status})`, {
      hint: options.hint ?? hintForStatus(status),
      ...options,
    });
    this.status = status;
    this.method = method;
    this.url = url;
    this.errors = errors;
  }

  /** The first distribution-spec error code of the body (`MANIFEST_UNKNOWN`, …). */
  get registryCode(): string | undefined {
    return this.errors[0]?.code;
  }
}

/** The registry could not be reached (DNS, refused, reset, TLS) even after retries. */
export class NetworkError extends ClientError {
  constructor(host: string, cause: unknown, options: GantryErrorOptions = {}) {
    const reason = (cause as Error)?.message ?? String(cause);
    super("NETWORK", `cannot reach registry ${host}: ${reason}`, {
      hint:
        options.hint ??
        "check the host and port; for a plain-HTTP registry that is not on localhost use --insecure",
      cause,
    });
  }
}

function hintForStatus(status: number): string | undefined {
  if (status === 401)
    return "log in with `gantry login HOST`, or check the credentials in ~/.docker/config.json";
  if (status === 403) return "the account is not allowed to do this on that repository";
  if (status === 404) return "check the repository name and tag";
  if (status === 429) return "the registry is rate limiting; try again later";
  return undefined;
}

/** Drops query strings (they may carry signed tokens) from URLs shown to users. */
export function redactUrl(url: string): string {
  const q = url.indexOf("?");
  return q < 0 ? url : `${url.slice(0, q)}?…`;
}

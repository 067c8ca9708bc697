/**
 * htpasswd Basic authentication: the file parser (bcrypt `$2y$`/`$2a$`/`$2b$` only; other hash kinds are
 * rejected with the line that uses them), a credential verifier that caches successful checks briefly
 * (bcrypt is slow on purpose) and re-reads the file when it changes, and `createHtpasswdAuthorizer`, the
 * Basic-challenge Authorizer with per-user rights from an optional ACL file (see acl.ts).
 */
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import bcrypt from "bcryptjs";
import { type AccessPolicy, defaultAccessPolicy, describeAccess, firstDenied, parseAcl } from "./acl.js";
import { AuthConfigError } from "./errors.js";
import { ReloadingFile } from "./reloading-file.js";
import type { AccessRequest, AuthDecision, Authorizer } from "./types.js";

const BCRYPT_HASH = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;
/** Compared against when the user does not exist, so unknown users take as long as wrong passwords. */
const DUMMY_HASH = "$2b$10$zm1AfyeFseWQSs7xn2gb3uiJe6PDjCzyTxX3dGXCysvqkXDWexzSm";

function describeHashKind(hash: string): string {
  if (hash.startsWith("$apr1$")) return "Apache MD5 ($apr1$)";
  if (hash.startsWith("{SHA}")) return "SHA-1 ({SHA})";
  if (hash.startsWith("$1$")) return "MD5-crypt ($1$)";
  if (hash.startsWith("$5$")) return "SHA-256-crypt ($5$)";
  if (hash.startsWith("$6$")) return "SHA-512-crypt ($6$)";
  if (hash.startsWith("$2")) return "a malformed bcrypt hash";
  if (/^[./A-Za-z0-9]{13}$/.test(hash)) return "DES crypt";
  return "plain text or an unknown hash";
}

/** Parses htpasswd text into user → bcrypt hash. Blank lines and `#` comments are skipped. */
export function parseHtpasswd(text: string, file = "<htpasswd>"): Map<string, string> {
  const users = new Map<string, string>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, "");
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const location = { file, line: i + 1, column: 1 };
    const colon = trimmed.indexOf(":");
    if (colon <= 0) {
      throw new AuthConfigError(`expected "user:hash"`, { location });
    }
    const user = trimmed.slice(0, colon);
    const hash = trimmed.slice(colon + 1);
    if (!BCRYPT_HASH.test(hash)) {
      throw new AuthConfigError(
        `user "${user}" has ${describeHashKind(hash)}; only bcrypt ($2y$, $2a$, $2b$) is supported`,
        { location, hint: "create entries with `htpasswd -B` (bcrypt)" },
      );
    }
    if (users.has(user)) {
      throw new AuthConfigError(`user "${user}" is listed twice`, { location });
    }
    users.set(user, hash);
  }
  return users;
}

export interface HtpasswdVerifierOptions {
  file: string;
  /** How long a successful verification is remembered. Default 60 s. */
  cacheTtlMs?: number;
  /** How often the file's metadata is checked for changes. Default 1000 ms. */
  checkIntervalMs?: number;
  onReloadError?(err: unknown): void;
}

const MAX_CACHED = 10_000;

/** Checks user/password pairs against an htpasswd file. */
export class HtpasswdVerifier {
  private readonly users: ReloadingFile<Map<string, string>>;
  private readonly verified = new Map<string, number>();
  private readonly inFlight = new Map<string, Promise<boolean>>();
  private readonly ttl: number;

  constructor(options: HtpasswdVerifierOptions) {
    this.ttl = options.cacheTtlMs ?? 60_000;
    this.users = new ReloadingFile({
      path: options.file,
      parse: parseHtpasswd,
      checkIntervalMs: options.checkIntervalMs,
      onReloadError: options.onReloadError ?? reportReloadError,
      onReload: () => this.verified.clear(),
    });
  }

  /** True when `password` is `user`'s. A broken (changed) htpasswd file fails closed. */
  async verify(user: string, password: string): Promise<boolean> {
    let users: Map<string, string>;
    try {
      users = await this.users.get();
    } catch {
      return false;
    }
    const hash = users.get(user);
    const key = `${user}\0${createHash("sha256").update(password).digest("base64")}\0${hash ?? ""}`;
    const until = this.verified.get(key);
    if (until !== undefined) {
      if (until > Date.now()) return true;
      this.verified.delete(key);
    }
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = bcrypt.compare(password, hash ?? DUMMY_HASH).then(
        (ok) => {
          this.inFlight.delete(key);
          if (!ok || hash === undefined) return false;
          if (this.verified.size >= MAX_CACHED) this.verified.clear();
          this.verified.set(key, Date.now() + this.ttl);
          return true;
        },
        () => {
          this.inFlight.delete(key);
          return false;
        },
      );
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  /** Whether `user` is (still) listed; used to refuse refresh tokens of removed users. */
  async hasUser(user: string): Promise<boolean> {
    try {
      return (await this.users.get()).has(user);
    } catch {
      return false;
    }
  }
}

function reportReloadError(err: unknown): void {
  const where =
    err instanceof AuthConfigError && err.location ? `${err.location.file}:${err.location.line}: ` : "";
  process.stderr.write(
    `gantry registry: auth file unusable, denying access until fixed: ${where}${(err as Error).message}\n`,
  );
}

export type BasicCredentials = { user: string; password: string };

/**
 * Reads `Authorization: Basic …`. Returns undefined when there is no Basic header, and "malformed" when
 * the header is Basic but not `base64(user:password)`.
 */
export function parseBasicAuthorization(
  header: string | undefined,
): BasicCredentials | "malformed" | undefined {
  if (!header) return undefined;
  const match = /^Basic\s+([A-Za-z0-9+/=_-]*)\s*$/i.exec(header);
  if (!match) return /^Basic\b/i.test(header) ? "malformed" : undefined;
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return "malformed";
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Loads the ACL file (reloaded on change) or the default policy. */
export function loadAccessPolicy(
  aclFile: string | undefined,
  checkIntervalMs?: number,
): () => Promise<AccessPolicy> {
  if (!aclFile) return async () => defaultAccessPolicy;
  const acl = new ReloadingFile({
    path: aclFile,
    parse: parseAcl,
    checkIntervalMs,
    onReloadError: reportReloadError,
  });
  return () => acl.get();
}

export interface HtpasswdAuthorizerOptions {
  htpasswdFile: string;
  aclFile?: string;
  /** Shown in the Basic challenge. */
  realm: string;
  cacheTtlMs?: number;
  checkIntervalMs?: number;
}

/** Where a Basic challenge's quoted-string needs escaping. */
export function quoteHeaderValue(value: string): string {
  return `"${value.replace(/["\\]/g, "\\$&")}"`;
}

/** An Authorizer for HTTP Basic credentials checked against an htpasswd file, with rights from an ACL. */
export function createHtpasswdAuthorizer(options: HtpasswdAuthorizerOptions): Authorizer {
  const verifier = new HtpasswdVerifier({
    file: options.htpasswdFile,
    cacheTtlMs: options.cacheTtlMs,
    checkIntervalMs: options.checkIntervalMs,
  });
  const policy = loadAccessPolicy(options.aclFile, options.checkIntervalMs);
  const challenge = `Basic realm=${quoteHeaderValue(options.realm)}`;

  return {
    async authorize(req: IncomingMessage, access: AccessRequest[]): Promise<AuthDecision> {
      const credentials = parseBasicAuthorization(req.headers.authorization);
      if (credentials === "malformed") {
        return { ok: false, status: 401, challenge, message: "malformed Basic credentials" };
      }
      let rules: AccessPolicy;
      try {
        rules = await policy();
      } catch {
        return { ok: false, status: 403, message: "access control list is unusable" };
      }
      if (credentials === undefined) {
        // Anonymous: allowed only for what the ACL grants "", and never for the bare /v2/ check, so that
        // clients learn that this registry wants credentials.
        if (access.length > 0 && firstDenied(rules, "", access) === undefined) {
          return { ok: true, principal: { subject: "" } };
        }
        return { ok: false, status: 401, challenge, message: "authentication required" };
      }
      if (!(await verifier.verify(credentials.user, credentials.password))) {
        return { ok: false, status: 401, challenge, message: "invalid username or password" };
      }
      const denied = firstDenied(rules, credentials.user, access);
      if (denied) {
        return {
          ok: false,
          status: 403,
          message: `user "${credentials.user}" may not ${describeAccess(denied)}`,
        };
      }
      return { ok: true, principal: { subject: credentials.user } };
    },
  };
}

/**
 * Bearer token authentication in the manner of Distribution's token auth: the registry runs its own token
 * endpoint (`GET /token?service=…&scope=…` with Basic credentials or anonymously, and the OAuth2 form
 * `POST /token` with grant_type=password or refresh_token) that grants the permitted subset of the
 * requested scopes as a JWT signed with the registry's Ed25519 key; `authorize()` checks the signature,
 * expiry, audience and that the token's `access` claim covers the request, else answers a Bearer challenge.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { type AccessPolicy, grantedPart } from "./acl.js";
import { HtpasswdVerifier, loadAccessPolicy, parseBasicAuthorization, quoteHeaderValue } from "./htpasswd.js";
import {
  type JwtClaims,
  loadOrCreateSigningKey,
  type SigningKey,
  signJwt,
  verifyJwt,
} from "./signing-key.js";
import { accessClaim, accessCovers, formatScope, parseScopes, type ResourceAccess } from "./token-scope.js";
import type { AccessRequest, AuthDecision, Authorizer } from "./types.js";

export interface TokenAuthorizerOptions {
  htpasswdFile: string;
  aclFile?: string;
  /** The data root; the signing key lives at `<dataRoot>/auth/token-key.pem`. */
  dataRoot: string;
  /** The token audience, sent back by clients as `service=`. */
  service: string;
  /** Full URL of the token endpoint for challenges; default `http(s)://<Host header>/token`. */
  realm?: string;
  /** Lifetime of access tokens. */
  ttlSeconds: number;
  /** Lifetime of refresh tokens (OAuth2 `access_type=offline`). Default 30 days. */
  refreshTtlSeconds?: number;
  cacheTtlMs?: number;
  checkIntervalMs?: number;
}

const ISSUER = "gantry-registry";
const MAX_FORM_BYTES = 64 * 1024;
/** Tolerance for `nbf`/`iat` when clocks disagree slightly. */
const CLOCK_SKEW_SECONDS = 60;

type Subject = { subject: string } | { error: number; message: string };

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-store",
    ...headers,
  });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, code: string, message: string, headers = {}): void {
  sendJson(
    res,
    status,
    { errors: [{ code, message }], error: code.toLowerCase(), error_description: message },
    headers,
  );
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) return undefined;
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

function audienceMatches(aud: unknown, service: string): boolean {
  return aud === service || (Array.isArray(aud) && aud.includes(service));
}

export class TokenService implements Authorizer {
  private readonly verifier: HtpasswdVerifier;
  private readonly policy: () => Promise<AccessPolicy>;
  private readonly key: Promise<SigningKey>;
  private readonly tokenPath: string;
  private readonly basicChallenge: string;

  constructor(private readonly options: TokenAuthorizerOptions) {
    this.verifier = new HtpasswdVerifier({
      file: options.htpasswdFile,
      cacheTtlMs: options.cacheTtlMs,
      checkIntervalMs: options.checkIntervalMs,
    });
    this.policy = loadAccessPolicy(options.aclFile, options.checkIntervalMs);
    this.key = loadOrCreateSigningKey(options.dataRoot);
    this.key.catch(() => {}); // reported when first used
    this.tokenPath = options.realm ? new URL(options.realm).pathname : "/token";
    this.basicChallenge = `Basic realm=${quoteHeaderValue(options.service)}`;
  }

  /** Resolves once the signing key is loaded (or created); rejects if it is unusable. */
  async ready(): Promise<void> {
    await this.key;
  }

  private realmFor(req: IncomingMessage): string {
    if (this.options.realm) return this.options.realm;
    const secure = (req.socket as { encrypted?: boolean }).encrypted === true;
    return `${secure ? "https" : "http"}://${req.headers.host ?? "localhost"}${this.tokenPath}`;
  }

  private challenge(req: IncomingMessage, access: readonly AccessRequest[], error?: string): string {
    let value = `Bearer realm=${quoteHeaderValue(this.realmFor(req))},service=${quoteHeaderValue(this.options.service)}`;
    if (access.length) value += `,scope=${quoteHeaderValue(access.map(formatScope).join(" "))}`;
    if (error) value += `,error=${quoteHeaderValue(error)}`;
    return value;
  }

  async authorize(req: IncomingMessage, access: AccessRequest[]): Promise<AuthDecision> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
    if (!match) {
      return {
        ok: false,
        status: 401,
        challenge: this.challenge(req, access),
        message: "authentication required",
      };
    }
    let key: SigningKey;
    try {
      key = await this.key;
    } catch {
      return {
        ok: false,
        status: 401,
        challenge: this.challenge(req, access),
        message: "token signing key unusable",
      };
    }
    const claims = verifyJwt(match[1]!, key);
    const now = Math.floor(Date.now() / 1000);
    const invalid = (message: string): AuthDecision => ({
      ok: false,
      status: 401,
      challenge: this.challenge(req, access, "invalid_token"),
      message,
    });
    if (!claims || claims.kind === "refresh") return invalid("invalid token");
    if (!audienceMatches(claims.aud, this.options.service)) return invalid("token is for another service");
    if (typeof claims.exp !== "number" || claims.exp <= now) return invalid("token has expired");
    if (typeof claims.nbf === "number" && claims.nbf > now + CLOCK_SKEW_SECONDS)
      return invalid("token not yet valid");
    if (!accessCovers(accessClaim(claims.access), access)) {
      return {
        ok: false,
        status: 401,
        challenge: this.challenge(req, access, "insufficient_scope"),
        message: `token does not grant ${access.map(formatScope).join(" ")}`,
      };
    }
    return { ok: true, principal: { subject: typeof claims.sub === "string" ? claims.sub : "" } };
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    // Called for every request before routing: a cheap prefix test first.
    const raw = req.url ?? "/";
    if (!raw.startsWith(this.tokenPath)) return false;
    const url = new URL(raw, "http://localhost");
    if (url.pathname !== this.tokenPath) return false;
    let key: SigningKey;
    try {
      key = await this.key;
    } catch (err) {
      sendError(res, 503, "UNAVAILABLE", `token signing key unusable: ${(err as Error).message}`);
      return true;
    }
    if (req.method === "GET") await this.handleGet(req, res, url, key);
    else if (req.method === "POST") await this.handlePost(req, res, key);
    else sendError(res, 405, "UNSUPPORTED", "use GET or POST", { Allow: "GET, POST" });
    return true;
  }

  private async handleGet(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    key: SigningKey,
  ): Promise<void> {
    const service = url.searchParams.get("service");
    if (service !== null && service !== this.options.service) {
      sendError(res, 400, "DENIED", `unknown service "${service}"`);
      return;
    }
    const who = await this.subjectFromBasic(req.headers.authorization);
    if ("error" in who) {
      sendError(res, who.error, "UNAUTHORIZED", who.message, { "WWW-Authenticate": this.basicChallenge });
      return;
    }
    const offline = url.searchParams.get("offline_token") === "true";
    await this.issue(res, key, who.subject, url.searchParams.getAll("scope"), offline);
  }

  private async handlePost(req: IncomingMessage, res: ServerResponse, key: SigningKey): Promise<void> {
    const form = await readForm(req);
    if (!form) {
      sendError(res, 413, "SIZE_INVALID", "token request too large");
      return;
    }
    const service = form.get("service");
    if (service !== null && service !== this.options.service) {
      sendError(res, 400, "DENIED", `unknown service "${service}"`);
      return;
    }
    const grant = form.get("grant_type");
    let who: Subject;
    if (grant === "password") {
      const user = form.get("username") ?? "";
      const ok = user !== "" && (await this.verifier.verify(user, form.get("password") ?? ""));
      who = ok ? { subject: user } : { error: 401, message: "invalid username or password" };
    } else if (grant === "refresh_token") {
      who = await this.subjectFromRefreshToken(form.get("refresh_token") ?? "", key);
    } else {
      sendError(res, 400, "UNSUPPORTED", `unsupported grant_type "${grant ?? ""}"`);
      return;
    }
    if ("error" in who) {
      sendError(res, who.error, "UNAUTHORIZED", who.message);
      return;
    }
    const offline = form.get("access_type") === "offline" || grant === "refresh_token";
    await this.issue(res, key, who.subject, form.getAll("scope"), offline, grant === "refresh_token");
  }

  private async subjectFromBasic(header: string | undefined): Promise<Subject> {
    const credentials = parseBasicAuthorization(header);
    if (credentials === undefined) return { subject: "" };
    if (credentials === "malformed") return { error: 401, message: "malformed Basic credentials" };
    if (credentials.user !== "" && (await this.verifier.verify(credentials.user, credentials.password))) {
      return { subject: credentials.user };
    }
    return { error: 401, message: "invalid username or password" };
  }

  private async subjectFromRefreshToken(token: string, key: SigningKey): Promise<Subject> {
    const claims = verifyJwt(token, key);
    const now = Math.floor(Date.now() / 1000);
    if (
      claims?.kind !== "refresh" ||
      typeof claims.sub !== "string" ||
      !audienceMatches(claims.aud, this.options.service) ||
      typeof claims.exp !== "number" ||
      claims.exp <= now ||
      !(await this.verifier.hasUser(claims.sub))
    ) {
      return { error: 401, message: "invalid refresh token" };
    }
    return { subject: claims.sub };
  }

  /** Grants the permitted part of the requested scopes (never an error for the rest) and answers the token. */
  private async issue(
    res: ServerResponse,
    key: SigningKey,
    subject: string,
    scopeValues: string[],
    offline: boolean,
    keepRefreshToken = false,
  ): Promise<void> {
    let policy: AccessPolicy;
    try {
      policy = await this.policy();
    } catch {
      sendError(res, 503, "UNAVAILABLE", "access control list is unusable");
      return;
    }
    const granted: ResourceAccess[] = [];
    for (const requested of parseScopes(scopeValues)) {
      const part = grantedPart(policy, subject, requested);
      if (part) granted.push(part);
    }
    const now = Math.floor(Date.now() / 1000);
    const ttl = Math.max(1, Math.floor(this.options.ttlSeconds));
    const claims: JwtClaims = {
      iss: ISSUER,
      sub: subject,
      aud: this.options.service,
      // Rounded up: a token issued at x.999 s must not expire a millisecond later (claims are whole seconds).
      exp: Math.ceil(Date.now() / 1000) + ttl,
      nbf: now,
      iat: now,
      jti: randomUUID(),
      access: granted,
    };
    const token = signJwt(claims, key);
    const body: Record<string, unknown> = {
      token,
      access_token: token,
      expires_in: ttl,
      issued_at: new Date(now * 1000).toISOString(),
      scope: granted.map(formatScope).join(" "),
    };
    if (offline && subject !== "" && !keepRefreshToken) {
      body.refresh_token = signJwt(
        {
          iss: ISSUER,
          sub: subject,
          aud: this.options.service,
          kind: "refresh",
          iat: now,
          exp: now + (this.options.refreshTtlSeconds ?? 30 * 24 * 3600),
          jti: randomUUID(),
        },
        key,
      );
    }
    sendJson(res, 200, body);
  }
}

/** An Authorizer that accepts the registry's own Bearer tokens and serves the token endpoint. */
export function createTokenAuthorizer(options: TokenAuthorizerOptions): TokenService {
  return new TokenService(options);
}

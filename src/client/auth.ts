/**
 * Registry authentication, as Docker's client does it: `WWW-Authenticate` challenges parsed (RFC 7235
 * auth-params, quoted strings), Basic answered with the stored credentials, Bearer answered with a token
 * fetched from the challenge's realm (`service`, one `scope` parameter per scope, Basic credentials when
 * there are any, anonymous otherwise). Tokens are cached per scope set until shortly before they expire and
 * dropped when the registry answers 401 to them.
 */

import type { Credentials } from "./credentials.js";
import { ClientError, RegistryHttpError } from "./errors.js";
import type { HttpClient } from "./http.js";

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses a WWW-Authenticate header into its challenges (`Bearer realm="…",service="…"`, `Basic realm=…`). */
export function parseWwwAuthenticate(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  let i = 0;
  const skipSpace = () => {
    while (i < header.length && /[\s,]/.test(header[i]!)) i++;
  };
  const token = () => {
    const start = i;
    while (i < header.length && /[!#$%&'*+.^_`|~0-9A-Za-z-]/.test(header[i]!)) i++;
    return header.slice(start, i);
  };
  while (i < header.length) {
    skipSpace();
    const scheme = token();
    if (scheme === "") break;
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    challenges.push(challenge);
    for (;;) {
      while (i < header.length && /\s/.test(header[i]!)) i++;
      const save = i;
      const name = token();
      while (i < header.length && /\s/.test(header[i]!)) i++;
      if (name === "" || header[i] !== "=") {
        i = save; // not a parameter: the next challenge's scheme begins here
        break;
      }
      i++; // '='
      while (i < header.length && /\s/.test(header[i]!)) i++;
      let value = "";
      if (header[i] === '"') {
        i++;
        while (i < header.length && header[i] !== '"') {
          if (header[i] === "\\" && i + 1 < header.length) i++;
          value += header[i++];
        }
        i++;
      } else {
        value = token();
      }
      challenge.params[name.toLowerCase()] = value;
      while (i < header.length && /\s/.test(header[i]!)) i++;
      if (header[i] !== ",") break;
      i++;
    }
  }
  return challenges;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** Answers challenges for one registry host. */
export class Authenticator {
  private challenge: Challenge | undefined;
  private readonly tokens = new Map<string, CachedToken>();
  private readonly pending = new Map<string, Promise<string>>();

  constructor(
    private readonly http: HttpClient,
    private readonly host: string,
    private readonly credentials: () => Promise<Credentials | undefined>,
  ) {}

  /** Records the challenge of a 401 answer (from the ping or any request). */
  setChallenge(header: string | undefined): void {
    if (header === undefined) return;
    const challenges = parseWwwAuthenticate(header);
    this.challenge =
      challenges.find((c) => c.scheme === "bearer") ?? challenges.find((c) => c.scheme === "basic");
  }

  get scheme(): string | undefined {
    return this.challenge?.scheme;
  }

  /** The Authorization header for a request needing `scopes`, fetching a token when needed. */
  async authorization(scopes: readonly string[]): Promise<string | undefined> {
    const challenge = this.challenge;
    if (challenge === undefined) return undefined;
    if (challenge.scheme === "basic") {
      const creds = await this.credentials();
      return creds ? basicAuthorization(creds) : undefined;
    }
    if (challenge.scheme !== "bearer") return undefined;
    const key = [...new Set(scopes)].sort().join(" ");
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > Date.now()) return `Bearer ${cached.token}`;
    let pending = this.pending.get(key);
    if (!pending) {
      pending = this.fetchToken(challenge, scopes).finally(() => this.pending.delete(key));
      this.pending.set(key, pending);
    }
    return `Bearer ${await pending}`;
  }

  /** Forgets the token for `scopes` (the registry refused it). */
  invalidate(scopes: readonly string[]): void {
    this.tokens.delete([...new Set(scopes)].sort().join(" "));
  }

  private async fetchToken(challenge: Challenge, scopes: readonly string[]): Promise<string> {
    const realm = challenge.params.realm;
    if (!realm)
      throw new ClientError("UNAUTHORIZED", `registry ${this.host} sent a Bearer challenge without realm`);
    const url = new URL(realm);
    if (challenge.params.service) url.searchParams.set("service", challenge.params.service);
    for (const scope of scopes) url.searchParams.append("scope", scope);
    const creds = await this.credentials();
    const headers: Record<string, string> = { accept: "application/json" };
    if (creds) headers.authorization = basicAuthorization(creds);
    const response = await this.http.send({ method: "GET", url: url.toString(), headers });
    if (response.statusCode !== 200) {
      const text = await response.body.text().catch(() => "");
      throw new RegistryHttpError("GET", url.toString(), response.statusCode, errorsOf(text), {
        hint: creds
          ? `the token service of ${this.host} refused the credentials; run \`gantry login ${this.host}\``
          : `the registry ${this.host} needs credentials: run \`gantry login ${this.host}\``,
      });
    }
    const body = (await response.body.json()) as {
      token?: string;
      access_token?: string;
      expires_in?: number;
    };
    const token = body.token ?? body.access_token;
    if (!token) throw new ClientError("UNAUTHORIZED", `token service of ${this.host} returned no token`);
    // Docker's default lifetime is 60 s; refresh 10 s early.
    const lifetime = Math.max(10, body.expires_in ?? 60);
    this.tokens.set([...new Set(scopes)].sort().join(" "), {
      token,
      expiresAt: Date.now() + (lifetime - 10) * 1000,
    });
    return token;
  }
}

export function basicAuthorization(creds: Credentials): string {
  return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString("base64")}`;
}

/** The `errors` array of a distribution-spec error body, or [] when the body is something else. */
export function errorsOf(text: string): Array<{ code: string; message?: string; detail?: unknown }> {
  try {
    const parsed = JSON.parse(text) as { errors?: unknown };
    if (Array.isArray(parsed.errors)) {
      return parsed.errors.filter(
        (e): e is { code: string } => typeof e === "object" && e !== null && typeof e.code === "string",
      );
    }
  } catch {
    // not JSON
  }
  return [];
}

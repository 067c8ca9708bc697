/**
 * The contract between the registry's HTTP layer and its access control. The server works out which
 * repository actions a request needs and asks an `Authorizer`; implementations are anonymous (default),
 * htpasswd Basic auth, and Bearer tokens issued by the registry's own token endpoint.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

export type RegistryAction = "pull" | "push" | "delete";

/** One scope a request needs, e.g. `repository:library/app:pull,push`. `_catalog` uses registry:catalog:*. */
export interface AccessRequest {
  type: "repository" | "registry";
  /** Repository name (`library/app`), or `catalog` for type registry. */
  name: string;
  actions: RegistryAction[] | ["*"];
}

export interface Principal {
  /** User name; "" for anonymous. */
  subject: string;
}

export type AuthDecision =
  | { ok: true; principal: Principal }
  /** Deny: the server answers 401 (no/invalid credentials) or 403 (authenticated but not allowed). */
  | { ok: false; status: 401 | 403; challenge?: string; message: string };

export interface Authorizer {
  /** Decides whether `req` may do everything in `access`. */
  authorize(req: IncomingMessage, access: AccessRequest[]): Promise<AuthDecision>;
  /**
   * Lets the authorizer serve its own endpoints (the token endpoint). Returns true when it answered the
   * request; the server then does nothing more with it.
   */
  handle?(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
}

/** No access control: every request is allowed (the default on loopback). */
export const anonymousAuthorizer: Authorizer = {
  async authorize() {
    return { ok: true, principal: { subject: "" } };
  },
};

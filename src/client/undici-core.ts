/**
 * The parts of undici the client uses — Agent, the request API on every dispatcher, the redirect
 * interceptor — loaded from their own modules. undici's index also loads fetch, WebSocket, caches, mocks
 * and proxies, about 60 % of its start-up cost (~20 ms bundled), paid by every pushing, pulling and
 * cold-building process. Wiring is what undici's index does for these (the request API is mixed into
 * Dispatcher.prototype). Types come from the package's own declarations.
 */
import type { Agent as UndiciAgent, interceptors as UndiciInterceptors } from "undici";
import api from "undici/lib/api/index.js";
import AgentClass from "undici/lib/dispatcher/agent.js";
import DispatcherClass from "undici/lib/dispatcher/dispatcher.js";
import redirect from "undici/lib/interceptor/redirect.js";

Object.assign((DispatcherClass as { prototype: object }).prototype, api);

export const Agent = AgentClass as unknown as typeof UndiciAgent;
export type Agent = UndiciAgent;
export const redirectInterceptor = redirect as unknown as typeof UndiciInterceptors.redirect;

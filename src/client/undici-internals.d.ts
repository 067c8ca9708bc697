// Declarations for the undici modules src/client/undici-core.ts loads directly (undici ships none for them).
declare module "undici/lib/dispatcher/agent.js" {
  const Agent: unknown;
  export default Agent;
}
declare module "undici/lib/dispatcher/dispatcher.js" {
  const Dispatcher: unknown;
  export default Dispatcher;
}
declare module "undici/lib/api/index.js" {
  const api: Record<string, unknown>;
  export default api;
}
declare module "undici/lib/interceptor/redirect.js" {
  const redirect: unknown;
  export default redirect;
}

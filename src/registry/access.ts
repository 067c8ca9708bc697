/**
 * Which access a request needs, for the Authorizer: pull for reads, push (+pull) for uploads and manifest
 * pushes, delete for deletes, `registry:catalog:*` for the catalog, nothing specific for `/v2/`.
 */
import type { AccessRequest } from "./auth/types.js";
import type { Route } from "./router.js";

export function accessFor(route: Route, method: string): AccessRequest[] {
  const m = method.toUpperCase();
  switch (route.kind) {
    case "base":
      return [];
    case "catalog":
      return [{ type: "registry", name: "catalog", actions: ["*"] }];
    case "healthz":
    case "metrics":
      return [];
    default: {
      const name = route.name!;
      if (route.kind === "upload" || route.kind === "upload_start") {
        return [{ type: "repository", name, actions: ["pull", "push"] }];
      }
      if (m === "GET" || m === "HEAD") return [{ type: "repository", name, actions: ["pull"] }];
      if (m === "DELETE") return [{ type: "repository", name, actions: ["delete"] }];
      return [{ type: "repository", name, actions: ["pull", "push"] }];
    }
  }
}

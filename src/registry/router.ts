/**
 * URL → route. Parses `/v2/<name>/(blobs|manifests|tags|referrers|blobs/uploads)/…`, `/v2/_catalog`,
 * `/v2/`, `/healthz` and `/metrics` into a typed route with a stable name (used for logs and metrics).
 * Repository names contain slashes, so routes are matched from the end of the path. Every segment is
 * percent-decoded once; a segment that decodes to `.`/`..` or contains `/` is rejected (NAME_INVALID) so
 * no path trick reaches the stores, and the name is validated against the distribution-spec grammar.
 */
import { NameInvalidError } from "../image/errors.js";
import { notFound, RegistryError } from "./errors.js";
import { validateRepositoryName } from "./names.js";

export type RouteKind =
  | "base"
  | "catalog"
  | "tags"
  | "manifest"
  | "blob"
  | "upload_start"
  | "upload"
  | "referrers"
  | "healthz"
  | "metrics";

export interface Route {
  kind: RouteKind;
  /** Repository name (routes under /v2/<name>/). */
  name?: string;
  /** Manifest tag/digest, blob/referrers digest, or upload session id. */
  reference?: string;
  query: URLSearchParams;
}

/** The route's name for logs and metrics: `blob_get`, `manifest_put`, `upload_patch`… */
export function routeName(route: Route | undefined, method: string): string {
  if (!route) return "unmatched";
  const m = method.toLowerCase();
  switch (route.kind) {
    case "base":
    case "catalog":
    case "tags":
    case "referrers":
    case "healthz":
    case "metrics":
      return route.kind === "tags" ? "tags_list" : route.kind;
    case "upload_start":
      return "upload_start";
    case "upload": {
      const verb = m === "get" || m === "head" ? "status" : m === "put" ? "complete" : m;
      return `upload_${verb}`;
    }
    default:
      return `${route.kind}_${m}`;
  }
}

function decodeSegments(pathname: string): string[] {
  const raw = pathname.split("/");
  return raw.map((segment) => {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      throw new NameInvalidError(segment, "bad percent-encoding in path");
    }
    if (decoded !== segment && (decoded.includes("/") || decoded === "." || decoded === "..")) {
      throw new NameInvalidError(decoded, "encoded path separators and dot segments are not allowed");
    }
    if (decoded === "." || decoded === "..")
      throw new NameInvalidError(decoded, "dot segments are not allowed");
    if (decoded.includes("\0")) throw new NameInvalidError(decoded, "NUL in path");
    return decoded;
  });
}

const MAX_URL = 8192;

/** Parses a request target. Throws 404 UNSUPPORTED for unknown paths and NAME_INVALID for bad names. */
export function parseRoute(url: string): Route {
  if (url.length > MAX_URL) throw new RegistryError("NAME_INVALID", "request URI too long", { status: 414 });
  const q = url.indexOf("?");
  const pathname = q < 0 ? url : url.slice(0, q);
  const query = new URLSearchParams(q < 0 ? "" : url.slice(q + 1));
  if (pathname === "/healthz") return { kind: "healthz", query };
  if (pathname === "/metrics") return { kind: "metrics", query };
  if (pathname === "/v2" || pathname === "/v2/") return { kind: "base", query };
  if (!pathname.startsWith("/v2/")) throw notFound();
  const segs = decodeSegments(pathname.slice(4));
  if (segs.length === 1 && segs[0] === "_catalog") return { kind: "catalog", query };

  const n = segs.length;
  const withName = (kind: RouteKind, nameEnd: number, reference?: string): Route => {
    const name = segs.slice(0, nameEnd).join("/");
    validateRepositoryName(name);
    return { kind, name, reference, query };
  };
  const at = (i: number): string | undefined => (i >= 0 && i < n ? segs[i] : undefined);

  // /v2/<name>/blobs/uploads/ and /v2/<name>/blobs/uploads
  if (n >= 3 && at(n - 1) === "" && at(n - 2) === "uploads" && at(n - 3) === "blobs") {
    return withName("upload_start", n - 3);
  }
  if (n >= 3 && at(n - 1) === "uploads" && at(n - 2) === "blobs") return withName("upload_start", n - 2);
  // /v2/<name>/blobs/uploads/<uuid>
  if (n >= 4 && at(n - 2) === "uploads" && at(n - 3) === "blobs" && at(n - 1) !== "") {
    return withName("upload", n - 3, at(n - 1));
  }
  if (n >= 3 && at(n - 1) === "list" && at(n - 2) === "tags") return withName("tags", n - 2);
  if (n >= 3 && at(n - 1) !== "") {
    const kind = at(n - 2);
    if (kind === "manifests") return withName("manifest", n - 2, at(n - 1));
    if (kind === "blobs") return withName("blob", n - 2, at(n - 1));
    if (kind === "referrers") return withName("referrers", n - 2, at(n - 1));
  }
  throw notFound();
}

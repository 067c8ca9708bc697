/**
 * Image references (`busybox`, `busybox:1`, `localhost/gantry/busybox:latest`, `127.0.0.1:5000/a/b:v1`,
 * `name@sha256:…`) parsed as Docker does, and mapped to a repository of the embedded store: the
 * registry host is dropped, and a Docker Hub name without a namespace gets `library/` (`busybox` →
 * `library/busybox`, tag `latest`). See ARCHITECTURE.md "Image references".
 */
import { parseDigest } from "./digest.js";
import { NameInvalidError } from "./errors.js";
import { validateRepositoryName, validateTag } from "./names.js";
import type { Digest } from "./store-types.js";

export const DOCKER_HUB = "docker.io";

export interface ImageReference {
  /** Registry host (with port), `docker.io` when none was given. */
  domain: string;
  /** Whether the reference named its registry host explicitly. */
  explicitDomain: boolean;
  /** Repository path inside the registry, also the repository of the embedded store (`library/busybox`). */
  repository: string;
  /** The tag; `latest` when neither tag nor digest was given. */
  tag?: string;
  digest?: Digest;
}

/**
 * Parses a reference. The first `/`-component is a registry host when it contains `.` or `:` or is
 * `localhost` (Docker's rule); a Docker Hub repository without `/` lives under `library/`.
 */
export function parseImageReference(reference: string): ImageReference {
  let rest = reference.trim();
  let digest: Digest | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = parseDigest(rest.slice(at + 1)).digest;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > lastSlash) {
    tag = validateTag(rest.slice(colon + 1));
    rest = rest.slice(0, colon);
  }
  let domain = DOCKER_HUB;
  let explicitDomain = false;
  const firstSlash = rest.indexOf("/");
  if (firstSlash >= 0) {
    const first = rest.slice(0, firstSlash);
    if (first.includes(".") || first.includes(":") || first === "localhost") {
      domain = first;
      explicitDomain = true;
      rest = rest.slice(firstSlash + 1);
    }
  }
  if (domain === "index.docker.io") domain = DOCKER_HUB;
  if (domain === DOCKER_HUB && !rest.includes("/")) rest = `library/${rest}`;
  if (rest === "" || rest.endsWith("/")) throw new NameInvalidError(reference, "no repository name");
  validateRepositoryName(rest);
  if (tag === undefined && digest === undefined) tag = "latest";
  const parsed: ImageReference = { domain, explicitDomain, repository: rest };
  if (tag !== undefined) parsed.tag = tag;
  if (digest !== undefined) parsed.digest = digest;
  return parsed;
}

/** `domain/repository[:tag][@digest]`, the fully qualified form. */
export function formatImageReference(ref: ImageReference): string {
  return `${ref.domain}/${ref.repository}${ref.tag === undefined ? "" : `:${ref.tag}`}${
    ref.digest === undefined ? "" : `@${ref.digest}`
  }`;
}

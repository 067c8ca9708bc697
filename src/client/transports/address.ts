/**
 * Image addresses of `gantry copy` (skopeo's spelling): `docker://HOST/REPO[:TAG|@DIGEST]` (a registry),
 * `oci:DIR[:REF]` (an OCI layout directory), `oci-archive:FILE[:REF]`, `docker-archive:FILE[:REF]`, and a
 * bare reference for the local data root. Parsed into a typed address, then opened as a source or a
 * destination.
 */
import type { ImageDestination, ImageSource } from "../../image/archive/image-transport.js";
import { type ImageReference, parseImageReference } from "../../image/reference.js";
import { BlobOrigins } from "../blob-origins.js";
import { ClientError } from "../errors.js";
import { RegistryClient, type RegistryClientOptions } from "../registry-client.js";
import { DataRootDestination, DataRootSource, openDataRoot } from "./data-root.js";
import { RegistryDestination, RegistrySource } from "./registry.js";

export type ImageAddress =
  | { transport: "docker"; reference: ImageReference }
  | { transport: "local"; reference: ImageReference }
  | { transport: "oci" | "oci-archive" | "docker-archive"; path: string; ref?: string };

export function parseImageAddress(address: string): ImageAddress {
  if (address.startsWith("docker://")) {
    return { transport: "docker", reference: parseImageReference(address.slice("docker://".length)) };
  }
  for (const transport of ["oci-archive", "docker-archive", "oci"] as const) {
    const prefix = `${transport}:`;
    if (!address.startsWith(prefix)) continue;
    const rest = address.slice(prefix.length);
    // Split at the first colon after the path, as skopeo does (a ref may contain ':' and '/').
    const colon = rest.indexOf(":");
    const path = colon < 0 ? rest : rest.slice(0, colon);
    const ref = colon < 0 ? undefined : rest.slice(colon + 1);
    if (path === "") {
      throw new ClientError("TRANSPORT_INVALID", `${JSON.stringify(address)} names no path`, {
        hint: `${transport}:PATH[:REF]`,
      });
    }
    return ref === undefined || ref === "" ? { transport, path } : { transport, path, ref };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(address) || /^(dir|containers-storage|docker-daemon):/.test(address)) {
    throw new ClientError("TRANSPORT_INVALID", `unsupported transport in ${JSON.stringify(address)}`, {
      hint: "use docker://, oci:, oci-archive:, docker-archive: or a local reference",
    });
  }
  return { transport: "local", reference: parseImageReference(address) };
}

export function formatAddress(address: ImageAddress): string {
  if (address.transport === "docker" || address.transport === "local") {
    const r = address.reference;
    const name = `${address.transport === "docker" ? `docker://${r.domain}/` : ""}${r.repository}`;
    return `${name}${r.tag ? `:${r.tag}` : ""}${r.digest ? `@${r.digest}` : ""}`;
  }
  return `${address.transport}:${address.path}${address.ref ? `:${address.ref}` : ""}`;
}

export interface OpenContext {
  root: string;
  insecure?: boolean;
  client?: Partial<RegistryClientOptions>;
  /** Registry clients opened for the addresses; closed by `closeAll`. */
  clients?: RegistryClient[];
}

function clientFor(ctx: OpenContext, host: string): RegistryClient {
  const client = new RegistryClient({ ...ctx.client, host, insecure: ctx.insecure });
  ctx.clients?.push(client);
  return client;
}

export async function openSource(address: ImageAddress, ctx: OpenContext): Promise<ImageSource> {
  switch (address.transport) {
    case "docker": {
      const r = address.reference;
      return new RegistrySource(clientFor(ctx, r.domain), r.repository, r.digest ?? r.tag ?? "latest");
    }
    case "local": {
      const r = address.reference;
      return new DataRootSource(await openDataRoot(ctx.root), r.repository, { tag: r.tag, digest: r.digest });
    }
    // The archive transports (and the zod schemas they validate with) load only when an address names one.
    case "oci": {
      const { OciLayoutSource } = await import("../../image/archive/oci-layout-dir.js");
      return new OciLayoutSource(address.path, address.ref);
    }
    case "oci-archive": {
      const { OciArchiveSource } = await import("../../image/archive/oci-archive.js");
      return new OciArchiveSource(address.path, address.ref);
    }
    case "docker-archive": {
      const { DockerArchiveSource } = await import("../../image/archive/docker-archive.js");
      return new DockerArchiveSource(address.path, address.ref);
    }
  }
}

/** The destination and the tag its address gives the top manifest. */
export async function openDestination(
  address: ImageAddress,
  ctx: OpenContext,
): Promise<{ destination: ImageDestination; tag?: string }> {
  switch (address.transport) {
    case "docker": {
      const r = address.reference;
      const destination = new RegistryDestination(
        clientFor(ctx, r.domain),
        r.repository,
        new BlobOrigins(ctx.root),
      );
      return { destination, tag: r.digest === undefined ? r.tag : undefined };
    }
    case "local": {
      const r = address.reference;
      if (r.tag === undefined || r.digest !== undefined) {
        throw new ClientError("TRANSPORT_INVALID", "a local destination needs a tag and no digest", {
          hint: "e.g. app:1",
        });
      }
      return { destination: new DataRootDestination(await openDataRoot(ctx.root), r.repository), tag: r.tag };
    }
    case "oci": {
      const { OciLayoutDestination } = await import("../../image/archive/oci-layout-dir.js");
      return { destination: new OciLayoutDestination(address.path, address.ref), tag: address.ref };
    }
    case "oci-archive": {
      const { OciArchiveDestination } = await import("../../image/archive/oci-archive.js");
      return { destination: new OciArchiveDestination(address.path, address.ref), tag: address.ref };
    }
    case "docker-archive": {
      const { DockerArchiveDestination } = await import("../../image/archive/docker-archive.js");
      return { destination: new DockerArchiveDestination(address.path, address.ref), tag: address.ref };
    }
  }
}

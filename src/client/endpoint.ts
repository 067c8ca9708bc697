/**
 * Where a registry host is reached: Docker Hub's `docker.io` is served by `registry-1.docker.io`; loopback
 * hosts (`localhost`, `127.0.0.1`, `::1`, `*.localhost`) speak plain HTTP by default; other hosts need TLS
 * unless `--insecure`, which tries HTTPS without certificate checks first and then plain HTTP.
 */
export const DOCKER_HUB_ENDPOINT = "registry-1.docker.io";

/** The host:port to connect to for a registry named `host` in a reference. */
export function endpointHost(host: string): string {
  return host === "docker.io" || host === "index.docker.io" ? DOCKER_HUB_ENDPOINT : host;
}

/** `host` without its port (`[::1]:5000` → `::1`, `127.0.0.1:5000` → `127.0.0.1`). */
export function hostname(host: string): string {
  if (host.startsWith("[")) return host.slice(1, host.indexOf("]"));
  const colon = host.lastIndexOf(":");
  return colon >= 0 && host.indexOf(":") === colon ? host.slice(0, colon) : host;
}

export function isLoopbackHost(host: string): boolean {
  const name = hostname(host).toLowerCase();
  return (
    name === "localhost" ||
    name.endsWith(".localhost") ||
    name === "::1" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name)
  );
}

/** The schemes to try, in order. */
export function schemesFor(host: string, insecure: boolean): Array<"http" | "https"> {
  if (isLoopbackHost(host)) return ["http", "https"];
  return insecure ? ["https", "http"] : ["https"];
}

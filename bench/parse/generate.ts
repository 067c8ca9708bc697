/**
 * A large realistic Dockerfile for the parse benchmark: many stages (Go, Node, Python, Rust style), long RUN
 * chains with continuations, heredocs, exec-form JSON, flags, ENV/LABEL pairs and comments. Deterministic.
 */

function stage(i: number): string {
  const kind = i % 4;
  const lines: string[] = [];
  lines.push(`# ---- stage ${i}: ${["go", "node", "python", "rust"][kind]} build ----`);
  lines.push(`# this stage builds component ${i} and its tests`);
  const base = ["golang:1.22-bookworm", "node:20-alpine", "python:3.12-slim", "rust:1.80"][kind];
  lines.push(`FROM --platform=$BUILDPLATFORM ${base} AS build${i}`);
  lines.push(`ARG VERSION=1.${i}.0 TARGETOS TARGETARCH`);
  lines.push(`ENV APP_HOME=/srv/app${i} PATH="/srv/app${i}/bin:$PATH" LANG=C.UTF-8`);
  lines.push(`LABEL org.opencontainers.image.title="component ${i}" \\`);
  lines.push(`      org.opencontainers.image.version="\${VERSION}"`);
  lines.push(`WORKDIR /src/component${i}`);
  lines.push(`RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \\`);
  lines.push(`    --mount=type=cache,target=/var/lib/apt,sharing=locked \\`);
  lines.push(`    apt-get update && \\`);
  for (let k = 0; k < 12; k++) {
    lines.push(
      `    apt-get install -y --no-install-recommends pkg${k}-dev libthing${k} tool-${i}-${k} && \\`,
    );
    if (k % 5 === 2) lines.push("    # keep the list sorted");
  }
  lines.push(`    rm -rf /var/lib/apt/lists/*`);
  lines.push(`COPY --link --chown=1000:1000 ["go.mod", "go.sum", "package.json", "./"]`);
  lines.push(`COPY --from=deps${i} /out/ /deps/`);
  lines.push(`RUN <<EOF`);
  lines.push(`set -eux`);
  for (let k = 0; k < 8; k++) lines.push(`echo "step ${k} of component ${i}" >> /tmp/log.txt`);
  lines.push(`EOF`);
  lines.push(`COPY <<-'CONF' /etc/app${i}.conf`);
  lines.push(`\tlisten = 0.0.0.0:${8000 + i}`);
  lines.push(`\tworkers = ${i % 16}`);
  lines.push(`\tCONF`);
  lines.push(
    `RUN --mount=type=secret,id=npmrc,target=/root/.npmrc go build -trimpath -ldflags="-s -w -X main.v=\${VERSION}" -o /out/app${i} ./cmd/app${i}`,
  );
  lines.push(
    `HEALTHCHECK --interval=30s --timeout=3s --retries=3 CMD ["/out/app${i}", "healthcheck", "--quiet"]`,
  );
  lines.push(`EXPOSE ${8000 + i}/tcp ${9000 + i}/udp`);
  lines.push(`USER 1000:1000`);
  lines.push(`ENTRYPOINT ["/out/app${i}", "--config", "/etc/app${i}.conf"]`);
  lines.push(`CMD ["serve", "--port", "${8000 + i}"]`);
  lines.push("");
  return lines.join("\n");
}

/** About `targetBytes` of Dockerfile text. */
export function generateDockerfile(targetBytes: number): string {
  const parts: string[] = ["# syntax=docker/dockerfile:1", "", "ARG BASE=debian:bookworm", ""];
  let size = 0;
  for (let i = 0; size < targetBytes; i++) {
    const s = stage(i);
    parts.push(s);
    size += s.length + 1;
  }
  return parts.join("\n");
}

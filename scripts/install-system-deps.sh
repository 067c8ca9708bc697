#!/usr/bin/env bash
# Installs every system package Gantry's tests, benchmarks and demo need. Idempotent: packages already
# present are not fetched again, and apt-get update runs only when something is missing.
set -euo pipefail

PACKAGES=(
  runc            # OCI runtime for RUN steps
  crun            # alternative OCI runtime, used where it works
  busybox-static  # the base image for tests and the demo is built from it
  skopeo          # interop: reads what Gantry writes and serves
  umoci           # interop: unpacks Gantry's OCI layouts
  docker-registry # CNCF Distribution, the peer registry for interop tests and benchmarks
  iproute2        # network namespaces for RUN --network=none
  util-linux      # unshare, for the chroot isolation fallback
  ca-certificates
  openssl         # TLS test certificates
  jq
  zstd            # zstd layer compression (Node 20's zlib has none)
  bzip2           # ADD of .tar.bz2 archives (src/executor/fileops/archive.ts)
  xz-utils        # ADD of .tar.xz archives
  attr            # setfattr/getfattr: overlayfs opaque-directory xattrs in snapshots
  e2fsprogs       # chattr +T: snapshot stores spread their trees over ext4 block groups (util/spread-dirs.ts)
)

# shellcheck source=lib/apt-packages.sh
source "$(dirname "$0")/lib/apt-packages.sh"
install_missing_packages install-system-deps "${PACKAGES[@]}"

# Debian's docker-registry package starts a system service on install; tests start their own instances
# on free ports, so the packaged one is stopped (it would hold port 5000).
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker-registry 2>/dev/null; then
  systemctl stop docker-registry || true
fi
pkill -f '^/usr/bin/docker-registry serve /etc/docker/registry/config.yml' 2>/dev/null || true
echo "install-system-deps: ok (${#PACKAGES[@]} packages present)"

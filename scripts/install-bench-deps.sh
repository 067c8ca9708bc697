#!/usr/bin/env bash
# Installs the peers that only the benchmarks need (bench/build): Debian's docker.io (dockerd with BuildKit,
# started by hand by the bench with its own data root and socket) and buildah. Idempotent: packages already
# present are not fetched again, and apt-get update runs only when something is missing. Services the
# packages would start on install are stopped again: the benches start their own instances.
set -euo pipefail

PACKAGES=(
  docker.io   # dockerd + BuildKit (DOCKER_BUILDKIT=1 docker build), the anchor peer in bench/build
  buildah     # buildah bud, the other peer in bench/build
  containerd  # dockerd's runtime manager (a docker.io dependency, listed to make it explicit)
  uidmap      # newuidmap/newgidmap for buildah's user namespaces
  fuse-overlayfs # buildah's overlay storage driver where kernel overlay cannot be used
)

# shellcheck source=lib/apt-packages.sh
source "$(dirname "$0")/lib/apt-packages.sh"
install_missing_packages install-bench-deps "${PACKAGES[@]}"

# The benches start their own dockerd/containerd; a packaged service would compete for the same paths.
if command -v systemctl >/dev/null 2>&1; then
  for svc in docker.socket docker containerd; do
    systemctl is-active --quiet "$svc" 2>/dev/null && systemctl stop "$svc" || true
  done
fi
echo "install-bench-deps: ok (${#PACKAGES[@]} packages present)"

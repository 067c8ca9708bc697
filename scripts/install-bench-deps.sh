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

if [ "$(id -u)" -ne 0 ]; then
  echo "install-bench-deps: must run as root (apt-get)" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-bench-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d 101 keeps the packages' init scripts from starting daemons during install.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
    created_policy=1
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || {
    [ "$created_policy" -eq 1 ] && rm -f "$policy"
    exit 1
  }
  [ "$created_policy" -eq 1 ] && rm -f "$policy"
fi

# The benches start their own dockerd/containerd; a packaged service would compete for the same paths.
if command -v systemctl >/dev/null 2>&1; then
  for svc in docker.socket docker containerd; do
    systemctl is-active --quiet "$svc" 2>/dev/null && systemctl stop "$svc" || true
  done
fi
echo "install-bench-deps: ok (${#PACKAGES[@]} packages present)"

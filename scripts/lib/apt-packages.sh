# Shared by the install scripts (source it): installs the Debian packages given that are not installed yet.
# Idempotent: nothing is fetched when everything is present, and apt-get update runs only when something is
# missing. A policy-rc.d answering 101 keeps packaged daemons from starting during the install.
# Usage: install_missing_packages LABEL PACKAGE...
install_missing_packages() {
  local label=$1
  shift
  if [ "$(id -u)" -ne 0 ]; then
    echo "$label: must run as root (apt-get)" >&2
    exit 1
  fi
  local missing=() p
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "$label: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  local policy=/usr/sbin/policy-rc.d created_policy=0 status=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
    created_policy=1
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || status=$?
  [ "$created_policy" -eq 1 ] && rm -f "$policy"
  return "$status"
}

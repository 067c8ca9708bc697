#!/usr/bin/env bash
# Builds a minimal root filesystem from Debian's busybox-static into DEST: /bin/busybox plus a relative
# symlink in /bin for every applet, /etc/passwd and /etc/group (root, demo 1000, nobody), /etc/hosts,
# /tmp (1777), /home/demo, /root, /var, /usr/local/bin and empty /dev /proc /sys mount points.
# Idempotent: re-running leaves an existing tree unchanged (files are rewritten only when their content
# differs, so mtimes stay put). The base image for tests and the demo:
#   scripts/make-busybox-rootfs.sh /tmp/busybox-rootfs
#   gantry import /tmp/busybox-rootfs localhost/gantry/busybox:latest
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 DEST" >&2
  exit 2
fi
DEST=$1
BUSYBOX=${BUSYBOX:-/bin/busybox}
if [ ! -x "$BUSYBOX" ]; then
  echo "make-busybox-rootfs: $BUSYBOX not found (apt-get install busybox-static)" >&2
  exit 1
fi
if ! "$BUSYBOX" --list >/dev/null 2>&1; then
  echo "make-busybox-rootfs: $BUSYBOX does not list its applets" >&2
  exit 1
fi
IS_ROOT=0
[ "$(id -u)" -eq 0 ] && IS_ROOT=1

# dir MODE PATH...
dir() {
  local mode=$1
  shift
  for d in "$@"; do
    mkdir -p "$DEST/$d"
    chmod "$mode" "$DEST/$d"
  done
}

# put MODE PATH: writes stdin to DEST/PATH unless the file already has exactly that content.
put() {
  local mode=$1 path=$DEST/$2 tmp
  tmp=$(mktemp)
  cat >"$tmp"
  if ! { [ -f "$path" ] && cmp -s "$tmp" "$path"; }; then
    cp "$tmp" "$path"
  fi
  rm -f "$tmp"
  chmod "$mode" "$path"
}

mkdir -p "$DEST"
dir 0755 bin etc home usr usr/local usr/local/bin var var/log var/run dev proc sys
dir 0700 root
dir 1777 tmp var/tmp
dir 0755 home/demo

if ! { [ -f "$DEST/bin/busybox" ] && cmp -s "$BUSYBOX" "$DEST/bin/busybox"; }; then
  cp "$BUSYBOX" "$DEST/bin/.busybox.tmp"
  mv -f "$DEST/bin/.busybox.tmp" "$DEST/bin/busybox"
fi
chmod 0755 "$DEST/bin/busybox"

for applet in $("$BUSYBOX" --list); do
  [ "$applet" = busybox ] && continue
  link=$DEST/bin/$applet
  if [ "$(readlink "$link" 2>/dev/null || true)" != busybox ]; then
    ln -sfn busybox "$link"
  fi
done

put 0644 etc/passwd <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
demo:x:1000:1000:demo:/home/demo:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD

put 0644 etc/group <<'GROUP'
root:x:0:
demo:x:1000:
nogroup:x:65534:
GROUP

put 0644 etc/hosts <<'HOSTS'
127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
HOSTS

put 0644 etc/hostname <<'HOSTNAME'
gantry
HOSTNAME

put 0644 etc/profile <<'PROFILE'
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
PROFILE

if [ "$IS_ROOT" -eq 1 ]; then
  chown -R 0:0 "$DEST"
  chown 1000:1000 "$DEST/home/demo"
fi
echo "make-busybox-rootfs: $DEST ready ($("$BUSYBOX" --list | wc -l) applets)"

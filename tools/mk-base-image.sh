#!/usr/bin/env bash
# Build a tiny local base image from busybox-static, no registry needed.
#
#   tools/mk-base-image.sh DOCKER_HOST_SOCKET [TAG]
#   tools/mk-base-image.sh --tar FILE      only write the root filesystem tar
#                                          (for builders without a dockerd:
#                                          tools/engine.sh pushes it to a registry)
#
# DOCKER_HOST_SOCKET: /path/docker.sock, unix:///path/docker.sock or
# DOCKER_HOST=unix:///path/docker.sock (what dockerd-private.sh start prints).
# TAG defaults to layerprof/busybox:latest. Does nothing when TAG already exists
# (set LP_FORCE=1 to rebuild). The image: /bin/busybox with a relative symlink
# /bin/<applet> -> busybox for every applet, /usr/bin/env, /tmp (1777), /root,
# /etc/passwd and /etc/group with root, CMD ["/bin/sh"].
# Environment: LP_DOCKER (client, default /usr/bin/docker), LP_BUSYBOX (default /bin/busybox).
set -euo pipefail

prog=mk-base-image.sh
DOCKER=${LP_DOCKER:-/usr/bin/docker}
BUSYBOX=${LP_BUSYBOX:-/bin/busybox}

tar_out=
if [ "${1:-}" = --tar ]; then
	[ $# = 2 ] || { echo "usage: $prog --tar FILE" >&2; exit 2; }
	tar_out=$2
	set -- tar-only
fi
case "${1:-}" in
-h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
"") echo "usage: $prog DOCKER_HOST_SOCKET [TAG]" >&2; exit 2 ;;
esac
[ $# -le 2 ] || { echo "usage: $prog DOCKER_HOST_SOCKET [TAG]" >&2; exit 2; }

host=${1#DOCKER_HOST=}
case "$host" in
unix://* | tcp://* | ssh://* | fd://*) ;;
*) host="unix://$(realpath -m -- "$host")" ;;
esac
tag=${2:-layerprof/busybox:latest}

die() { echo "$prog: $*" >&2; exit 1; }
docker() { "$DOCKER" -H "$host" "$@"; }

[ -n "$tar_out" ] || [ -x "$DOCKER" ] || die "no docker client at $DOCKER"
"$BUSYBOX" true 2>/dev/null || die "no working static busybox at $BUSYBOX (apt-get install busybox-static)"
if file_out=$(file -b "$BUSYBOX" 2>/dev/null) && [[ "$file_out" == *dynamically* ]]; then
	die "$BUSYBOX is dynamically linked; the image needs busybox-static"
fi
[ -n "$tar_out" ] || docker version >/dev/null 2>&1 || die "no daemon answers on $host"

if [ -z "$tar_out" ] && [ "${LP_FORCE:-0}" != 1 ] && docker image inspect "$tag" >/dev/null 2>&1; then
	echo "$prog: $tag exists; nothing to do" >&2
	exit 0
fi

root=$(mktemp -d /tmp/lp-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,etc,root,tmp,usr/bin,var,dev,proc,sys}
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"
cp "$BUSYBOX" "$root/bin/busybox"
chmod 0755 "$root/bin/busybox"
n=0
for a in $("$BUSYBOX" --list); do
	case "$a" in busybox | */* | '') continue ;; esac
	ln -sf busybox "$root/bin/$a"
	n=$((n + 1))
done
ln -sf ../../bin/busybox "$root/usr/bin/env"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
echo layerprof >"$root/etc/hostname"

# Deterministic archive: sorted names, fixed owner and mtime.
if [ -n "$tar_out" ]; then
	tar -C "$root" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$tar_out" .
	echo "$prog: wrote $tar_out ($n applets)" >&2
	exit 0
fi
tar -C "$root" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - . |
	docker import \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'CMD ["/bin/sh"]' \
		--message "layerprof base image: busybox-static with $n applets" \
		- "$tag" >/dev/null
echo "$prog: built $tag ($n applets) on $host" >&2

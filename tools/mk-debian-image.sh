#!/usr/bin/env bash
# Build Debian base images for the real-world suite with debootstrap, from the
# Debian mirror that this host's apt uses, and import them into a daemon.
#
#   tools/mk-debian-image.sh DOCKER_HOST_SOCKET ECOSYSTEM...
#   tools/mk-debian-image.sh --list            the ecosystems and their packages
#   tools/mk-debian-image.sh --mirror          the mirror URL read from apt's config
#
# ECOSYSTEM: node python go rust apt (or all). Each becomes the image
# layerprof/debian-ECOSYSTEM:latest: bookworm --variant=minbase plus
# ca-certificates and the ecosystem's Debian packages (node: nodejs npm;
# python: python3 python3-pip python3-venv; go: golang-go; rust: cargo-web
# rustc-web (Debian's bookworm build of a current Rust: bookworm's cargo 0.66
# has no sparse index and would clone the whole crate registry git index in every
# build); apt: none, the project installs its own with apt-get).
# One debootstrap, copied per ecosystem, then `chroot apt-get install`. The
# root file systems are cached as tarballs in LP_IMAGE_CACHE (default
# /var/cache/layerprof/images), keyed by suite, variant and package list, so
# later runs only `docker import` (and not even that when the tag exists with
# the same key: set LP_FORCE=1 to re-import, LP_REBUILD=1 to debootstrap again).
# Trust anchors of this host that Debian's ca-certificates lacks (e.g. the CA
# of a TLS-inspecting proxy between this host and the registries) are added
# to every image (/usr/local/share/ca-certificates, update-ca-certificates), so
# the clients in a build trust what the host's clients trust; they are part
# of the cache key. LP_HOST_CA_BUNDLE (default /etc/ssl/certs/ca-certificates.crt)
# is the host's bundle; LP_HOST_CAS=0 adds none.
# The mirror is read at run time from /etc/apt/sources.list.d/*.sources or
# /etc/apt/sources.list; LP_DEBIAN_MIRROR overrides it. No host name is
# written here. Needs root and debootstrap (apt-get install debootstrap).
# Exit: 0 ok, 1 failure, 2 usage, 3 the mirror is unreachable.
set -euo pipefail

prog=mk-debian-image.sh
DOCKER=${LP_DOCKER:-/usr/bin/docker}
CACHE=${LP_IMAGE_CACHE:-/var/cache/layerprof/images}
SUITE=bookworm
VARIANT=minbase
COMMON=(ca-certificates)
ECOSYSTEMS=(node python go rust apt)

pkgs_of() {
	case "$1" in
	node) echo nodejs npm ;;
	python) echo python3 python3-pip python3-venv ;;
	go) echo golang-go ;;
	rust) echo cargo-web rustc-web ;;
	apt) echo ;;
	*) return 1 ;;
	esac
}

say() { echo "$prog: $*" >&2; }
die() { say "$*"; exit 1; }
T0=$(date +%s)
stamp() { say "[$(($(date +%s) - T0)) s] $*"; }

# The first "deb" URI of the main Debian archive for $SUITE in apt's config.
mirror_url() {
	local f u
	if [ -n "${LP_DEBIAN_MIRROR:-}" ]; then echo "$LP_DEBIAN_MIRROR"; return 0; fi
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		# deb822 stanzas separated by blank lines
		u=$(awk -v suite="$SUITE" '
			BEGIN { RS = ""; FS = "\n" }
			{
				types = ""; uris = ""; suites = ""; enabled = "yes"
				for (i = 1; i <= NF; i++) {
					if ($i ~ /^[ \t]*#/) continue
					if ($i ~ /^Types:/) types = $i
					if ($i ~ /^URIs:/) { uris = $i; sub(/^URIs:[ \t]*/, "", uris) }
					if ($i ~ /^Suites:/) suites = " " $i " "
					if ($i ~ /^Enabled:[ \t]*no/) enabled = "no"
				}
				if (enabled == "yes" && types ~ /[ \t]deb([ \t]|$)/ && suites ~ (" " suite " ")) {
					split(uris, u, /[ \t]+/); print u[1]; exit
				}
			}' "$f")
		if [ -n "$u" ]; then echo "$u"; return 0; fi
	done
	if [ -f /etc/apt/sources.list ]; then
		u=$(awk -v suite="$SUITE" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } if ($(i + 1) == suite) { print $i; exit } }' /etc/apt/sources.list)
		if [ -n "$u" ]; then echo "$u"; return 0; fi
	fi
	return 1
}

case "${1:-}" in
-h | --help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
--list) for e in "${ECOSYSTEMS[@]}"; do echo "$e: ${COMMON[*]} $(pkgs_of "$e")"; done; exit 0 ;;
--mirror) mirror_url || die "no deb source for $SUITE in /etc/apt"; exit 0 ;;
"") echo "usage: $prog DOCKER_HOST_SOCKET ECOSYSTEM... (node python go rust apt | all)" >&2; exit 2 ;;
esac
[ $# -ge 2 ] || { echo "usage: $prog DOCKER_HOST_SOCKET ECOSYSTEM..." >&2; exit 2; }
host=${1#DOCKER_HOST=}
shift
case "$host" in
unix://* | tcp://* | ssh://* | fd://*) ;;
*) host="unix://$(realpath -m -- "$host")" ;;
esac
want=()
for e in "$@"; do
	if [ "$e" = all ]; then want+=("${ECOSYSTEMS[@]}"); continue; fi
	pkgs_of "$e" >/dev/null || { say "unknown ecosystem '$e' (${ECOSYSTEMS[*]})"; exit 2; }
	want+=("$e")
done

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot)"
command -v debootstrap >/dev/null || die "debootstrap is missing (apt-get install debootstrap)"
[ -x "$DOCKER" ] || die "no docker client at $DOCKER"
docker() { "$DOCKER" -H "$host" "$@"; }
docker version >/dev/null 2>&1 || die "no daemon answers on $host"

# The host's extra CAs: the certificates of the host bundle whose body is in
# none of Debian's /usr/share/ca-certificates files, one PEM per file in DIR.
host_extra_cas() {
	local dir=$1 bundle=${LP_HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
	mkdir -p "$dir"
	[ "${LP_HOST_CAS:-1}" != 0 ] && [ -f "$bundle" ] || return 0
	find /usr/share/ca-certificates -name '*.crt' -type f -exec cat {} + 2>/dev/null |
		awk -v out="$dir" '
			FNR == NR {
				if ($0 ~ /-----BEGIN CERTIFICATE-----/) { in_c = 1; b = ""; next }
				if ($0 ~ /-----END CERTIFICATE-----/) { known[b] = 1; in_c = 0; next }
				if (in_c) { gsub(/[ \t\r]/, ""); b = b $0 }
				next
			}
			/-----BEGIN CERTIFICATE-----/ { in_c = 1; b = ""; pem = $0 "\n"; next }
			in_c { pem = pem $0 "\n" }
			/-----END CERTIFICATE-----/ {
				in_c = 0
				if (!(b in known)) { n++; printf "%s", pem > (out "/layerprof-host-" n ".crt") }
				next
			}
			in_c { gsub(/[ \t\r]/, ""); b = b $0 }
		' - "$bundle"
}
CADIR=$(mktemp -d /tmp/lp-debian-ca.XXXXXX)
host_extra_cas "$CADIR"
CAKEY=$(cat "$CADIR"/*.crt 2>/dev/null | sha256sum | cut -c1-12)
NCAS=$(find "$CADIR" -name '*.crt' | wc -l)
key_of() { printf '%s\n' "$SUITE" "$VARIANT" "$@" | sha256sum | cut -c1-12; }

mkdir -p "$CACHE"
exec 8>"$CACHE/.lock"
flock 8

work=$(mktemp -d /tmp/lp-debian.XXXXXX)
mounted=()
cleanup() {
	local m i
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
	rm -rf --one-file-system "$work" "${CADIR:-}"
}
trap cleanup EXIT

MIRROR=
need_mirror() {
	[ -n "$MIRROR" ] && return 0
	MIRROR=$(mirror_url) || die "no deb source for $SUITE in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list"
	if ! curl -fsS -m 20 -o /dev/null "$MIRROR/dists/$SUITE/Release"; then
		say "the Debian mirror $MIRROR is unreachable"
		exit 3
	fi
}

# The minbase root file system, cached.
base_tar=$CACHE/debian-$SUITE-$VARIANT-$(key_of base).tar
ensure_base() {
	if [ -s "$base_tar" ] && [ "${LP_REBUILD:-0}" != 1 ]; then return 0; fi
	need_mirror
	stamp "debootstrap --variant=$VARIANT $SUITE from $MIRROR"
	local r=$work/base
	debootstrap --variant="$VARIANT" "$SUITE" "$r" "$MIRROR" >"$work/debootstrap.log" 2>&1 ||
		{ tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
	tar -C "$r" --numeric-owner -cf "$base_tar.tmp" . && mv "$base_tar.tmp" "$base_tar"
	rm -rf --one-file-system "$r"
	stamp "base rootfs cached: $base_tar ($(du -h "$base_tar" | cut -f1))"
}

# ECOSYSTEM: a copy of the base with its packages installed, cached.
build_eco() {
	local e=$1 pk r m
	read -r -a pk <<<"${COMMON[*]} $(pkgs_of "$e")"
	local tarf=$CACHE/debian-$SUITE-$VARIANT-$e-$(key_of "${pk[@]}" "cas=$CAKEY").tar
	ECO_TAR=$tarf
	if [ -s "$tarf" ] && [ "${LP_REBUILD:-0}" != 1 ]; then return 0; fi
	ensure_base
	need_mirror
	r=$work/$e
	mkdir -p "$r"
	tar -C "$r" --numeric-owner -xf "$base_tar"
	cp /etc/resolv.conf "$r/etc/resolv.conf"
	printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"
	chmod 755 "$r/usr/sbin/policy-rc.d"
	for m in proc dev; do
		if [ "$m" = proc ]; then mount -t proc proc "$r/proc"; else mount --bind /dev "$r/dev"; fi
		mounted+=("$r/$m")
	done
	stamp "$e: chroot apt-get install ${pk[*]}"
	if ! { chroot "$r" apt-get update -q &&
		chroot "$r" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${pk[@]}"; } \
		>"$work/$e-apt.log" 2>&1; then
		tail -20 "$work/$e-apt.log" >&2
		die "$e: apt-get install failed (log above)"
	fi
	if [ "$NCAS" -gt 0 ]; then
		mkdir -p "$r/usr/local/share/ca-certificates"
		cp "$CADIR"/*.crt "$r/usr/local/share/ca-certificates/"
		chroot "$r" update-ca-certificates >>"$work/$e-apt.log" 2>&1 || die "$e: update-ca-certificates failed"
		stamp "$e: added $NCAS CA certificate(s) of this host that Debian's ca-certificates lacks"
	fi
	chroot "$r" apt-get clean
	umount -l "$r/dev" "$r/proc"
	mounted=()
	rm -rf "$r"/var/lib/apt/lists/* "$r/usr/sbin/policy-rc.d"
	: >"$r/etc/resolv.conf"
	tar -C "$r" --numeric-owner -cf "$tarf.tmp" . && mv "$tarf.tmp" "$tarf"
	rm -rf --one-file-system "$r"
	stamp "$e: rootfs cached: $tarf ($(du -h "$tarf" | cut -f1))"
}

for e in "${want[@]}"; do
	ECO_TAR=
	build_eco "$e"
	tag=layerprof/debian-$e:latest
	key=$(basename "$ECO_TAR" .tar)
	if [ "${LP_FORCE:-0}" != 1 ] &&
		[ "$(docker image inspect -f '{{index .Config.Labels "org.layerprof.rootfs"}}' "$tag" 2>/dev/null || true)" = "$key" ]; then
		stamp "$e: $tag exists ($key)"
		continue
	fi
	stamp "$e: docker import $tag"
	docker import \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'ENV LANG=C.UTF-8' \
		--change "LABEL org.layerprof.rootfs=$key" \
		--change 'CMD ["/bin/bash"]' \
		--message "layerprof real-world base: debootstrap $SUITE $VARIANT + $(pkgs_of "$e")" \
		"$ECO_TAR" "$tag" >/dev/null
	stamp "$e: imported $tag"
done
stamp "done"

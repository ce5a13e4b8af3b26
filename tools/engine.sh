#!/usr/bin/env bash
# Start and stop the private build engines layerprof is tested on: the one way
# tests, the demo and a user start one.
#
#   tools/engine.sh up NAME     start NAME (or reuse it) and print shell assignments:
#                               eval "$(tools/engine.sh up docker-29)"; $DOCKER build --network=host .
#   tools/engine.sh down NAME   stop every process it started, unmount everything, keep the data
#   tools/engine.sh list        the engines, their versions, whether built and running
#   tools/engine.sh status NAME exit 0 (and print the assignments) when NAME answers, else 3
#   tools/engine.sh --help
#
# Engines (versions pinned in tools/engines.versions; the ones built from
# source are built on first use by tools/engine-build.sh, cached outside the repo):
#   docker-20.10            Debian's docker.io: dockerd 20.10, embedded BuildKit, overlay2,
#                           Debian's client /usr/bin/docker with DOCKER_BUILDKIT=1
#   docker-28.4             dockerd 28.4 (overlay2 graphdriver) on containerd 2.1, buildx
#   docker-28.4-containerd  dockerd 28.4 with the containerd image store (snapshotter)
#   docker-29               dockerd 29 (moby v2) with its default store (containerd)
#   buildkitd-0.24          standalone buildkitd 0.24, OCI worker (runc), driven by
#                           `docker buildx build` through a remote builder; base images
#                           come from a local registry (Debian's docker-registry)
# The assignments printed by up (each line `export NAME=value`):
#   DOCKER        the docker command for this engine: a 28.x CLI with a private
#                 --config directory holding the buildx plugin (docker-20.10: Debian's CLI)
#   DOCKER_CONFIG that config directory (so a plain `docker` works too)
#   DOCKER_HOST   unix://... of the dockerd (buildkitd-0.24: buildkitd's socket)
#   DOCKER_BUILDKIT=1, LP_ENGINE=NAME, LP_ENGINE_STATE=DIR
#   buildkitd-0.24 also: REGISTRY=127.0.0.1:PORT (holds layerprof/busybox, mirrors
#                 docker.io for buildkitd), BUILDX_BUILDER, BUILDKIT_HOST
# Every engine: its own state directory $LP_ENGINE_DIR/NAME (default
# /tmp/lp-engines/NAME) with data root, exec root, sockets, logs and TMPDIR;
# its own containerd (or none) and containerd namespace; --bridge=none
# --iptables=false, so builds need --network=host. `up` also loads the base
# image layerprof/busybox (tools/mk-base-image.sh). runc is Debian's.
# Environment: LP_ENGINE_DIR, LP_ENGINE_CACHE (see engine-build.sh),
# LP_ENGINE_TIMEOUT (start timeout, s, default 60), LP_REGISTRY_PORT.
# Exit status: 0 ok, 1 failure, 2 usage, 3 (status) not running.
set -euo pipefail

prog=engine.sh
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=engines.versions
. "$here/engines.versions"
BASE=${LP_ENGINE_DIR:-/tmp/lp-engines}
TIMEOUT=${LP_ENGINE_TIMEOUT:-60}
NAMES=(docker-20.10 docker-28.4 docker-28.4-containerd docker-29 buildkitd-0.24)
PRIVATE=$here/dockerd-private.sh

die() { echo "$prog: $*" >&2; exit 1; }
say() { echo "$prog: $*" >&2; }

usage() { sed -n '2,38p' "$0" | sed 's/^# \{0,1\}//'; }

known() { local n; for n in "${NAMES[@]}"; do [ "$n" = "$1" ] && return 0; done; return 1; }

# The components an engine is made of (tools/engine-build.sh names).
components() {
	case "$1" in
	docker-20.10) ;;
	docker-28.4 | docker-28.4-containerd) echo "containerd docker28 buildx" ;;
	docker-29) echo "containerd moby29 buildx" ;;
	buildkitd-0.24) echo "buildkit buildx" ;;
	esac
}

version_of() {
	case "$1" in
	docker-20.10) /usr/sbin/dockerd --version 2>/dev/null | sed -n 's/^Docker version \([^,]*\).*/dockerd \1/p' ;;
	docker-28.4 | docker-28.4-containerd) echo "dockerd $DOCKER28_RELEASE, containerd $CONTAINERD_VERSION, buildx $BUILDX_VERSION" ;;
	docker-29) echo "dockerd $MOBY29_RELEASE ($MOBY29_VERSION), containerd $CONTAINERD_VERSION, buildx $BUILDX_VERSION" ;;
	buildkitd-0.24) echo "buildkitd $BUILDKIT_VERSION (OCI worker), buildx $BUILDX_VERSION, docker-registry $(dpkg-query -W -f '${Version}' docker-registry 2>/dev/null || echo '?')" ;;
	esac
}

bin_of() { "$here/engine-build.sh" --path "$1"; }

# A live, non-zombie process.
alive() {
	[ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
	local st
	st=$(awk '{ sub(/^[0-9]+ \(.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "$st" != Z ] && [ "$st" != X ]
}

pid_in() { [ -s "$1" ] && tr -dc '0-9' <"$1" || true; }

# wait_for SECS PIDFILE CHECK...: until CHECK succeeds; fails early when the
# process of PIDFILE died.
wait_for() {
	local secs=$1 pidfile=$2 i
	shift 2
	for ((i = 0; i < secs * 5; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		alive "$(pid_in "$pidfile")" || return 1
		sleep 0.2
	done
	return 1
}

# stop_pid PIDFILE NAME: SIGTERM, wait up to 30 s, then SIGKILL.
stop_pid() {
	local pid i
	pid=$(pid_in "$1")
	alive "$pid" || { rm -f "$1"; return 0; }
	say "stopping $2 $pid"
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 300; i++)); do alive "$pid" || break; sleep 0.1; done
	if alive "$pid"; then
		say "$2 $pid did not exit in 30 s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
		sleep 0.5
	fi
	rm -f "$1"
}

# spawn PIDFILE LOG CMD...: a daemon in its own session, detached.
spawn() {
	local pidfile=$1 log=$2 pid
	shift 2
	echo "=== $(date '+%F %T') $prog: $*" >>"$log"
	setsid "$@" </dev/null >>"$log" 2>&1 9>&- &
	pid=$!
	disown "$pid" 2>/dev/null || true
	echo "$pid" >"$pidfile"
}

# --- the docker CLI: a private config directory with the buildx plugin ---
docker_config() {
	local st=$1 bx
	bx=$(bin_of buildx)
	mkdir -p "$st/docker-config/cli-plugins"
	ln -sfn "$bx/docker-buildx" "$st/docker-config/cli-plugins/docker-buildx"
	[ -f "$st/docker-config/config.json" ] || echo '{}' >"$st/docker-config/config.json"
}

# --- containerd (ours, for dockerd 28.4/29) ---
containerd_up() {
	local st=$1 cbin c=$1/containerd
	cbin=$(bin_of containerd)
	mkdir -p "$c/root" "$c/state"
	if alive "$(pid_in "$c/containerd.pid")" && "$cbin/ctr" --address "$c/containerd.sock" version >/dev/null 2>&1; then
		return 0
	fi
	cat >"$c/config.toml" <<-EOF
		version = 3
		root = "$c/root"
		state = "$c/state"
		disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.images", "io.containerd.cri.v1.runtime", "io.containerd.nri.v1.nri"]
		[grpc]
		  address = "$c/containerd.sock"
		[ttrpc]
		  address = "$c/containerd.sock.ttrpc"
		[debug]
		  address = ""
		[metrics]
		  address = ""
	EOF
	rm -f "$c/containerd.sock" "$c/containerd.sock.ttrpc"
	PATH="$cbin:$PATH" TMPDIR="$st/tmp" spawn "$c/containerd.pid" "$c/containerd.log" \
		"$cbin/containerd" --config "$c/config.toml" --log-level info
	wait_for "$TIMEOUT" "$c/containerd.pid" "$cbin/ctr" --address "$c/containerd.sock" version ||
		{ tail -n 20 "$c/containerd.log" >&2; die "containerd did not start (log: $c/containerd.log)"; }
	say "containerd $CONTAINERD_VERSION: pid $(pid_in "$c/containerd.pid"), unix://$c/containerd.sock"
}

# --- dockerd, through dockerd-private.sh (the one implementation) ---
dockerd_up() {
	local name=$1 st=$2 d=$2/dockerd dockerd_bin cli args="" out
	mkdir -p "$d" "$st/tmp"
	case "$name" in
	docker-20.10)
		dockerd_bin=/usr/sbin/dockerd cli=/usr/bin/docker
		printf '{\n  "features": { "buildkit": true }\n}\n' >"$d/daemon.json"
		;;
	docker-28.4)
		dockerd_bin=$(bin_of docker28)/dockerd cli=$DOCKER_CLI
		printf '{\n  "storage-driver": "overlay2",\n  "features": { "buildkit": true, "containerd-snapshotter": false }\n}\n' >"$d/daemon.json"
		;;
	docker-28.4-containerd)
		dockerd_bin=$(bin_of docker28)/dockerd cli=$DOCKER_CLI
		printf '{\n  "features": { "buildkit": true, "containerd-snapshotter": true }\n}\n' >"$d/daemon.json"
		;;
	docker-29)
		dockerd_bin=$(bin_of moby29)/dockerd cli=$DOCKER_CLI
		printf '{\n  "features": { "buildkit": true }\n}\n' >"$d/daemon.json"
		;;
	esac
	if [ "$name" != docker-20.10 ]; then
		containerd_up "$st"
		args="--containerd $st/containerd/containerd.sock"
	fi
	if ! out=$(PATH="$(dirname "$dockerd_bin"):$PATH" TMPDIR="$st/tmp" LP_DOCKERD=$dockerd_bin LP_DOCKER=$cli \
		LP_DOCKERD_TIMEOUT=$TIMEOUT LP_DOCKERD_NETWORK=none LP_DOCKERD_ARGS="$args" "$PRIVATE" start "$d"); then
		die "$name: dockerd did not start (log: $d/dockerd.log)"
	fi
	echo "$out" >"$st/docker_host"
}

# --- the local registry (Debian's docker-registry) ---
port_free() { ! ss -ltnH "sport = :$1" 2>/dev/null | grep -q .; }

registry_up() {
	local st=$1 r=$1/registry port
	mkdir -p "$r/data"
	command -v docker-registry >/dev/null || die "no docker-registry (apt-get install docker-registry)"
	if [ -s "$r/port" ] && alive "$(pid_in "$r/registry.pid")"; then
		return 0
	fi
	port=${LP_REGISTRY_PORT:-}
	if [ -z "$port" ]; then
		port=$((15000 + $(printf '%s' "$st" | cksum | cut -d' ' -f1) % 1000))
		while ! port_free "$port"; do port=$((port + 1)); done
	fi
	cat >"$r/config.yml" <<-EOF
		version: 0.1
		log:
		  level: warn
		storage:
		  filesystem:
		    rootdirectory: $r/data
		  delete:
		    enabled: true
		http:
		  addr: 127.0.0.1:$port
	EOF
	echo "$port" >"$r/port"
	spawn "$r/registry.pid" "$r/registry.log" docker-registry serve "$r/config.yml"
	wait_for "$TIMEOUT" "$r/registry.pid" curl -sf "http://127.0.0.1:$port/v2/" ||
		{ tail -n 20 "$r/registry.log" >&2; die "docker-registry did not start on 127.0.0.1:$port (log: $r/registry.log)"; }
	say "docker-registry: pid $(pid_in "$r/registry.pid"), 127.0.0.1:$port"
}

# --- standalone buildkitd, OCI worker ---
buildkitd_up() {
	local st=$1 bk port
	bk=$(bin_of buildkit)
	registry_up "$st"
	port=$(cat "$st/registry/port")
	mkdir -p "$st/bin" "$st/buildkit" "$st/tmp"
	# runc under the name the moby/buildkit image gives it.
	ln -sfn "$RUNC" "$st/bin/buildkit-runc"
	if alive "$(pid_in "$st/buildkitd.pid")" && "$bk/buildctl" --addr "unix://$st/buildkitd.sock" debug workers >/dev/null 2>&1; then
		return 0
	fi
	cat >"$st/buildkitd.toml" <<-EOF
		root = "$st/buildkit"
		insecure-entitlements = ["network.host"]
		[grpc]
		  address = ["unix://$st/buildkitd.sock"]
		[worker.oci]
		  enabled = true
		  snapshotter = "overlayfs"
		  binary = "$st/bin/buildkit-runc"
		  networkMode = "host"
		[worker.containerd]
		  enabled = false
		# No Docker Hub here: docker.io images come from the local registry.
		[registry."docker.io"]
		  mirrors = ["127.0.0.1:$port"]
		[registry."127.0.0.1:$port"]
		  http = true
		  insecure = true
	EOF
	rm -f "$st/buildkitd.sock"
	PATH="$st/bin:$bk:$PATH" TMPDIR="$st/tmp" spawn "$st/buildkitd.pid" "$st/buildkitd.log" \
		"$bk/buildkitd" --config "$st/buildkitd.toml"
	wait_for "$TIMEOUT" "$st/buildkitd.pid" "$bk/buildctl" --addr "unix://$st/buildkitd.sock" debug workers ||
		{ tail -n 20 "$st/buildkitd.log" >&2; die "buildkitd did not start (log: $st/buildkitd.log)"; }
	say "buildkitd $BUILDKIT_VERSION: pid $(pid_in "$st/buildkitd.pid"), unix://$st/buildkitd.sock"
	# The remote builder buildx drives, in the private docker config.
	if ! DOCKER_CONFIG=$st/docker-config "$DOCKER_CLI" buildx inspect "lp-$NAME" >/dev/null 2>&1; then
		DOCKER_CONFIG=$st/docker-config "$DOCKER_CLI" buildx create --name "lp-$NAME" --driver remote \
			"unix://$st/buildkitd.sock" >/dev/null || die "docker buildx create (remote driver) failed"
	fi
	DOCKER_CONFIG=$st/docker-config "$DOCKER_CLI" buildx use "lp-$NAME" >/dev/null
}

# The base image layerprof/busybox, once per engine.
base_image() {
	local name=$1 st=$2 port t
	case "$name" in
	buildkitd-0.24)
		port=$(cat "$st/registry/port")
		curl -sf "http://127.0.0.1:$port/v2/layerprof/busybox/manifests/latest" \
			-H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' \
			>/dev/null && return 0
		t=$(mktemp -d "$st/tmp/base.XXXXXX")
		"$here/mk-base-image.sh" --tar "$t/rootfs.tar"
		printf 'FROM scratch\nADD rootfs.tar /\nENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nCMD ["/bin/sh"]\n' >"$t/Dockerfile"
		"$(bin_of buildkit)/buildctl" --addr "unix://$st/buildkitd.sock" build --frontend dockerfile.v0 \
			--local context="$t" --local dockerfile="$t" \
			--output "type=image,name=127.0.0.1:$port/layerprof/busybox:latest,push=true,registry.insecure=true" \
			>"$st/base-image.log" 2>&1 || { tail -n 10 "$st/base-image.log" >&2; die "could not push the base image to 127.0.0.1:$port"; }
		rm -rf "$t"
		say "pushed layerprof/busybox to 127.0.0.1:$port"
		;;
	docker-20.10)
		LP_DOCKER=/usr/bin/docker "$here/mk-base-image.sh" "$(cat "$st/docker_host")" >&2
		;;
	*)
		LP_DOCKER=$DOCKER_CLI "$here/mk-base-image.sh" "$(cat "$st/docker_host")" >&2
		;;
	esac
}

assignments() {
	local name=$1 st=$2
	case "$name" in
	docker-20.10)
		echo "export DOCKER=/usr/bin/docker"
		;;
	*)
		echo "export DOCKER='$DOCKER_CLI --config $st/docker-config'"
		echo "export DOCKER_CONFIG=$st/docker-config"
		;;
	esac
	case "$name" in
	buildkitd-0.24)
		echo "export DOCKER_HOST=unix://$st/buildkitd.sock"
		echo "export BUILDKIT_HOST=unix://$st/buildkitd.sock"
		echo "export BUILDX_BUILDER=lp-$name"
		echo "export REGISTRY=127.0.0.1:$(cat "$st/registry/port")"
		;;
	*)
		echo "export $(cat "$st/docker_host")"
		;;
	esac
	echo "export DOCKER_BUILDKIT=1"
	echo "export LP_ENGINE=$name"
	echo "export LP_ENGINE_STATE=$st"
}

running() {
	local name=$1 st=$2
	case "$name" in
	buildkitd-0.24)
		alive "$(pid_in "$st/buildkitd.pid")" && alive "$(pid_in "$st/registry/registry.pid")" &&
			[ -x "$st/bin/buildkit-runc" ] && "$(bin_of buildkit)/buildctl" --addr "unix://$st/buildkitd.sock" debug workers >/dev/null 2>&1
		;;
	*)
		local cli=$DOCKER_CLI
		[ "$name" != docker-20.10 ] || cli=/usr/bin/docker
		[ -s "$st/docker_host" ] && LP_DOCKER=$cli "$PRIVATE" status "$st/dockerd" >/dev/null 2>&1
		;;
	esac
}

cmd_up() {
	local name=$1 st=$2 c t0=$SECONDS
	[ "$(id -u)" = 0 ] || die "must run as root"
	[ -x "$DOCKER_CLI" ] || [ "$name" = docker-20.10 ] || die "no docker CLI at $DOCKER_CLI (tools/engines.versions: DOCKER_CLI)"
	mkdir -p "$st/tmp"
	exec 9>"$st/.engine.lock"
	flock 9
	for c in $(components "$name"); do
		"$here/engine-build.sh" --path "$c" >/dev/null 2>&1 || "$here/engine-build.sh" "$c" >&2 ||
			die "$name: building $c failed"
	done
	[ "$name" = docker-20.10 ] || docker_config "$st"
	case "$name" in
	buildkitd-0.24) buildkitd_up "$st" ;;
	*) dockerd_up "$name" "$st" ;;
	esac
	base_image "$name" "$st"
	say "$name is up ($(version_of "$name")) in $((SECONDS - t0)) s; state in $st"
	assignments "$name" "$st"
}

cmd_down() {
	local name=$1 st=$2 left
	[ "$(id -u)" = 0 ] || die "must run as root"
	[ -d "$st" ] || { say "$name: nothing to stop ($st does not exist)"; return 0; }
	exec 9>"$st/.engine.lock"
	flock 9
	case "$name" in
	buildkitd-0.24)
		stop_pid "$st/buildkitd.pid" buildkitd
		stop_pid "$st/registry/registry.pid" docker-registry
		;;
	*)
		[ ! -d "$st/dockerd" ] || "$PRIVATE" stop "$st/dockerd" >&2 || say "$name: dockerd did not stop cleanly"
		stop_pid "$st/containerd/containerd.pid" containerd
		;;
	esac
	# Whatever is left whose command line names the state directory (shims,
	# runc, container processes), and every mount under it.
	"$PRIVATE" stop "$st" >/dev/null 2>&1 || say "$name: leftovers under $st could not all be stopped"
	rm -f "$st/docker_host" "$st/buildkitd.sock"
	left=$(awk -v d="$st/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo)
	[ -z "$left" ] || { say "$name: still mounted: $left"; return 1; }
	say "$name is down (data kept in $st; rm -rf it to start afresh)"
}

cmd_status() {
	local name=$1 st=$2
	if [ -d "$st" ] && running "$name" "$st"; then
		assignments "$name" "$st"
		return 0
	fi
	say "$name is not running"
	exit 3
}

cmd_list() {
	local n c built st state
	for n in "${NAMES[@]}"; do
		built=yes
		for c in $(components "$n"); do "$here/engine-build.sh" --path "$c" >/dev/null 2>&1 || built="no ($c: tools/engine-build.sh $c)"; done
		if [ "$n" = docker-20.10 ] && [ ! -x /usr/sbin/dockerd ]; then built="no (apt-get install docker.io)"; fi
		st=$BASE/$n
		state=stopped
		[ -d "$st" ] && running "$n" "$st" && state="running ($st)"
		printf '%-24s %s\n    built: %s; %s\n' "$n" "$(version_of "$n")" "$built" "$state"
	done
}

case "${1:-}" in
-h | --help | help) usage; exit 0 ;;
list) [ $# = 1 ] || { say "usage: $prog list"; exit 2; }; cmd_list; exit 0 ;;
up | down | status) ;;
"") usage >&2; exit 2 ;;
*) say "unknown command '$1' (up, down, list, status)"; exit 2 ;;
esac
[ $# = 2 ] || { say "usage: $prog $1 NAME (${NAMES[*]})"; exit 2; }
NAME=$2
known "$NAME" || { say "unknown engine '$NAME' (${NAMES[*]})"; exit 2; }
mkdir -p "$BASE"
STATE=$(realpath -m -- "$BASE/$NAME")
"cmd_$1" "$NAME" "$STATE"

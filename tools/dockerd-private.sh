#!/usr/bin/env bash
# Start, stop or query a PRIVATE dockerd (with its own containerd) for tests and demos.
#
#   tools/dockerd-private.sh start  DIR   start (or reuse) the daemon; prints DOCKER_HOST=unix://DIR/docker.sock
#   tools/dockerd-private.sh stop   DIR   stop it and everything it started, unmount everything under DIR
#                                         (also any buildkitd, containerd or registry whose command
#                                         line names DIR/: tools/engine.sh stops its engines with it)
#   tools/dockerd-private.sh status DIR   exit 0 and print DOCKER_HOST=... when it answers, else exit 3
#   tools/dockerd-private.sh --help
#
# Layout under DIR: data/ (--data-root), exec/ (--exec-root, holds the supervised
# containerd), docker.sock, dockerd.pid, dockerd.log, daemon.json.
# Use it:  eval "export $(tools/dockerd-private.sh start /tmp/x)"; DOCKER_BUILDKIT=1 /usr/bin/docker build .
#
# The daemon runs with --iptables=false --ip-masq=false, its own config file (the host's
# /etc/docker/daemon.json is ignored), BuildKit enabled as the default builder, and a
# containerd namespace of its own, so several private daemons (different DIRs) can run
# side by side, with or without the host's dockerd.
# Network: by default the daemon runs with --bridge=none (no network device is
# created on the host), so builds with RUN steps must say
# `docker build --network=host` (or --network=none). With
# LP_DOCKERD_NETWORK=bridge each daemon gets a private Linux bridge lp<8 hex>
# (10.231.X.1/24, no NAT, no iptables; deleted by stop) and plain builds work.
#
# Environment: LP_DOCKERD (default: dockerd from PATH, else /usr/sbin/dockerd),
# LP_DOCKER (client, default /usr/bin/docker), LP_DOCKERD_TIMEOUT (start timeout, s, 60),
# LP_DOCKERD_NETWORK (none|bridge, default none), LP_DOCKERD_ARGS (extra daemon flags).
# Exit status: 0 ok, 1 failure, 2 usage, 3 (status) not running.
set -euo pipefail

prog=dockerd-private.sh
DOCKERD=${LP_DOCKERD:-$(command -v dockerd 2>/dev/null || echo /usr/sbin/dockerd)}
DOCKER=${LP_DOCKER:-/usr/bin/docker}
TIMEOUT=${LP_DOCKERD_TIMEOUT:-60}

usage() { sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "$prog: $*" >&2; exit 1; }
say() { echo "$prog: $*" >&2; }

# Processes of this DIR's daemon family: comm in the docker/containerd/runc family and
# a command line naming DIR (shims are re-parented away from dockerd, so the parent
# chain is not enough). Prints pids.
family_pids() {
	local dir=$1 p comm cmd
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		comm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
		case "$comm" in
		dockerd | containerd | containerd-shim* | runc | runc:* | docker-proxy | buildkit-runc | buildkitd | docker-registry) ;;
		*) continue ;;
		esac
		cmd=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) || continue
		case "$cmd" in
		*"$dir/"*) echo "$p" ;;
		esac
	done
}

# Children (recursively) of a pid, from /proc/*/stat.
descendants() {
	local root=$1
	awk -v root="$root" '
		FNR == 1 {
			line = $0; sub(/^[0-9]+ \(.*\) /, "", line); split(line, f, " ")
			pid = FILENAME; sub(/^\/proc\//, "", pid); sub(/\/stat$/, "", pid)
			parent[pid] = f[2]
		}
		END {
			want[root] = 1; changed = 1
			while (changed) {
				changed = 0
				for (p in parent) if (!(p in want) && (parent[p] in want)) { want[p] = 1; changed = 1 }
			}
			for (p in want) if (p != root) print p
		}' /proc/[0-9]*/stat 2>/dev/null || true
}

# A live, non-zombie process.
alive() {
	[ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
	local st
	st=$(awk '{ sub(/^[0-9]+ \(.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "$st" != Z ] && [ "$st" != X ]
}

# The pid in DIR/dockerd.pid when that process is a live dockerd; empty otherwise.
daemon_pid() {
	local dir=$1 pid
	[ -s "$dir/dockerd.pid" ] || return 0
	pid=$(tr -dc '0-9' <"$dir/dockerd.pid")
	[ -n "$pid" ] || return 0
	if alive "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]; then
		echo "$pid"
	fi
}

answers() { timeout 10 "$DOCKER" -H "unix://$1/docker.sock" info >/dev/null 2>&1; }

# Wait until none of the given pids is alive; true when they all went within $1 s.
wait_gone() {
	local secs=$1 i p left
	shift
	for ((i = 0; i < secs * 10; i++)); do
		left=0
		for p in "$@"; do alive "$p" && left=1; done
		[ "$left" = 0 ] && return 0
		sleep 0.1
	done
	return 1
}

# Mount points at or under DIR, deepest first (mountinfo field 5, octal escapes decoded).
mounts_under() {
	local dir=$1
	awk '{ print $5 }' /proc/self/mountinfo |
		while IFS= read -r m; do
			m=$(printf '%b' "$m")
			case "$m" in "$dir" | "$dir"/*) echo "$m" ;; esac
		done | awk '{ print length($0) "\t" $0 }' | sort -rn | cut -f2-
}

unmount_all() {
	local dir=$1 m i left
	for ((i = 0; i < 5; i++)); do
		left=$(mounts_under "$dir")
		[ -z "$left" ] && return 0
		while IFS= read -r m; do
			umount "$m" 2>/dev/null || umount -R "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
		done <<<"$left"
	done
	left=$(mounts_under "$dir")
	[ -z "$left" ] || { say "still mounted under $dir:"; echo "$left" >&2; return 1; }
}

# Create the private bridge of DIR; prints the dockerd flag to use.
setup_bridge() {
	local dir=$1 br x i used
	if [ "${LP_DOCKERD_NETWORK:-none}" = none ]; then
		echo --bridge=none
		return 0
	fi
	br="lp$(printf '%s' "$dir" | sha256sum | cut -c1-8)"
	if ! ip link show "$br" >/dev/null 2>&1; then
		if ! ip link add "$br" type bridge 2>/dev/null; then
			say "cannot create bridge $br; running with --bridge=none (use docker build --network=none)"
			echo --bridge=none
			return 0
		fi
	fi
	if ! ip -4 addr show dev "$br" | grep -q 'inet '; then
		used=$(ip -4 route show | awk '{ print $1 }')
		x=$((0x$(printf '%s' "$dir" | sha256sum | cut -c9-10) % 200 + 20))
		for ((i = 0; i < 200; i++)); do
			grep -qx "10\.231\.$x\.0/24" <<<"$used" || break
			x=$(((x - 20 + 1) % 200 + 20))
		done
		ip addr add "10.231.$x.1/24" dev "$br"
	fi
	ip link set "$br" up
	echo "$br" >"$dir/bridge"
	echo "--bridge=$br"
}

teardown_bridge() {
	local dir=$1 br
	[ -s "$dir/bridge" ] || return 0
	br=$(cat "$dir/bridge")
	case "$br" in lp????????) ;; *) return 0 ;; esac
	ip link del "$br" 2>/dev/null || true
	rm -f "$dir/bridge"
}

cmd_start() {
	local dir=$1 pid ns i sock net
	mkdir -p "$dir/data" "$dir/exec"
	exec 9>"$dir/.lock"
	flock 9
	pid=$(daemon_pid "$dir")
	if [ -n "$pid" ]; then
		if answers "$dir"; then
			echo "DOCKER_HOST=unix://$dir/docker.sock"
			return 0
		fi
		say "dockerd $pid for $dir does not answer yet; waiting"
	else
		[ -x "$DOCKERD" ] || die "no dockerd at $DOCKERD (apt-get install docker.io)"
		[ -x "$DOCKER" ] || die "no docker client at $DOCKER (apt-get install docker.io)"
		[ "$(id -u)" = 0 ] || die "must run as root"
		sock="$dir/exec/containerd/containerd.sock"
		((${#sock} < 100)) || die "DIR too long: unix socket path $sock exceeds 100 characters"
		# Leftovers of a daemon that died: processes, mounts, sockets.
		cleanup "$dir" quiet
		# A private config file: the host's /etc/docker/daemon.json must not leak in.
		[ -f "$dir/daemon.json" ] || printf '{\n  "features": { "buildkit": true }\n}\n' >"$dir/daemon.json"
		# Unique containerd namespaces: matters only when a system containerd at
		# /run/containerd/containerd.sock exists (dockerd then shares it).
		ns="lp-$(printf '%s' "$dir" | sha256sum | cut -c1-12)"
		net=$(setup_bridge "$dir")
		echo "=== $(date '+%F %T') $prog start $dir ($net)" >>"$dir/dockerd.log"
		# shellcheck disable=SC2086
		setsid "$DOCKERD" \
			--data-root "$dir/data" \
			--exec-root "$dir/exec" \
			-H "unix://$dir/docker.sock" \
			--pidfile "$dir/dockerd.pid" \
			--config-file "$dir/daemon.json" \
			"$net" --iptables=false --ip-masq=false --ip6tables=false \
			--userland-proxy=false \
			--containerd-namespace "$ns" --containerd-plugins-namespace "$ns-plugins" \
			${LP_DOCKERD_ARGS:-} \
			</dev/null >>"$dir/dockerd.log" 2>&1 9>&- &
		pid=$!
		disown "$pid" 2>/dev/null || true
	fi
	for ((i = 0; i < TIMEOUT * 5; i++)); do
		if answers "$dir"; then
			echo "DOCKER_HOST=unix://$dir/docker.sock"
			return 0
		fi
		if ! alive "$pid"; then
			say "dockerd exited during start-up; last lines of $dir/dockerd.log:"
			tail -n 25 "$dir/dockerd.log" >&2
			cleanup "$dir" quiet || true
			exit 1
		fi
		sleep 0.2
	done
	say "dockerd (pid $pid) did not answer on unix://$dir/docker.sock within ${TIMEOUT}s; last lines of $dir/dockerd.log:"
	tail -n 25 "$dir/dockerd.log" >&2
	exit 1
}

# The family of DIR's daemon: dockerd, containerd, shims, runc and all their descendants
# (container processes included).
family_tree() {
	local dir=$1 pid p
	{
		pid=$(daemon_pid "$dir")
		if [ -n "$pid" ]; then echo "$pid"; descendants "$pid"; fi
		for p in $(family_pids "$dir"); do echo "$p"; descendants "$p"; done
	} | sort -un
}

# Stop the daemon and its family, wait for them, unmount, remove runtime files.
cleanup() {
	local dir=$1 quiet=${2:-} pid p myns live=() box=() rest=()
	pid=$(daemon_pid "$dir")
	if [ -n "$pid" ]; then
		[ -n "$quiet" ] || say "stopping dockerd $pid"
		# dockerd stops its containers and its containerd itself.
		kill -TERM "$pid" 2>/dev/null || true
		if ! wait_gone 40 "$pid"; then
			say "dockerd $pid did not exit in 40s; killing it"
			kill -KILL "$pid" 2>/dev/null || true
			wait_gone 5 "$pid" || true
		fi
	fi
	# Whatever is left (after a crash or a SIGKILL): containerd, shims, runc, and
	# the containers' processes, which are killed outright (a container's pid 1
	# ignores SIGTERM from outside its pid namespace).
	myns=$(readlink /proc/self/ns/pid)
	for p in $(family_tree "$dir"); do
		alive "$p" || continue
		live+=("$p")
		if [ "$(readlink "/proc/$p/ns/pid" 2>/dev/null)" != "$myns" ]; then box+=("$p"); else rest+=("$p"); fi
	done
	if ((${#live[@]})); then
		[ -n "$quiet" ] || say "stopping leftover processes: ${live[*]}"
		((${#box[@]} == 0)) || kill -KILL "${box[@]}" 2>/dev/null || true
		((${#rest[@]} == 0)) || kill -TERM "${rest[@]}" 2>/dev/null || true
		if ! wait_gone 10 "${live[@]}"; then
			kill -KILL "${live[@]}" 2>/dev/null || true
			wait_gone 5 "${live[@]}" || say "processes still alive: ${live[*]}"
		fi
	fi
	unmount_all "$dir"
	teardown_bridge "$dir"
	# dockerd trusts this pid file (a zombie counts as running for it).
	p=$(tr -dc "0-9" 2>/dev/null <"$dir/exec/containerd/containerd.pid" || true)
	alive "$p" || rm -f "$dir/exec/containerd/containerd.pid"
	rm -f "$dir/docker.sock" "$dir/dockerd.pid"
}

cmd_stop() {
	local dir=$1
	if [ ! -d "$dir" ]; then
		say "$dir does not exist; nothing to stop"
		return 0
	fi
	[ "$(id -u)" = 0 ] || die "must run as root"
	exec 9>"$dir/.lock"
	flock 9
	cleanup "$dir"
	say "stopped ($dir)"
}

cmd_status() {
	local dir=$1 pid
	pid=
	[ ! -d "$dir" ] || pid=$(daemon_pid "$dir")
	if [ -n "$pid" ] && answers "$dir"; then
		echo "DOCKER_HOST=unix://$dir/docker.sock"
		say "running: dockerd pid $pid"
		return 0
	fi
	if [ -n "$pid" ]; then say "dockerd pid $pid is alive but does not answer"; else say "not running ($dir)"; fi
	exit 3
}

case "${1:-}" in
-h | --help | help) usage; exit 0 ;;
start | stop | status) ;;
"") usage >&2; exit 2 ;;
*) say "unknown command '$1' (start, stop, status)"; exit 2 ;;
esac
[ $# = 2 ] || { say "usage: $prog start|stop|status DIR"; exit 2; }
dir=$(realpath -m -- "$2")
[ "$dir" != / ] || die "refusing DIR=/"
"cmd_$1" "$dir"

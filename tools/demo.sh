#!/usr/bin/env bash
# layerprof demo (run by `make demo`, as root): profile two builds of a small
# Node.js project whose Dockerfile copies everything before installing the
# dependencies, and show why the second build was slow.
#
#   tools/demo.sh [-o DIR]      run the demo; traces and the project go to DIR
#   tools/demo.sh --help
#
# What it does:
#   1. uses the dockerd at $DOCKER_HOST (default unix:///var/run/docker.sock) if
#      one answers; otherwise starts a private one (data-root and socket under
#      /tmp/layerprof-demo, --bridge=none --iptables=false) and stops it at the end
#   2. makes the base image layerprof/busybox (busybox-static, no registry)
#   3. copies examples/node-app to DIR/node-app and adds what a real checkout
#      has: a .git directory and a .env file with (fake) secrets
#   4. builds it once while recording (DIR/before.lprof)
#   5. edits one source file, rebuilds while recording (DIR/after.lprof)
#   6. prints `layerprof report DIR/after.lprof` and the next commands to try
# DIR defaults to /tmp/layerprof-demo/out. Ctrl-C stops everything cleanly.
# Environment: LP_BIN (layerprof binary, default ./layerprof of this tree),
# LP_DEMO_PRIVATE=1 (always use a private dockerd), LP_DOCKER (client,
# default /usr/bin/docker: the 20.10 client that can do BuildKit builds).
set -uo pipefail

prog=demo.sh
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LP=${LP_BIN:-$ROOT/layerprof}
DOCKER=${LP_DOCKER:-/usr/bin/docker}
DEMO=/tmp/layerprof-demo
OUT=$DEMO/out
TAG=layerprof-demo/node-app

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) usage; exit 0 ;;
	-o | --output)
		[ $# -ge 2 ] || { echo "$prog: $1 needs a directory" >&2; exit 2; }
		OUT=$2
		shift 2
		;;
	*) echo "$prog: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done
OUT=$(realpath -m -- "$OUT")

# Output: bold stage titles on a terminal, plain text otherwise.
if [ -t 1 ]; then B=$'\033[1m' N=$'\033[0m' TTY=1; else B='' N='' TTY=0; fi
stage() { printf '\n%s==> %s%s\n' "$B" "$*" "$N"; }
say() { printf '    %s\n' "$*"; }
die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }

# --- prerequisites ---
[ "$(id -u)" = 0 ] || die "needs root (it loads BPF programs and may start a dockerd): sudo make demo"
[ -x "$LP" ] || die "no layerprof binary at $LP (run: make)"
[ -x "$DOCKER" ] || die "no docker client at $DOCKER (apt-get install docker.io)"
[ -f "$ROOT/examples/node-app/Dockerfile" ] || die "no example project in $ROOT/examples/node-app"

# --- cleanup: the build in flight, then the daemon we started ---
child='' started=0 done_cleanup=0
cleanup() {
	[ "$done_cleanup" = 1 ] && return 0
	done_cleanup=1
	trap '' INT TERM
	if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
		[ "$TTY" = 1 ] && printf '\r\033[K'
		say "stopping the recording (pid $child)..."
		kill -TERM "$child" 2>/dev/null # layerprof passes it on to docker build
		for _ in $(seq 50); do kill -0 "$child" 2>/dev/null || break; sleep 0.2; done
		kill -TERM "$child" 2>/dev/null # a second one stops the recording now
		for _ in $(seq 25); do kill -0 "$child" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$child" 2>/dev/null
		wait "$child" 2>/dev/null
	fi
	if [ "$started" = 1 ]; then
		say "stopping the private dockerd ($DEMO)..."
		"$ROOT/tools/dockerd-private.sh" stop "$DEMO" >/dev/null 2>&1 ||
			echo "$prog: could not stop the dockerd in $DEMO cleanly; see $DEMO/dockerd.log" >&2
	fi
}
trap cleanup EXIT
trap 'echo; echo "$prog: interrupted" >&2; cleanup; exit 130' INT
trap 'echo "$prog: terminated" >&2; cleanup; exit 143' TERM

# run_build LABEL LOG CMD...: run CMD (a recorded docker build) in the
# background, showing the step it is on and the elapsed time; returns its status.
run_build() {
	local label=$1 log=$2 t0=$SECONDS step last='' rc w
	shift 2
	w=$(($( (tput cols || echo 80) 2>/dev/null) - 20))
	((w >= 20)) || w=20
	"$@" >"$log" 2>&1 </dev/null &
	child=$!
	while kill -0 "$child" 2>/dev/null; do
		step=$(grep -E '^#[0-9]+ \[[^]]*[0-9]+/[0-9]+\] ' "$log" 2>/dev/null | tail -1 | sed -E 's/^#[0-9]+ //')
		[ -n "$step" ] || step="(loading the BPF programs, starting the build)"
		if [ "$TTY" = 1 ]; then
			printf '\r\033[K    %s %3ds  %s' "$label" $((SECONDS - t0)) "${step:0:w}"
		elif [ "$step" != "$last" ]; then
			say "$label: $step"
			last=$step
		fi
		sleep 0.3
	done
	wait "$child"
	rc=$?
	child=
	[ "$TTY" = 1 ] && printf '\r\033[K'
	say "$label: finished in $((SECONDS - t0)) s (exit status $rc)"
	return "$rc"
}

mkdir -p "$OUT" || die "cannot create $OUT"

# --- 1. a docker daemon ---
stage "1/6 docker daemon"
host=${DOCKER_HOST:-unix:///var/run/docker.sock}
if [ "${LP_DEMO_PRIVATE:-0}" != 1 ] && timeout 10 "$DOCKER" -H "$host" version >/dev/null 2>&1; then
	say "using the dockerd that answers at $host"
	say "(it keeps the images layerprof/busybox and $TAG afterwards; LP_DEMO_PRIVATE=1 uses a private one)"
else
	say "no dockerd answers at $host: starting a private one in $DEMO"
	say "(own data-root and socket, --bridge=none --iptables=false; builds use --network=host)"
	mkdir -p "$DEMO"
	started=1
	if ! out=$(LP_DOCKERD_NETWORK=none "$ROOT/tools/dockerd-private.sh" start "$DEMO" 2>"$DEMO/start.log"); then
		sed 's/^/    /' "$DEMO/start.log" >&2
		die "could not start a private dockerd (log: $DEMO/dockerd.log)"
	fi
	host=${out#DOCKER_HOST=}
	say "dockerd is up: $host"
fi
docker() { DOCKER_BUILDKIT=1 "$DOCKER" -H "$host" "$@"; }

# --- 2. base image ---
stage "2/6 base image layerprof/busybox"
if docker image inspect layerprof/busybox >/dev/null 2>&1; then
	say "already there"
else
	say "importing busybox-static as layerprof/busybox (no registry needed)..."
	"$ROOT/tools/mk-base-image.sh" "$host" >"$OUT/base.log" 2>&1 ||
		{ sed 's/^/    /' "$OUT/base.log" >&2; die "could not make the base image (log: $OUT/base.log)"; }
	say "done"
fi

# --- 3. the project ---
stage "3/6 example project: examples/node-app -> $OUT/node-app"
proj=$OUT/node-app
rm -rf "$proj" "$OUT/before.lprof" "$OUT/after.lprof" "$OUT/before.log" "$OUT/after.log"
cp -a "$ROOT/examples/node-app" "$proj"
# What a developer's checkout has and .dockerignore should keep out: .env with
# (fake) secrets and the repository's history.
cat >"$proj/.env" <<'EOF'
# local development settings -- never commit, never ship
DATABASE_URL=postgres://orders:demo-not-a-real-password@localhost:5432/orders
SESSION_SECRET=demo-0f8a2c61b7e94d3a9c55e1f04b2d7a98
STRIPE_API_KEY=sk_test_demo_not_a_real_key_4eC39HqLyjWDarjtT1zdp7dc
EOF
chmod 600 "$proj/.env"
if command -v git >/dev/null; then
	(cd "$proj" && git init -q && git add -A . ':!.env' &&
		git -c user.name=Dev -c user.email=dev@example.invalid commit -q -m "orders-api 1.4.2") >/dev/null 2>&1
fi
if [ ! -d "$proj/.git" ]; then # no git: the usual layout, by hand
	mkdir -p "$proj/.git/objects/pack" "$proj/.git/refs/heads"
	echo 'ref: refs/heads/main' >"$proj/.git/HEAD"
	printf '[core]\n\trepositoryformatversion = 0\n' >"$proj/.git/config"
fi
# A repository with some history: a pack of past revisions (what `git gc` makes).
head -c 1048576 /dev/urandom >"$proj/.git/objects/pack/pack-demo-history.pack"
say "$(find "$proj" -type f | wc -l) files, $(du -sh "$proj" | cut -f1), including .git/ and .env (no .dockerignore)"
say "Dockerfile: COPY . . comes before the slow dependency install (RUN ... npm ci)"

build() { "$LP" record -o "$1" -- "$DOCKER" -H "$host" build --network=host -t "$TAG" .; }

# --- 4. first build ---
stage "4/6 first build, recorded -> $OUT/before.lprof"
cd "$proj" || die "cannot enter $proj"
if ! run_build "build 1" "$OUT/before.log" build "$OUT/before.lprof"; then
	sed 's/^/    | /' "$OUT/before.log" | tail -n 25
	die "the first build failed (log: $OUT/before.log)"
fi

# --- 5. edit one file, rebuild ---
stage "5/6 edit one source file, rebuild, recorded -> $OUT/after.lprof"
printf '// %s: log the request id\n' "$(date '+%F %T')" >>src/routes.js
say "appended one line to src/routes.js (a one-line code change)"
if ! run_build "build 2" "$OUT/after.log" build "$OUT/after.lprof"; then
	sed 's/^/    | /' "$OUT/after.log" | tail -n 25
	die "the rebuild failed (log: $OUT/after.log)"
fi

# --- 6. the report ---
stage "6/6 layerprof report $OUT/after.lprof"
echo
"$LP" report "$OUT/after.lprof" || echo "$prog: layerprof report failed (exit $?)" >&2
if [ -n "${SUDO_UID:-}" ] && [ -n "${SUDO_GID:-}" ]; then
	chown -R "$SUDO_UID:$SUDO_GID" "$OUT" 2>/dev/null
fi

echo
printf '%sTraces:%s %s/before.lprof (first build), %s/after.lprof (rebuild); build logs: %s/{before,after}.log\n' \
	"$B" "$N" "$OUT" "$OUT" "$OUT"
printf '%sNext:%s layerprof diff %s/before.lprof %s/after.lprof; layerprof export %s/after.lprof -o after.svg (or after.json.gz for Perfetto)\n' \
	"$B" "$N" "$OUT" "$OUT" "$OUT"

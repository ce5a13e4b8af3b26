#!/usr/bin/env bash
# (Re)make the trace seeds of the trace_reader fuzzer, fuzz/corpus/trace_reader/,
# from real recordings (root; the build seeds need docker.io). Not run by the
# tests: the seeds are committed; run it after an incompatible trace format or
# ABI change, then check `fuzz/run.sh --replay trace_reader`.
#
#   sudo fuzz/make-trace-seeds.sh [OUTDIR]
#
# Each seed is a real trace made small (< 64 kB) and, except *-zlib.lprof, with
# stored (uncompressed) blocks so that the fuzzer's mutations land in records
# (tests/reliability/lprof_blocks.c store / sample). The recordings run with a
# clean environment, stdin/stdout on /dev/null, in a scratch directory, so
# that nothing of the machine that made them ends up in the repository
# beyond its kernel version and hostname.
#   cmd-ls-zlib, cmd-ls-stored      record -- sh -c 'ls /; cat /etc/hostname'
#   redacted-argv                   a command line with secrets (redacted)
#   killed-no-trailer, killed-cut-zlib  a busy recording SIGKILLed; cut in a block
#   build-copy-fails, build-run     docker builds on a private dockerd (-p dockerd):
#                                   a COPY of a missing file; a RUN that runs
#   build-run-folded, build-run-svg, build-copy-fails-svg-bytes
#                                   the same with header byte 30 set, which makes
#                                   the harness take its other dump/report/export modes
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${1:-$ROOT/fuzz/corpus/trace_reader}
LP=${LP_BIN:-$ROOT/layerprof}
[ "$(id -u)" = 0 ] || { echo "make-trace-seeds: needs root" >&2; exit 2; }
[ -x "$LP" ] || { echo "make-trace-seeds: $LP is not built" >&2; exit 2; }
tmp=$(mktemp -d /tmp/lp-seeds.XXXXXX)
dk=
cleanup() {
	if [ -n "$dk" ]; then "$ROOT"/tools/dockerd-private.sh stop "$dk" >/dev/null 2>&1 || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
cc -O2 -o "$tmp/blocks" "$ROOT"/tests/reliability/lprof_blocks.c -lz
B=$tmp/blocks
mkdir -p "$OUT" "$tmp/w"
cd "$tmp/w"

# clean: a plain PATH, no HOME, nothing on the terminal
rec() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C "$LP" record "$@" </dev/null >/dev/null 2>&1; }

rec --no-daemons -o cmd.lprof -- sh -c 'ls /; cat /etc/hostname' || true
cp cmd.lprof "$OUT/cmd-ls-zlib.lprof"
"$B" store cmd.lprof "$OUT/cmd-ls-stored.lprof"

rec --no-daemons -o secret.lprof -- sh -c true --build-arg TOKEN=abc123 --password hunter2 || true
"$B" store secret.lprof "$OUT/redacted-argv.lprof"

env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin setsid "$LP" record --no-daemons -o killed.lprof -- \
	sh -c 'while :; do ls / >/dev/null; cat /etc/hostname >/dev/null; done' </dev/null >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 300); do
	[ "$(stat -c %s killed.lprof 2>/dev/null || echo 0)" -gt 150000 ] && break
	sleep 0.1
done
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
kill -KILL -- "-$pid" 2>/dev/null || true
"$B" sample killed.lprof "$OUT/killed-no-trailer.lprof" 30000 || true
head -c 30000 killed.lprof >"$OUT/killed-cut-zlib.lprof"

if [ -x /usr/bin/docker ] && command -v dockerd >/dev/null; then
	dk=$tmp/dk
	host=$("$ROOT"/tools/dockerd-private.sh start "$dk" | sed 's/^DOCKER_HOST=//')
	"$ROOT"/tools/mk-base-image.sh "$dk/docker.sock" >/dev/null
	dpid=$(cat "$dk/dockerd.pid")
	mkdir ctx && cd ctx
	echo hello >a.txt
	printf 'FROM layerprof/busybox\nWORKDIR /app\nCOPY a.txt ./\nRUN cat a.txt > b.txt\nCOPY missing.txt ./\n' >Dockerfile
	rec --no-daemons -p "$dpid" -o ../fail.lprof -- /usr/bin/docker -H "$host" build --network=host -t seed . || true
	printf 'FROM layerprof/busybox\nWORKDIR /app\nCOPY a.txt ./\nRUN cat a.txt > b.txt && ls -la /app\nCOPY . /src/\n' >Dockerfile
	echo changed >a.txt
	rec --no-daemons -p "$dpid" -o ../run.lprof -- /usr/bin/docker -H "$host" build --network=host -t seed . || true
	cd ..
	"$B" sample fail.lprof "$OUT/build-copy-fails.lprof" 40000
	"$B" sample run.lprof "$OUT/build-run.lprof" 50000
	python3 - "$OUT" <<'EOF'
import sys
out = sys.argv[1]
for src, name, b in [("build-run", "build-run-folded", (1 << 2) | 1),
                     ("build-run", "build-run-svg", (2 << 2) | 2),
                     ("build-copy-fails", "build-copy-fails-svg-bytes", (3 + 2) << 2)]:
    d = bytearray(open(f"{out}/{src}.lprof", "rb").read())
    d[30] = b
    open(f"{out}/{name}.lprof", "wb").write(d)
EOF
else
	echo "make-trace-seeds: no docker.io: build seeds not remade" >&2
fi
chmod 644 "$OUT"/*.lprof
ls -l "$OUT"

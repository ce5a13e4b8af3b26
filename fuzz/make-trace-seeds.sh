#!/usr/bin/env bash
# (Re)make the trace seeds of the trace_reader fuzzer, fuzz/corpus/trace_reader/,
# from real recordings (root; the build seeds need docker.io). Not run by the
# tests: the seeds are committed; run it after an incompatible trace format or
# ABI change, then check `fuzz/run.sh --replay trace_reader`.
#
#   sudo fuzz/make-trace-seeds.sh [OUTDIR]
#   fuzz/make-trace-seeds.sh --repack-only [OUTDIR]   (no root: only the pack*
#                                   seeds below, from the seeds already in OUTDIR)
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
# The recordings are made with LAYERPROF_TRACE_CODEC=zlib (format v1: codec 0/1
# blocks, what lprof_blocks reads). Then, from those seeds, format v2 seeds
# whose EVENTS blocks are packs (src/trace_pack.c), written again by the real
# writer, so that mutations land in the pack decoder:
#   pack-*.lprof    codec 2 (a pack, not deflated): pack-cmd-ls, pack-redacted-argv,
#                   pack-build-run, pack-build-copy-fails, pack-killed-no-trailer
#                   (no trailer block), pack-build-run-svg (byte 30 set)
#   packz-*.lprof   codec 3 (pack + deflate, what record writes): packz-build-run
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
repack_only=0
if [ "${1:-}" = --repack-only ]; then
	repack_only=1
	shift
fi
OUT=${1:-$ROOT/fuzz/corpus/trace_reader}
LP=${LP_BIN:-$ROOT/layerprof}
if [ "$repack_only" = 0 ]; then
	[ "$(id -u)" = 0 ] || { echo "make-trace-seeds: needs root" >&2; exit 2; }
	[ -x "$LP" ] || { echo "make-trace-seeds: $LP is not built" >&2; exit 2; }
fi
[ -f "$ROOT/build/liblayerprof.a" ] || { echo "make-trace-seeds: build/liblayerprof.a is not built (make)" >&2; exit 2; }
tmp=$(mktemp -d /tmp/lp-seeds.XXXXXX)
dk=
cleanup() {
	if [ -n "$dk" ]; then "$ROOT"/tools/dockerd-private.sh stop "$dk" >/dev/null 2>&1 || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# repack IN OUT CODEC [BYTE30]: IN's META, records and trailer written again
# by the real writer with LAYERPROF_TRACE_CODEC=CODEC; no trailer block when
# IN has none; the file header's byte 30 (the harness's modes) set to BYTE30.
cat >"$tmp/repack.c" <<'REPACK_C'
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "le.h"
#include "trace.h"
static uint8_t d[1 << 22];
int main(int argc, char **argv)
{
	char err[512];
	if (argc < 4)
		return 2;
	struct lp_reader *r = lp_reader_open(argv[1], err, sizeof(err));
	if (!r) {
		fprintf(stderr, "repack: %s\n", err);
		return 1;
	}
	setenv("LAYERPROF_TRACE_CODEC", argv[3], 1);
	struct lp_writer *w = lp_writer_open(argv[2], lp_reader_meta(r), err, sizeof(err));
	if (!w) {
		fprintf(stderr, "repack: %s\n", err);
		return 1;
	}
	const struct lp_hdr *h;
	while (lp_reader_next(r, &h) == 1)
		lp_writer_append(w, h, h->size);
	const char *t = lp_reader_trailer(r);
	if (lp_writer_close(w, t ? t : "{}", err, sizeof(err)) < 0) {
		fprintf(stderr, "repack: %s\n", err);
		return 1;
	}
	FILE *f = fopen(argv[2], "r+b");
	if (!f)
		return 1;
	size_t n = fread(d, 1, sizeof(d), f), off = LP_TRACE_HEADER_SIZE, last = off;
	while (off + LP_BLOCK_HEADER_SIZE <= n) {
		last = off;
		off += LP_BLOCK_HEADER_SIZE + lp_get_u32(d + off + 12);
	}
	if (argc > 4) {
		fseek(f, 30, SEEK_SET);
		fputc(atoi(argv[4]), f);
	}
	fclose(f);
	if (!t && truncate(argv[2], (off_t)last) < 0)
		return 1;
	lp_reader_close(r);
	return 0;
}
REPACK_C
cc -O2 -std=c11 -D_GNU_SOURCE -I"$ROOT/src" -I"$ROOT/include" -o "$tmp/repack" "$tmp/repack.c" \
	"$ROOT/build/liblayerprof.a" -lbpf -lelf -lz -ldeflate -lcjson -lcurl -lpthread -lm
repack_all() {
	local R=$tmp/repack
	if [ -f "$OUT/cmd-ls-stored.lprof" ]; then "$R" "$OUT/cmd-ls-stored.lprof" "$OUT/pack-cmd-ls.lprof" pack-stored; fi
	if [ -f "$OUT/redacted-argv.lprof" ]; then "$R" "$OUT/redacted-argv.lprof" "$OUT/pack-redacted-argv.lprof" pack-stored; fi
	if [ -f "$OUT/killed-no-trailer.lprof" ]; then "$R" "$OUT/killed-no-trailer.lprof" "$OUT/pack-killed-no-trailer.lprof" pack-stored; fi
	if [ -f "$OUT/build-copy-fails.lprof" ]; then "$R" "$OUT/build-copy-fails.lprof" "$OUT/pack-build-copy-fails.lprof" pack-stored; fi
	if [ -f "$OUT/build-run.lprof" ]; then
		"$R" "$OUT/build-run.lprof" "$OUT/pack-build-run.lprof" pack-stored
		"$R" "$OUT/build-run.lprof" "$OUT/pack-build-run-svg.lprof" pack-stored $(((2 << 2) | 2))
		"$R" "$OUT/build-run.lprof" "$OUT/packz-build-run.lprof" pack
	fi
	chmod 644 "$OUT"/pack*.lprof
	ls -l "$OUT"/pack*.lprof
}
if [ "$repack_only" = 1 ]; then
	repack_all
	exit 0
fi

cc -O2 -o "$tmp/blocks" "$ROOT"/tests/reliability/lprof_blocks.c -lz
B=$tmp/blocks
mkdir -p "$OUT" "$tmp/w"
cd "$tmp/w"

# clean: a plain PATH, no HOME, nothing on the terminal; format v1 (zlib
# blocks): lprof_blocks store/sample read codecs 0 and 1 only
rec() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C LAYERPROF_TRACE_CODEC=zlib "$LP" record "$@" </dev/null >/dev/null 2>&1; }

rec --no-daemons -o cmd.lprof -- sh -c 'ls /; cat /etc/hostname' || true
cp cmd.lprof "$OUT/cmd-ls-zlib.lprof"
"$B" store cmd.lprof "$OUT/cmd-ls-stored.lprof"

rec --no-daemons -o secret.lprof -- sh -c true --build-arg TOKEN=abc123 --password hunter2 || true
"$B" store secret.lprof "$OUT/redacted-argv.lprof"

env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LAYERPROF_TRACE_CODEC=zlib setsid "$LP" record --no-daemons -o killed.lprof -- \
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
repack_all
chmod 644 "$OUT"/*.lprof
ls -l "$OUT"

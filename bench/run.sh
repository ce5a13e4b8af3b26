#!/usr/bin/env bash
# layerprof benchmarks (`make bench`): run as root, prints tables of medians and
# ratios measured side by side in one run, each with its target (PASS/MISS), and
# writes them to bench/results/latest.txt (git-ignored).
#
#   bench/run.sh [--quick] [--only 1,2,3,4,5,6,7,8,9] [--wait-quiet MINUTES]
#
#   1. syscall-heavy workload (bench/workload.c on a private tmpfs): untraced,
#      under `layerprof record --no-daemons`, under `strace -f`, under
#      bpftrace with equivalent probes (bench/workload.bt)      target <= 5 %
#   2. `docker build --no-cache` of tests/fixtures/bad-order on a private
#      dockerd: untraced vs `layerprof record -- docker build`   target <= 2 %
#   3. the workload of 1 run OUTSIDE the traced tree while `layerprof record
#      -p <sleep pid>` (default daemon names) is active, vs no recording
#                                                                target <= 1 %
#   4. throughput: bench/storm_gen.c (open+close of a tmpfs file, paced; open
#      of a missing name, unpaced) under `record`: events/s recorded and lost%
#      per offered rate, and what the consumer could take per CPU-second
#                                           target >= 1,000,000 events/s, 0 lost
#   5. offline: a 10-million-event synthetic trace (bench/gen_trace.c):
#      report, report --json, dump, export to every format: wall s, CPU s
#      (and CPU / cores) and peak RSS; bytes per event on disk
#                      targets: every command <= 5 s, <= 512 MiB; <= 12 B/event
#      + what other codecs / a compact record encoding would store
#      (bench/codec_probe.c)
#   6. why (no target): the cost of the syscall hook design alone, today's
#      (per-syscall tracepoints, HASH filter and state) vs bitmap/ARRAY and
#      raw_tp variants (bench/probe_cost.bpf.c), for untraced and traced
#      processes
#   7. start and stop: `record -- true`, wall and record -v's phases
#                                                              target <= 0.12 s
#   8. the consumer without the kernel (bench/replay.c): a trace's kernel
#      records through record's callback and the trace writer, events per
#      CPU-second                               target >= 3,000,000 per core
#   9. the syscall storm (bench/storm_pass.sh: cp -r /usr/include, cat,
#      rm -rf) untraced / empty programs on record's attach points
#      (probe_cost floor) / record       target: record - floor <= 5 points
#      + each BPF program's run time on one pass (bpf_stats), also with a
#      program per syscall (LAYERPROF_FORCE_SYSCALLS=tp)
#
# Variants are interleaved (A B C D A B C D ...) so drift hits all of them alike;
# tables show medians. --quick: small counts, to try the script (numbers are not
# meaningful). --wait-quiet M: first wait up to M minutes for a 1-minute load
# average < 0.7 (the machine is shared). The run says the load average it saw.
#
# Environment: LP_BENCH_REPS (section 1 and 3 repetitions, default 7 / 5),
# LP_BENCH_BUILD_REPS (5), LP_BENCH_OFFLINE_REPS (3), LP_BENCH_EVENTS (10000000),
# LP_BENCH_TRACE (section 5: a trace bench/gen_trace made before, instead of a new one),
# LP_BENCH_FILES (10000), LP_BENCH_ROUNDS (4), LP_BENCH_PC_REPS (7), LP_BENCH_SS_REPS (11),
# LP_BENCH_REPLAY_EVENTS (2000000), LP_BENCH_STORM_REPS (11), LP_BENCH_STORM_BASE (section
# 9: another build of layerprof, run interleaved as variant `base`, for before/after
# figures of one run), LP_BENCH_KEEP=1 (keep the work dir).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
LP=$root/layerprof
DOCKER=${LP_DOCKER:-/usr/bin/docker}
prog=bench/run.sh

quick=0
only=1,2,3,4,5,6,7,8,9
wait_quiet=0
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 ;;
	--only) only=$2; shift ;;
	--wait-quiet) wait_quiet=$2; shift ;;
	-h | --help) sed -n '2,52p' "$0" | sed -n '/^#/p' | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "$prog: unknown argument '$1'" >&2; exit 2 ;;
	esac
	shift
done
want() { [[ ",$only," == *",$1,"* ]]; }

[ "$(id -u)" = 0 ] || { echo "$prog: must run as root (BPF, mounts, dockerd)" >&2; exit 1; }

if [ "$quick" = 1 ]; then
	REPS=${LP_BENCH_REPS:-2}; IDLE_REPS=${LP_BENCH_IDLE_REPS:-1}; BUILD_REPS=${LP_BENCH_BUILD_REPS:-1}
	OFF_REPS=${LP_BENCH_OFFLINE_REPS:-1}; EVENTS=${LP_BENCH_EVENTS:-300000}
	FILES=${LP_BENCH_FILES:-2000}; ROUNDS=${LP_BENCH_ROUNDS:-1}; STORM_SECS=1
	RATES="100000 0"; PC_REPS=${LP_BENCH_PC_REPS:-1}
else
	REPS=${LP_BENCH_REPS:-7}; IDLE_REPS=${LP_BENCH_IDLE_REPS:-5}; BUILD_REPS=${LP_BENCH_BUILD_REPS:-5}
	OFF_REPS=${LP_BENCH_OFFLINE_REPS:-3}; EVENTS=${LP_BENCH_EVENTS:-10000000}
	FILES=${LP_BENCH_FILES:-10000}; ROUNDS=${LP_BENCH_ROUNDS:-4}; STORM_SECS=3
	RATES="50000 100000 200000 400000 700000 1000000 0"; PC_REPS=${LP_BENCH_PC_REPS:-7}
fi

# sections 7-9: start/stop runs, consumer replay events and rounds, storm passes
if [ "$quick" = 1 ]; then
	SS_REPS=${LP_BENCH_SS_REPS:-3}; REPLAY_EVENTS=${LP_BENCH_REPLAY_EVENTS:-200000}; REPLAY_REPS=1
	STORM_REPS=${LP_BENCH_STORM_REPS:-1}
else
	SS_REPS=${LP_BENCH_SS_REPS:-11}; REPLAY_EVENTS=${LP_BENCH_REPLAY_EVENTS:-2000000}; REPLAY_REPS=5
	STORM_REPS=${LP_BENCH_STORM_REPS:-11}
fi
STORM_BASE=${LP_BENCH_STORM_BASE:-}

# ------------------------------------------------------------------ set-up
results=$here/results
mkdir -p "$results"
latest=$results/latest.txt
WORK=$(mktemp -d /tmp/lp-bench.XXXXXX)
BIN=$WORK/bin
FS=$WORK/fs
DDIR=$WORK/d
mkdir -p "$BIN" "$FS"
: >"$WORK/report.txt"
recorder_pids=()

cleanup() {
	local p
	for p in "${recorder_pids[@]}"; do
		kill -INT "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	[ -n "${sleeper:-}" ] && kill "$sleeper" 2>/dev/null
	if [ -S "$DDIR/docker.sock" ] || [ -e "$DDIR/dockerd.pid" ]; then
		"$root/tools/dockerd-private.sh" stop "$DDIR" >/dev/null 2>&1
	fi
	mountpoint -q "$FS" && umount "$FS"
	if [ "${LP_BENCH_KEEP:-0}" = 1 ]; then echo "$prog: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# everything printed goes to the screen and to the report
out() { printf '%s\n' "$*" | tee -a "$WORK/report.txt"; }
outf() { printf "$@" | tee -a "$WORK/report.txt"; }
note() { echo "$prog: $*" >&2; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
now_ns() { date +%s%N; }

# median of the numbers in a file (one per line)
median() {
	sort -g "$1" | awk '{ v[NR] = $1 } END { if (NR == 0) { print "nan"; exit }
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
count() { grep -c . "$1" 2>/dev/null || echo 0; }
# a / b - 1 in percent, 1 decimal
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0 || a == "nan" || b == "nan") print "nan"; else printf "%+.1f", (a / b - 1) * 100 }'; }
# PASS when value <= limit (or >= with "ge")
verdict() { awk -v v="$1" -v l="$2" -v op="${3:-le}" 'BEGIN { if (v == "nan") { print "n/a"; exit }
	ok = op == "ge" ? (v + 0 >= l + 0) : (v + 0 <= l + 0); print ok ? "PASS" : "MISS" }'; }

# Tools and helpers. `make bench` runs install-deps.sh test (docker.io...);
# the bench set adds strace, bpftrace and hyperfine.
"$root/tools/install-deps.sh" bench || note "installing bench dependencies failed; sections needing them may fail"
if [ ! -x "$LP" ] || [ ! -f "$root/build/liblayerprof.a" ]; then
	make -C "$root" all >/dev/null || { note "make failed"; exit 1; }
fi
CFLAGS_B="-O2 -g -std=c11 -Wall -Wextra -Wno-format-truncation"
cc $CFLAGS_B -o "$BIN/workload" "$here/workload.c" || exit 1
cc $CFLAGS_B -pthread -o "$BIN/storm_gen" "$here/storm_gen.c" || exit 1
cc $CFLAGS_B -I"$root/include" -I"$root/src" -o "$BIN/gen_trace" "$here/gen_trace.c" \
	"$root/build/liblayerprof.a" -lbpf -lelf -lz -ldeflate -lcjson -lcurl -lpthread -lm || exit 1
cc $CFLAGS_B -D_GNU_SOURCE -I"$root/include" -I"$root/src" -o "$BIN/replay" "$here/replay.c" \
	"$root/build/liblayerprof.a" -lbpf -lelf -lz -ldeflate -lcjson -lcurl -lpthread -lm || exit 1
# zstd rows only when libzstd-dev is there (apt-get install libzstd-dev)
zstd=(); [ -f /usr/include/zstd.h ] && zstd=(-DHAVE_ZSTD -lzstd)
cc $CFLAGS_B -I"$root/include" -I"$root/src" -o "$BIN/codec_probe" "$here/codec_probe.c" \
	"$root/build/liblayerprof.a" -lbpf -lelf -lz -ldeflate -lcjson -lcurl -lpthread -lm "${zstd[@]}" || exit 1
# the hook-design experiment (section 6): its own small BPF object
have_probe_cost=0
if clang -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -I"$root/bpf" -I"$root/include" \
	-c "$here/probe_cost.bpf.c" -o "$BIN/probe_cost.bpf.o" &&
	bpftool gen skeleton "$BIN/probe_cost.bpf.o" name probe_cost_bpf >"$BIN/probe_cost.skel.h" &&
	cc $CFLAGS_B -I"$BIN" -o "$BIN/probe_cost" "$here/probe_cost.c" -lbpf -lelf -lz; then
	have_probe_cost=1
else
	note "building bench/probe_cost failed; section 6 skipped"
fi

if [ "$wait_quiet" != 0 ]; then
	deadline=$(($(date +%s) + wait_quiet * 60))
	while :; do
		l1=$(cut -d' ' -f1 /proc/loadavg)
		awk -v l="$l1" 'BEGIN { exit !(l < 0.7) }' && break
		[ "$(date +%s)" -ge "$deadline" ] && { note "load average still $l1 after $wait_quiet min; running anyway"; break; }
		note "load average $l1 >= 0.7; waiting (until $(date -d "@$deadline" +%T))"
		sleep 60
	done
fi

start_s=$(date +%s)
out "layerprof benchmarks  $(date '+%F %T')  $(uname -r)  $(nproc) CPUs  layerprof $("$LP" --version 2>/dev/null | head -1)"
out "git: $(git -C "$root" rev-parse --short HEAD 2>/dev/null) (work tree: $(git -C "$root" status --porcelain 2>/dev/null | wc -l) changed paths)"
out "load average at start: $(loadavg)$([ "$quick" = 1 ] && echo '   QUICK MODE: counts too small to mean anything')"
out ""

# ---------------------------------------------------- section 1 and 3 setup
if want 1 || want 3 || want 4 || want 6 || want 8 || want 9; then
	mount -t tmpfs -o size=3g,mode=0755 lp-bench "$FS" || { note "cannot mount a tmpfs"; exit 1; }
	"$BIN/workload" setup "$FS/w" -n "$FILES" || exit 1
	"$BIN/workload" run "$FS/w" -r 1 >/dev/null # warm the caches
fi
WL=("$BIN/workload" run "$FS/w" -r "$ROUNDS")

# events and lost from record's summary line
rec_counts() { sed -n 's/.*recorded \([0-9]*\) events (\([0-9]*\) lost).*/\1 \2/p' "$1" | tail -1; }

# ---------------------------------------------------------------- section 1
section1() {
	local i v t0 t1 s
	local variants=(untraced layerprof strace bpftrace)
	for v in "${variants[@]}"; do : >"$WORK/s1.$v.work"; : >"$WORK/s1.$v.cpu"; : >"$WORK/s1.$v.wall"; : >"$WORK/s1.$v.ss"; done
	: >"$WORK/s1.events"
	note "section 1: $REPS x (untraced, layerprof, strace (every other), bpftrace), $FILES files x $ROUNDS rounds"
	for ((i = 0; i < REPS; i++)); do
		for v in "${variants[@]}"; do
			# strace makes the workload ~50x slower: every other repetition
			[ "$v" = strace ] && ((i % 2)) && continue
			rm -f "$WORK/t.txt"
			u0=$(cut -d' ' -f1 /proc/uptime)
			t0=$(now_ns)
			case $v in
			untraced) "${WL[@]}" -t "$WORK/t.txt" >/dev/null ;;
			layerprof)
				"$LP" record --no-daemons -o "$WORK/s1.lprof" -- "${WL[@]}" -t "$WORK/t.txt" \
					>/dev/null 2>"$WORK/s1.rec.err"
				rec_counts "$WORK/s1.rec.err" >>"$WORK/s1.events" ;;
			strace) strace -f -o /dev/null "${WL[@]}" -t "$WORK/t.txt" >/dev/null ;;
			bpftrace) bpftrace -c "${WL[*]} -t $WORK/t.txt" "$here/workload.bt" >/dev/null 2>"$WORK/s1.bt.err" ;;
			esac
			t1=$(now_ns)
			u1=$(cut -d' ' -f1 /proc/uptime)
			if [ -s "$WORK/t.txt" ]; then
				# tracer start-up (launch to work start) and stop (work end to exit)
				awk -v a="$u0" -v b="$u1" '{ printf "%.2f %.2f\n", $3 - a, b - $4 }' "$WORK/t.txt" >>"$WORK/s1.$v.ss"
				awk '{ print $1 }' "$WORK/t.txt" >>"$WORK/s1.$v.work"
				awk '{ print $2 }' "$WORK/t.txt" >>"$WORK/s1.$v.cpu"
				awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }' >>"$WORK/s1.$v.wall"
			else
				note "section 1: $v run $i failed"
				[ "$v" = bpftrace ] && tail -3 "$WORK/s1.bt.err" >&2
			fi
		done
	done
	local base cbase; base=$(median "$WORK/s1.untraced.work"); cbase=$(median "$WORK/s1.untraced.cpu")
	out "== 1. Syscall-heavy workload: $FILES files x $ROUNDS rounds (copy create+write, read back, stat, delete) on tmpfs"
	out "   work = the workload's own elapsed time (tracer start-up excluded); cpu = its user+sys CPU time (in-kernel"
	out "   probe cost lands here); wall = whole command, tracer start/stop included"
	outf "   %-10s %4s %11s %9s %10s %9s %11s   %s\n" variant n "work med s" overhead "cpu med s" "cpu ovh" "wall med s" "target (work overhead)"
	for v in "${variants[@]}"; do
		local m c w o co tgt=""
		m=$(median "$WORK/s1.$v.work"); c=$(median "$WORK/s1.$v.cpu"); w=$(median "$WORK/s1.$v.wall")
		o=$([ "$v" = untraced ] && echo "-" || echo "$(pct "$m" "$base")%")
		co=$([ "$v" = untraced ] && echo "-" || echo "$(pct "$c" "$cbase")%")
		if [ "$v" = layerprof ]; then
			tgt="<= +5.0%  $(verdict "$(pct "$m" "$base")" 5)"
		fi
		outf "   %-10s %4s %11s %9s %10s %9s %11s   %s\n" "$v" "$(count "$WORK/s1.$v.work")" "$m" "$o" "$c" "$co" "$w" "$tgt"
	done
	s=$(awk '{ e += $1; l += $2 } END { if (NR) printf "%d events/run, %d lost in all", e / NR, l }' "$WORK/s1.events")
	out "   layerprof: $s"
	for v in layerprof bpftrace; do
		awk '{ print $1 }' "$WORK/s1.$v.ss" >"$WORK/ss.a"; awk '{ print $2 }' "$WORK/s1.$v.ss" >"$WORK/ss.b"
		out "   $v fixed cost: start-up (launch -> traced command runs) $(median "$WORK/ss.a") s, stop (command exit -> tracer exit) $(median "$WORK/ss.b") s (medians, /proc/uptime resolution)"
	done
	out ""
}

# ---------------------------------------------------------------- section 2
section2() {
	local i t0 t1 fx="$WORK/fx" ok=1
	note "section 2: private dockerd, $BUILD_REPS x (untraced, traced) docker build --no-cache"
	if ! "$root/tools/dockerd-private.sh" start "$DDIR" >/dev/null 2>"$WORK/dockerd.err"; then
		out "== 2. docker build: SKIPPED (private dockerd did not start: $(tail -1 "$WORK/dockerd.err"))"; out ""; return
	fi
	"$root/tools/mk-base-image.sh" "$DDIR/docker.sock" >/dev/null 2>&1 || ok=0
	"$root/tests/fixtures/prepare.sh" bad-order "$fx" || ok=0
	[ "$ok" = 1 ] || { out "== 2. docker build: SKIPPED (base image or fixture failed)"; out ""; return; }
	local build=(env DOCKER_BUILDKIT=1 "$DOCKER" -H "unix://$DDIR/docker.sock" build --network=host
		--no-cache --progress=plain -t lp-bench/bad-order .)
	(cd "$fx" && "${build[@]}" >/dev/null 2>&1) # warm-up: base image, BuildKit state
	: >"$WORK/s2.untraced"; : >"$WORK/s2.traced"; : >"$WORK/s2.traced.wall"; : >"$WORK/s2.events"
	for ((i = 0; i < BUILD_REPS; i++)); do
		t0=$(now_ns)
		(cd "$fx" && "${build[@]}" >/dev/null 2>&1) || note "untraced build $i failed"
		t1=$(now_ns)
		awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }' >>"$WORK/s2.untraced"
		t0=$(now_ns)
		(cd "$fx" && "$LP" record -o "$WORK/s2.lprof" -- "${build[@]}" >/dev/null 2>"$WORK/s2.rec.err") ||
			note "traced build $i failed: $(tail -1 "$WORK/s2.rec.err")"
		t1=$(now_ns)
		awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }' >>"$WORK/s2.traced.wall"
		rec_counts "$WORK/s2.rec.err" >>"$WORK/s2.events"
		# the build as the trace saw it: command start (trace_pid why=command) to its exit
		"$LP" dump --json "$WORK/s2.lprof" 2>/dev/null | awk '
			/"kind":"trace_pid"/ && /"why":"command"/ && !s { match($0, /"ts_ns":[0-9]+/); s = substr($0, RSTART + 8, RLENGTH - 8) }
			/"exit_monotonic_ns":/ { match($0, /"exit_monotonic_ns":[0-9]+/); e = substr($0, RSTART + 20, RLENGTH - 20) }
			END { if (s && e) printf "%.3f\n", (e - s) / 1e9 }' >>"$WORK/s2.traced"
	done
	local a b
	a=$(median "$WORK/s2.untraced"); b=$(median "$WORK/s2.traced")
	out "== 2. docker build --no-cache of tests/fixtures/bad-order (private dockerd, busybox base; ~3 s of it is the RUN's sleep 3)"
	out "   traced = the docker command from its start to its exit as recorded (record's own start/stop excluded)"
	outf "   %-22s %4s %12s %10s   %s\n" variant n "median s" overhead target
	outf "   %-22s %4s %12s %10s\n" untraced "$(count "$WORK/s2.untraced")" "$a" -
	outf "   %-22s %4s %12s %10s   %s\n" "layerprof record" "$(count "$WORK/s2.traced")" "$b" "$(pct "$b" "$a")%" "<= +2.0%  $(verdict "$(pct "$b" "$a")" 2)"
	outf "   %-22s %4s %12s %10s   %s\n" "  (whole record wall)" "$(count "$WORK/s2.traced.wall")" "$(median "$WORK/s2.traced.wall")" "$(pct "$(median "$WORK/s2.traced.wall")" "$a")%" "(start-up/tear-down included; no target)"
	out "   $(awk '{ e += $1; l += $2 } END { if (NR) printf "%d events/build, %d lost in all", e / NR, l }' "$WORK/s2.events")"
	out ""
}

# ---------------------------------------------------------------- section 3
start_idle_recorder() {
	rm -f "$WORK/s3.lprof"
	"$LP" record -p "$sleeper" -o "$WORK/s3.lprof" 2>"$WORK/s3.rec.err" &
	rec_pid=$!
	recorder_pids=("$rec_pid")
	local k
	for ((k = 0; k < 600; k++)); do # the file appears once the programs are attached
		[ -s "$WORK/s3.lprof" ] && break
		kill -0 "$rec_pid" 2>/dev/null || break
		sleep 0.05
	done
	sleep 0.5
}
stop_idle_recorder() {
	kill -INT "$rec_pid" 2>/dev/null
	wait "$rec_pid" 2>/dev/null
	recorder_pids=()
	rec_counts "$WORK/s3.rec.err" >>"$WORK/s3.events"
}
section3() {
	local i j
	sleep 100000 &
	sleeper=$!
	: >"$WORK/s3.off"; : >"$WORK/s3.on"; : >"$WORK/s3.off.cpu"; : >"$WORK/s3.on.cpu"; : >"$WORK/s3.events"
	note "section 3: $IDLE_REPS cycles x 2 runs with / without an idle recording (record -p $sleeper)"
	for ((i = 0; i < IDLE_REPS; i++)); do
		# alternate the order: on/off, off/on
		for phase in $( ((i % 2)) && echo "off on" || echo "on off"); do
			[ "$phase" = on ] && start_idle_recorder
			for ((j = 0; j < 2; j++)); do
				rm -f "$WORK/t.txt"
				"${WL[@]}" -t "$WORK/t.txt" >/dev/null || continue
				awk '{ print $1 }' "$WORK/t.txt" >>"$WORK/s3.$phase"
				awk '{ print $2 }' "$WORK/t.txt" >>"$WORK/s3.$phase.cpu"
			done
			[ "$phase" = on ] && stop_idle_recorder
		done
	done
	kill "$sleeper" 2>/dev/null; wait "$sleeper" 2>/dev/null; sleeper=
	local a b
	local ca cb
	a=$(median "$WORK/s3.off"); b=$(median "$WORK/s3.on")
	ca=$(median "$WORK/s3.off.cpu"); cb=$(median "$WORK/s3.on.cpu")
	out "== 3. Untraced processes: the workload of 1 outside the traced tree while record -p <sleep pid> (default daemon names) runs"
	outf "   %-18s %4s %11s %9s %10s %9s   %s\n" variant n "work med s" overhead "cpu med s" "cpu ovh" "target (work overhead)"
	outf "   %-18s %4s %11s %9s %10s %9s\n" "no recording" "$(count "$WORK/s3.off")" "$a" - "$ca" -
	outf "   %-18s %4s %11s %9s %10s %9s   %s\n" "recording active" "$(count "$WORK/s3.on")" "$b" "$(pct "$b" "$a")%" "$cb" "$(pct "$cb" "$ca")%" "<= +1.0%  $(verdict "$(pct "$b" "$a")" 1)"
	out "   recordings: $(awk '{ e += $1; l += $2 } END { if (NR) printf "%d events each (the daemons of this host), %d lost in all", e / NR, l }' "$WORK/s3.events")"
	out ""
}

# ---------------------------------------------------------------- section 4
# one storm_gen run under record; sets ev lost ops el ach gcpu rcpu
storm_run() { # THREADS RATE MODE [RINGBUF_BYTES]
	rm -f "$WORK/sg.txt" "$WORK/tt.txt"
	/usr/bin/time -f '%U %S' -o "$WORK/tt.txt" "$LP" record --no-daemons -o "$WORK/s4.lprof" \
		${4:+--ringbuf-size "$4"} -- \
		"$BIN/storm_gen" -t "$1" -r "$2" -m "$3" -f "$FS/storm" -d "$STORM_SECS" -o "$WORK/sg.txt" \
		>/dev/null 2>"$WORK/s4.rec.err"
	ev=; lost=; ops=; el=; ach=; gcpu=; rcpu=
	read -r ev lost < <(rec_counts "$WORK/s4.rec.err")
	read -r ops el ach gcpu <"$WORK/sg.txt" || return 1
	# record's own CPU: all CPU of record and its child minus the child's own
	rcpu=$(awk -v g="$gcpu" '{ printf "%.3f", $1 + $2 - g }' "$WORK/tt.txt")
}
section4() {
	local r t m res
	: >"$FS/storm"
	note "section 4: storm_gen under record, offered rates: $RATES (0 = unpaced), ${STORM_SECS}s each"
	out "== 4. Throughput: storm_gen under record --no-daemons, default ring buffer (16 MiB), ${STORM_SECS} s per row"
	out "   pair   = open+close of a tmpfs file (1 event per pair: the openat; the close of an fd with no I/O sends nothing)"
	out "   enoent = open of a missing name (1 event per syscall, the cheapest event source)"
	for m in pair enoent; do
		for t in 1 2; do
			"$BIN/storm_gen" -t "$t" -m "$m" -f "$FS/storm" -d "$STORM_SECS" -o "$WORK/sg.txt"
			out "   untraced generator, $m, $t thread(s): $(awk '{ printf "%.0f ops/s", $3 }' "$WORK/sg.txt")"
		done
	done
	# record's fixed CPU (load, attach, detach) to subtract from its per-run CPU
	local base_rcpu=0
	STORM_SECS_SAVE=$STORM_SECS; STORM_SECS=0.01
	storm_run 1 0 pair && base_rcpu=$rcpu
	STORM_SECS=$STORM_SECS_SAVE
	outf "   %-7s %-7s %8s %11s %10s %11s %9s %7s %16s\n" mode threads offered "achieved/s" events "recorded/s" lost "lost%" "consumer ev/cpu-s"
	: >"$WORK/s4.zero"; : >"$WORK/s4.cap"
	local runs=()
	for r in $RATES; do runs+=("pair:1:$r"); done
	runs+=("pair:2:0" "enoent:1:0" "enoent:2:0")
	for res in "${runs[@]}"; do
		IFS=: read -r m t r <<<"$res"
		storm_run "$t" "$r" "$m" || { note "section 4: $res failed"; continue; }
		local recps lpct cap
		recps=$(awk -v e="${ev:-0}" -v s="$el" 'BEGIN { printf "%.0f", e / s }')
		lpct=$(awk -v e="${ev:-0}" -v l="${lost:-0}" 'BEGIN { printf "%.2f", (e + l) ? 100 * l / (e + l) : 0 }')
		cap=$(awk -v e="${ev:-0}" -v c="$rcpu" -v b="$base_rcpu" 'BEGIN { d = c - b; if (d > 0.02) printf "%.0f", e / d; else print "-" }')
		outf "   %-7s %-7s %8s %11s %10s %11s %9s %7s %16s\n" "$m" "$t" "$([ "$r" = 0 ] && echo max || echo "$r")" "$ach" "${ev:-?}" "$recps" "${lost:-?}" "$lpct" "$cap"
		[ "${lost:-1}" = 0 ] && echo "$recps" >>"$WORK/s4.zero"
		[ "$cap" != - ] && echo "$cap" >>"$WORK/s4.cap"
	done
	local best
	best=$(sort -g "$WORK/s4.zero" | tail -1)
	"$BIN/storm_gen" -t 1 -m enoent -f "$FS/storm" -d "$STORM_SECS" -o "$WORK/sg.txt"
	local u1; u1=$(awk '{ print $3 }' "$WORK/sg.txt")
	storm_run 1 0 enoent && out "   in-kernel cost per recorded event in the traced thread (enoent, 1 thread, untraced $u1/s vs traced $ach/s): $(awk -v u="$u1" -v t="$ach" 'BEGIN { printf "%.2f us", (1 / t - 1 / u) * 1e6 }')"
	out "   consumer ev/cpu-s = events / (record's CPU seconds - its fixed start/stop CPU of $base_rcpu s): what one core of"
	out "   the recorder can take; median $(awk -v m="$(median "$WORK/s4.cap")" 'BEGIN { printf "%.0f", m }') events per CPU-second"
	out "   highest recorded rate with zero loss: ${best:-none} events/s   target >= 1000000  $(verdict "${best:-0}" 1000000 ge)"
	# Past that rate: the generator cannot offer more on this machine, so
	# the loss curve is drawn by shrinking the ring buffer instead.
	out "   loss curve: the unpaced 2-thread pair storm with smaller ring buffers (this machine cannot offer more than"
	out "   the rate above, so the buffer shrinks instead; losses are counted by the kernel, never hidden)"
	outf "   %-9s %10s %11s %10s %7s\n" ringbuf events "recorded/s" lost "lost%"
	local rb
	for rb in 4096 16384 65536 262144 1048576; do
		storm_run 2 0 pair "$rb" || { note "section 4: ringbuf $rb failed"; continue; }
		outf "   %-9s %10s %11s %10s %7s\n" "$rb" "${ev:-?}" \
			"$(awk -v e="${ev:-0}" -v s="$el" 'BEGIN { printf "%.0f", e / s }')" "${lost:-?}" \
			"$(awk -v e="${ev:-0}" -v l="${lost:-0}" 'BEGIN { printf "%.2f", (e + l) ? 100 * l / (e + l) : 0 }')"
	done
	out ""
}

# ---------------------------------------------------------------- section 5
section5() {
	local tr="$WORK/big.lprof" i c
	local t0 t1 gen recs raw size genmsg
	if [ -n "${LP_BENCH_TRACE:-}" ] && [ -s "$LP_BENCH_TRACE" ]; then
		# a trace made before by bench/gen_trace (the same shape): no 10M-event wait
		tr=$LP_BENCH_TRACE
		note "section 5: using $tr"
		recs=$("$LP" dump --json "$tr" 2>/dev/null | tail -1 | jq -r .records)
		raw=0 # (gen_trace says it when it makes the trace)
		genmsg="$(basename "$tr"), given"
	else
		note "section 5: generating a $EVENTS-event trace"
		t0=$(now_ns)
		gen=$("$BIN/gen_trace" "$tr" -n "$EVENTS") || { out "== 5. Offline: SKIPPED (gen_trace failed)"; return; }
		t1=$(now_ns)
		read -r recs raw <<<"$gen"
		genmsg="generated in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f s", (b - a) / 1e9 }')"
	fi
	size=$(stat -c %s "$tr")
	# every format this binary exports, from the suffixes its --help lists
	# (rows for formats added later appear by themselves)
	local sfx fmts=() cmds=(report report-json dump)
	sfx=" $("$LP" export --help 2>/dev/null | grep -oE '\.[a-z][a-z0-9.-]*[a-z]' | sort -u | tr '\n' ' ')"
	declare -A outname=([chrome]=out.json.gz [perfetto]=out.perfetto-trace [folded]=out.folded
		[speedscope]=out.speedscope.json [svg]=out.svg [html]=out.html [otlp]=out.otlp.json [prom]=out.prom)
	[[ $sfx == *" .json "* ]] && fmts+=(chrome)
	[[ $sfx == *" .perfetto-trace "* ]] && fmts+=(perfetto)
	[[ $sfx == *" .folded "* ]] && fmts+=(folded)
	[[ $sfx == *" .speedscope.json "* ]] && fmts+=(speedscope)
	[[ $sfx == *" .svg "* ]] && fmts+=(svg)
	[[ $sfx == *" .html "* ]] && fmts+=(html)
	[[ $sfx == *" .otlp.json "* ]] && fmts+=(otlp)
	[[ $sfx == *" .prom "* ]] && fmts+=(prom)
	cmds+=("${fmts[@]}")
	for c in "${cmds[@]}"; do : >"$WORK/s5.$c"; done
	note "section 5: $OFF_REPS x (report, report --json, dump, export ${fmts[*]})"
	for ((i = 0; i < OFF_REPS; i++)); do
		for c in "${cmds[@]}"; do
			# each command as often as report: the median of 3 leaves out
			# one run the VM slowed (the same command varies by ~20 % here)
			local cmd
			case $c in
			report) cmd=("$LP" report "$tr") ;;
			report-json) cmd=("$LP" report --json "$tr") ;;
			dump) cmd=("$LP" dump "$tr") ;;
			*) cmd=("$LP" export "$tr" -o "$WORK/${outname[$c]}") ;;
			esac
			if /usr/bin/time -f '%e %M %U %S' -o "$WORK/time.txt" "${cmd[@]}" >/dev/null 2>"$WORK/s5.err"; then
				tail -1 "$WORK/time.txt" >>"$WORK/s5.$c"
			else
				note "section 5: $c failed: $(grep -v '^Command' "$WORK/s5.err" | tail -1)"
			fi
			rm -f "$WORK/${outname[$c]:-none}"
		done
	done
	out "== 5. Offline speed: synthetic trace of $recs records ($(awk -v r="$raw" 'BEGIN { if (r > 0) printf "%.0f MB raw", r / 1e6; else printf "raw size unknown" }'), $genmsg)"
	local bpe
	bpe=$(awk -v s="$size" -v n="$recs" 'BEGIN { printf "%.2f", s / n }')
	out "   trace size: $size bytes = $bpe bytes/event (raw records $(awk -v r="$raw" -v n="$recs" 'BEGIN { printf "%.1f", r / n }') B/event)   target <= 12  $(verdict "$bpe" 12)"
	out "   every command, model load included: target <= 5 s and <= 512 MiB (issue 12); report is the"
	out "   shared model load every export starts with: its budget <= 3 s, <= 400 MiB"
	# cpu = user + system time of all its threads; cpu / cores is the least wall
	# time the same work could take here, however well it were spread
	local ncpu
	ncpu=$(nproc)
	out "   cpu = user + system seconds of all its threads; cpu/$ncpu = the wall time that work needs at least"
	out "   on this machine's $ncpu cores, however well it were spread over them"
	outf "   %-14s %4s %12s %10s %8s %14s   %s\n" command n "wall med s" "cpu med s" "cpu/$ncpu" "peak RSS MiB" "target 5 s / 512 MiB"
	for c in "${cmds[@]}"; do
		local w m u tgt=""
		awk '{ print $1 }' "$WORK/s5.$c" >"$WORK/s5.w"; awk '{ print $2 }' "$WORK/s5.$c" >"$WORK/s5.m"
		awk '{ print $3 + $4 }' "$WORK/s5.$c" >"$WORK/s5.u"
		w=$(median "$WORK/s5.w"); m=$(awk -v k="$(median "$WORK/s5.m")" 'BEGIN { if (k == "nan") print k; else printf "%.0f", k / 1024 }')
		u=$(median "$WORK/s5.u")
		tgt="$(verdict "$w" 5) $(verdict "$m" 512)"
		[ "$c" = report ] && tgt+="   (budget 3 s $(verdict "$w" 3), 400 MiB $(verdict "$m" 400))"
		case $c in report | report-json | dump) ;; *) tgt+="   export ${outname[$c]#out}" ;; esac
		outf "   %-14s %4s %12s %10s %8s %14s   %s\n" "$c" "$(count "$WORK/s5.$c")" "$w" "$u" \
			"$(awk -v u="$u" -v n="$ncpu" 'BEGIN { if (u == "nan") print u; else printf "%.2f", u / n }')" "$m" "$tgt"
	done
	# what a format change would buy (bench/codec_probe.c): a 500k-event sample of
	# the same generator, and the real build trace of section 2 when there is one
	note "section 5: codec probe"
	"$BIN/gen_trace" "$WORK/sample.lprof" -n 500000 -s 7 >/dev/null
	local f
	for f in "$WORK/sample.lprof" "$WORK/s2.lprof"; do
		[ -s "$f" ] || continue
		out "   bytes/event if the format changed (bench/codec_probe.c on $([ "$f" = "$WORK/s2.lprof" ] && echo "the real docker build trace of section 2" || echo "500k events of the same generator")):"
		# the rows that matter (all of them: run bench/codec_probe by hand)
		"$BIN/codec_probe" "$f" | awk 'NR == 1 || ($1 == "nop" && ($2 == "zlib-1" || $2 == "zlib-6" || $2 == "zstd-3")) ||
			($1 == "nptr+dts" && $2 == "zstd-3") || ($1 ~ /^pack/ && ($2 == "zlib-1" || $2 == "zstd-3")) || $1 == "layerprof"' |
			awk '{ printf "     %s\n", $0 }' | tee -a "$WORK/report.txt"
	done
	out ""
}

# ---------------------------------------------------------------- section 6
# Why sections 1 and 3 cost what they cost: bench/probe_cost.bpf.c loads one
# hook design at a time (no events emitted) and runs the workload under it,
# outside (idle) and inside (traced) the traced set.
section6() {
	[ "$have_probe_cost" = 1 ] || return 0
	local modes=(none tp_empty raw_empty tp_hash tp_bits raw_hash raw_bits) m t i
	for m in "${modes[@]}"; do for t in idle traced; do : >"$WORK/s6.$m.$t"; done; done
	note "section 6: $PC_REPS x hook designs (${modes[*]}) x (idle, traced)"
	for ((i = 0; i < PC_REPS; i++)); do
		for m in "${modes[@]}"; do
			for t in idle traced; do
				# an empty program does the same work either way
				[[ "$m" == *_empty ]] && [ "$t" = traced ] && continue
				rm -f "$WORK/t.txt"
				"$BIN/probe_cost" "$m" $([ "$t" = traced ] && echo --trace) -- "${WL[@]}" -t "$WORK/t.txt" \
					>/dev/null 2>>"$WORK/s6.err" || continue
				awk '{ print $2 }' "$WORK/t.txt" >>"$WORK/s6.$m.$t"
			done
		done
	done
	out "== 6. Why: cost of the syscall hook design alone (bench/probe_cost.bpf.c, no events emitted), workload of 1"
	out "   tp_hash  = the first design (layerprof's tp fallback is close to it): a classic tracepoint program per"
	out "              syscall and direction, HASH filter on tgid,"
	out "              HASH in-flight state per tid (update at entry, lookup+delete at exit)"
	out "   tp_bits  = same tracepoints, filter = bit in a global bitmap, in-flight state = ARRAY slot [tid & 0xffff]"
	out "   raw_hash = raw_tp/sys_enter + raw_tp/sys_exit (2 programs for all syscalls) + class table, HASH filter/state"
	out "   raw_bits = raw tracepoints + bitmap filter + ARRAY slots (closest to layerprof's default raw_tp mode,"
	out "              which filters with a direct-mapped tgid cache in front of the HASH)"
	out "   tp_empty, raw_empty = the same hooks with programs that return at once (the floor of each hook kind)"
	out "   idle = the workload is outside the traced set (section 3's case); traced = inside it (section 1's case,"
	out "   minus event output). Workload CPU seconds (user+sys), medians; overhead vs none."
	outf "   %-9s %4s %10s %9s %10s %9s\n" design n "idle cpu" "idle ovh" "traced cpu" "trc ovh"
	local bi bt
	bi=$(median "$WORK/s6.none.idle"); bt=$(median "$WORK/s6.none.traced")
	for m in "${modes[@]}"; do
		local a b
		a=$(median "$WORK/s6.$m.idle"); b=$(median "$WORK/s6.$m.traced")
		local ao=- bo=-
		[ "$m" = none ] || ao="$(pct "$a" "$bi")%"
		if [[ "$m" == *_empty ]]; then b=-; elif [ "$m" != none ]; then bo="$(pct "$b" "$bt")%"; fi
		outf "   %-9s %4s %10s %9s %10s %9s\n" "$m" "$(count "$WORK/s6.$m.idle")" "$a" "$ao" "$b" "$bo"
	done
	out ""
}

# ---------------------------------------------------------------- section 7
# Start and stop: `record -o F -- true`, whole command (wall) and the phases
# record -v prints (median of each).
section7() {
	local i n=$SS_REPS
	: >"$WORK/s7.wall"; : >"$WORK/s7.phases"
	note "section 7: $n x record -- true"
	for ((i = 0; i < n; i++)); do
		local t0 t1
		t0=$(now_ns)
		"$LP" record -v --no-daemons -o "$WORK/s7.lprof" -- true >/dev/null 2>"$WORK/s7.err" ||
			{ note "section 7: run $i failed: $(grep -v '^libbpf' "$WORK/s7.err" | tail -1)"; continue; }
		t1=$(now_ns)
		awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", (b - a) / 1e9 }' >>"$WORK/s7.wall"
		# "phases (ms): load 82.3 (probes 0.4, verifier 78.9, attach 3.0), setup 1.2, ..."
		grep '^layerprof: phases' "$WORK/s7.err" | sed 's/.*(ms): //; s/[(),;]/ /g' |
			awk '{ for (i = 1; i < NF; i++) if ($(i + 1) ~ /^[0-9.]+$/) printf "%s %s\n", $i, $(i + 1) }' \
			>>"$WORK/s7.phases"
	done
	local w; w=$(median "$WORK/s7.wall")
	out "== 7. Start and stop: layerprof record --no-daemons -o F -- true ($(count "$WORK/s7.wall") runs; record -v's phases, medians)"
	local ph line=""
	for ph in probes verifier attach setup seed command drain queries file unload; do
		awk -v p="$ph" '$1 == p { print $2 }' "$WORK/s7.phases" >"$WORK/s7.one"
		line="$line$ph $(median "$WORK/s7.one"), "
	done
	out "   phases (ms): ${line%, }"
	out "   (verifier = libbpf open + load: the kernel's BTF parsed, maps made, programs verified)"
	outf "   %-28s %10s   %s\n" "whole command, wall" "$w s" "target <= 0.12 s  $(verdict "$w" 0.12)"
	out ""
}

# ---------------------------------------------------------------- section 8
# The consumer without the kernel: bench/replay.c feeds the kernel records of
# a trace through record's callback (rec_on_event) and the trace writer.
section8() {
	local tr="$WORK/replay-src.lprof" real="" f
	note "section 8: replay of $REPLAY_EVENTS events x $REPLAY_REPS"
	"$BIN/gen_trace" "$tr" -n "$REPLAY_EVENTS" -s 11 >/dev/null || { out "== 8. Consumer: SKIPPED (gen_trace failed)"; return; }
	for f in /var/cache/layerprof/recordings/*/*.lprof; do [ -s "$f" ] && { real=$f; break; }; done
	out "== 8. Consumer alone (bench/replay.c: record's ring-buffer callback + the trace writer, in-process, no kernel)"
	out "   events/s per core = events / CPU seconds; decoder = the consuming thread (checks, argv redaction, hand-over),"
	out "   writer = its background thread (pack + deflate + write; another core when there is one), all = both on one core"
	outf "   %-44s %9s %13s %13s %13s   %s\n" trace events "decoder ev/s" "writer ev/s" "all ev/s" "target (all)"
	local src
	for src in "$tr" $real; do
		"$BIN/replay" "$src" "$FS/replay.lprof" -n "$REPLAY_EVENTS" -r "$REPLAY_REPS" >"$WORK/s8.txt" 2>"$WORK/s8.err" ||
			{ note "section 8: replay of $src failed: $(tail -1 "$WORK/s8.err")"; continue; }
		awk '{ printf "%.0f\n", $1 / $3 }' "$WORK/s8.txt" >"$WORK/s8.dec"
		awk '{ d = $2 - $3; printf "%.0f\n", (d > 0 ? $1 / d : 0) }' "$WORK/s8.txt" >"$WORK/s8.wr"
		awk '{ printf "%.0f\n", $1 / $2 }' "$WORK/s8.txt" >"$WORK/s8.all"
		local name all
		name="synthetic build (gen_trace)"
		[ "$src" = "$tr" ] || name="real: ${src#/var/cache/layerprof/recordings/}"
		all=$(median "$WORK/s8.all")
		outf "   %-44s %9s %13.0f %13.0f %13.0f   %s\n" "$name" "$(head -1 "$WORK/s8.txt" | cut -d' ' -f1)" \
			"$(median "$WORK/s8.dec")" "$(median "$WORK/s8.wr")" "$all" ">= 3000000  $(verdict "$all" 3000000 ge)"
	done
	out "   (the real trace is replayed repeatedly up to the same count)"
	out ""
}

# ---------------------------------------------------------------- section 9
# The syscall storm against the floor: bench/storm_pass.sh (cp -r /usr/include
# to the tmpfs, cat every file, rm -rf) untraced, under empty programs on
# record's own attach points (probe_cost floor), and under record.
section9() {
	[ "$have_probe_cost" = 1 ] || { out "== 9. Storm vs floor: SKIPPED (bench/probe_cost did not build)"; out ""; return; }
	local i v variants=(untraced floor layerprof)
	# another build of record, interleaved with the rest: before/after
	# figures of a change from one run (LP_BENCH_STORM_BASE=path/layerprof)
	[ -n "$STORM_BASE" ] && variants+=(base)
	mkdir -p "$FS/storm9"
	for v in "${variants[@]}"; do : >"$WORK/s9.$v.wall"; : >"$WORK/s9.$v.cpu"; : >"$WORK/s9.$v.rep"; done
	: >"$WORK/s9.events"
	note "section 9: $STORM_REPS x (${variants[*]}) storm passes"
	"$here/storm_pass.sh" "$FS/storm9" "$WORK/s9.t" # warm the page cache
	local n=${#variants[@]} k
	for ((i = 0; i < STORM_REPS; i++)); do
		# each repetition starts one variant further on: none always
		# runs right after the same other one (page cache, frequency)
		for ((k = 0; k < n; k++)); do
			v=${variants[$(((i + k) % n))]}
			rm -f "$WORK/s9.t"
			case $v in
			untraced) "$here/storm_pass.sh" "$FS/storm9" "$WORK/s9.t" ;;
			floor) "$BIN/probe_cost" floor -- "$here/storm_pass.sh" "$FS/storm9" "$WORK/s9.t" 2>/dev/null ;;
			layerprof | base)
				local lp=$LP
				[ "$v" = base ] && lp=$STORM_BASE
				"$lp" record --no-daemons -o "$WORK/s9.lprof" -- "$here/storm_pass.sh" "$FS/storm9" "$WORK/s9.t" \
					>/dev/null 2>"$WORK/s9.rec.err"
				[ "$v" = layerprof ] && rec_counts "$WORK/s9.rec.err" >>"$WORK/s9.events" ;;
			esac
			if [ -s "$WORK/s9.t" ]; then
				awk '{ print $1 }' "$WORK/s9.t" >>"$WORK/s9.$v.wall"
				awk '{ print $2 }' "$WORK/s9.t" >>"$WORK/s9.$v.cpu"
				awk -v i="$i" '{ print i, $1, $2 }' "$WORK/s9.t" >>"$WORK/s9.$v.rep"
			else
				note "section 9: $v run $i failed"
			fi
		done
	done
	local bw bc
	bw=$(median "$WORK/s9.untraced.wall"); bc=$(median "$WORK/s9.untraced.cpu")
	out "== 9. Syscall storm vs the floor: one pass of cp -r /usr/include to tmpfs, cat of every file, rm -rf"
	out "   floor = empty programs on record's own attach points (bench/probe_cost floor: tp_btf sys_enter/sys_exit,"
	out "   fork/exec/exit); ratio = median / untraced median; wall = the pass's elapsed time, cpu = its"
	out "   processes' user+sys time (in-kernel probe cost lands there; less sensitive to a busy machine)"
	[ -n "$STORM_BASE" ] && out "   base = $STORM_BASE (LP_BENCH_STORM_BASE), interleaved with the others"
	outf "   %-10s %4s %10s %8s %10s %8s\n" variant n "wall med s" ratio "cpu med s" ratio
	for v in "${variants[@]}"; do
		local w c
		w=$(median "$WORK/s9.$v.wall"); c=$(median "$WORK/s9.$v.cpu")
		outf "   %-10s %4s %10s %8s %10s %8s\n" "$v" "$(count "$WORK/s9.$v.wall")" "$w" \
			"$(awk -v a="$w" -v b="$bw" 'BEGIN { printf "%.3f", a / b }')" "$c" \
			"$(awk -v a="$c" -v b="$bc" 'BEGIN { printf "%.3f", a / b }')"
	done
	# Two estimates of the same difference, both printed: medians of each
	# variant (as above), and the median over repetitions of the paired
	# difference (x_i - floor_i) / untraced_i, the three passes of one
	# repetition having run back to back: a machine getting busier or
	# quieter between repetitions moves all three alike.
	local m x
	local tracers=(layerprof)
	[ -n "$STORM_BASE" ] && tracers+=(base)
	for x in "${tracers[@]}"; do
		for m in wall cpu; do
			local d col
			col=$([ $m = wall ] && echo 2 || echo 3)
			d=$(awk -v l="$(median "$WORK/s9.$x.$m")" -v f="$(median "$WORK/s9.floor.$m")" -v u="$(median "$WORK/s9.untraced.$m")" \
				'BEGIN { printf "%.1f", (l - f) / u * 100 }')
			outf "   %-40s %5s points   target <= 5.0  %s\n" "$x - floor ($m), medians:" "$d" "$(verdict "$d" 5)"
			storm_paired "$x" floor "$col" "$x - floor ($m), median of paired:" 5
		done
	done
	[ -n "$STORM_BASE" ] && storm_paired layerprof base 3 "layerprof - base (cpu), median of paired:" ""
	out "   layerprof: $(awk '{ e += $1; l += $2 } END { if (NR) printf "%d events/pass, %d lost in all", e / NR, l }' "$WORK/s9.events")"
	storm_bpf_costs
	out ""
}

# The median over repetitions of (a_i - b_i) / untraced_i in points, column
# col of the s9.*.rep files (2: wall, 3: cpu), with its range; the
# repetitions where one of the three failed are left out. A target (5)
# adds its verdict.
storm_paired() {
	local a=$1 b=$2 col=$3 label=$4 target=$5
	awk -v c="$col" 'FNR == 1 { f++ } f == 1 { u[$1] = $c } f == 2 { x[$1] = $c } f == 3 { y[$1] = $c }
		END { for (i in u) if ((i in x) && (i in y)) printf "%.2f\n", (x[i] - y[i]) / u[i] * 100 }' \
		"$WORK/s9.untraced.rep" "$WORK/s9.$a.rep" "$WORK/s9.$b.rep" >"$WORK/s9.paired"
	local med range v=""
	med=$(median "$WORK/s9.paired")
	range=$(sort -g "$WORK/s9.paired" | awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR) printf "%.1f .. %.1f, n=%d", lo, hi, NR }')
	[ -n "$target" ] && v="   target <= $target.0  $(verdict "$med" "$target")"
	outf "   %-40s %5.1f points%s   (%s)\n" "$label" "$med" "$v" "$range"
}

# Where the storm's in-kernel time goes, program by program (the kernel's
# run-time statistics, kernel.bpf_stats_enabled): one pass with record's
# default programs, one with the per-syscall tracepoints
# (LAYERPROF_FORCE_SYSCALLS=tp: a program per syscall, so a cost per
# syscall). The programs are listed from inside the recorded command, while
# they are still loaded. Each statistic includes the kernel's own two clock
# reads per run: compare runs, not absolutes; the floor's empty programs on
# the same pass show how much that is. Every process of the host runs the
# sys_enter/sys_exit programs: a busy host adds (cheap) runs to the pass.
storm_bpf_costs() {
	command -v bpftool >/dev/null && command -v jq >/dev/null || { out "   per-program cost: SKIPPED (no bpftool or jq)"; return; }
	local was mode
	was=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null) || { out "   per-program cost: SKIPPED (no kernel.bpf_stats_enabled)"; return; }
	sysctl -qw kernel.bpf_stats_enabled=1
	rm -f "$WORK/s9.progs.json"
	# shellcheck disable=SC2016 # expanded by the inner shell
	"$BIN/probe_cost" floor -- bash -c '"$1" "$2" "$3"; bpftool prog show -j >"$4"' _ "$here/storm_pass.sh" \
		"$FS/storm9" "$WORK/s9.t" "$WORK/s9.progs.json" >/dev/null 2>&1
	# an empty program's ns/run at entry and at exit: what each run costs
	# before any of our code (bpf_stats' clock reads included). A busy
	# host's processes add runs: in one pass with 2.4 times the usual
	# runs, +50 ms to the plain sum, +15 to the one beyond (their runs
	# are cheap, not free)
	local empty_en=0 empty_ex=0
	if [ -s "$WORK/s9.progs.json" ]; then
		read -r empty_en empty_ex < <(jq -r '[.[] | select(.run_cnt > 0) | {(.name): (.run_time_ns / .run_cnt)}] | add |
			"\(.fl_en // 0) \(.fl_ex // 0)"' "$WORK/s9.progs.json")
		outf "   an empty program on the same pass (the floor's, bpf_stats' own clock reads included): %.1f ns/run at\n" "$empty_en"
		outf "   entry, %.1f at exit; \"beyond\" = the time less that per run, which other processes' runs move less\n" "$empty_ex"
	fi
	for mode in default tp; do
		rm -f "$WORK/s9.progs.json"
		local force=()
		[ "$mode" = tp ] && force=(LAYERPROF_FORCE_SYSCALLS=tp)
		# shellcheck disable=SC2016 # expanded by the inner shell
		env "${force[@]}" "$LP" record --no-daemons -o "$WORK/s9s.lprof" -- \
			bash -c '"$1" "$2" "$3"; bpftool prog show -j >"$4"' _ "$here/storm_pass.sh" "$FS/storm9" "$WORK/s9.t" \
			"$WORK/s9.progs.json" >/dev/null 2>&1
		[ -s "$WORK/s9.progs.json" ] || { out "   per-program cost ($mode): the pass failed"; continue; }
		out "   in-kernel cost per program, one pass, ${mode/tp/per-syscall tracepoints (LAYERPROF_FORCE_SYSCALLS=tp)}:"
		jq -r '.[] | select(.run_cnt > 0 and (.name | test("^(sys_|en_|ex_|fe_|fx_|fork|exec|exit)"))) |
			"\(.run_time_ns) \(.run_cnt) \(.name)"' "$WORK/s9.progs.json" | sort -rn | head -12 |
			awk -v en="$empty_en" -v ex="$empty_ex" '{
				e = $3 ~ /^(sys_enter|en_|fe_)/ ? en : $3 ~ /^(sys_exit|ex_|fx_)/ ? ex : 0
				b = ($1 - $2 * e) / 1e6; t += $1; tb += b
				printf "     %-22s %9d runs %8.1f ns/run %7.1f ms %7.1f ms beyond\n", $3, $2, $1 / $2, $1 / 1e6, b }
				END { if (NR) printf "     (these %d: %.1f ms, %.1f beyond)\n", NR, t / 1e6, tb }' |
			while IFS= read -r l; do out "$l"; done
	done
	sysctl -qw kernel.bpf_stats_enabled="$was"
}

want 1 && section1
want 2 && section2
want 3 && section3
want 4 && section4
want 5 && section5
want 6 && section6
want 7 && section7
want 8 && section8
want 9 && section9

out "load average at end: $(loadavg); total bench time $(($(date +%s) - start_s)) s"
cp "$WORK/report.txt" "$latest"
note "results in $latest"

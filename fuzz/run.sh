#!/usr/bin/env bash
# Build and run layerprof's libFuzzer harnesses (ASan + UBSan).
#
#   fuzz/run.sh [SECONDS] [NAME...]   build, then fuzz each NAME (default: all)
#                                     for SECONDS (default 60) each
#   fuzz/run.sh --replay [NAME...]    build, then run each fuzzer once over its
#                                     seeds and tests/data/regress/NAME/ (no fuzzing)
#   fuzz/run.sh --build               build only
#   fuzz/run.sh --list                the fuzzer names
#
# Fuzzers (fuzz/fuzz_NAME.c): trace_pack (the EVENTS block codec alone: lossless
# on any records, hostile packs), trace_reader (a hostile trace file through the
# reader, dump, report and the model), progress (BuildKit progress parser),
# rawjson (the --progress=rawjson translator feeding that parser), dockerfile
# (Dockerfile parser), dockerctx (.dockerignore patterns, the docker command
# line, what the docker CLI says of itself), redact (argv redaction: no planted
# secret reaches the trace).
#
# Seeds: fuzz/corpus/NAME/ (committed, real material). New inputs the fuzzer
# finds go to fuzz/work/NAME/ (git-ignored; reused by the next run). A crash,
# leak, timeout or out-of-memory input is saved as fuzz/crashes/NAME/crash-*
# (git-ignored); the script prints how to replay it and exits 1. Make each
# one a regression test: copy it to tests/data/regress/NAME/ (replayed by
# --replay and tests/reliability/run.sh) once fixed.
#
# Environment: CLANG (default clang; needs libFuzzer: libfuzzer-14-dev,
# libclang-rt-14-dev), FUZZ_BUILD (default fuzz/build), FUZZ_WORK (default
# fuzz/work), FUZZ_JOBS (parallel compiles, default 2), FUZZ_ARGS (extra
# libFuzzer flags).
# Exit status: 0 no crash, 1 a crash (or a failed replay), 2 usage, 3 cannot build.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
CLANG=${CLANG:-clang}
B=${FUZZ_BUILD:-$ROOT/fuzz/build}
WORK=${FUZZ_WORK:-$ROOT/fuzz/work}
CRASHES=$ROOT/fuzz/crashes
REGRESS=$ROOT/tests/data/regress
JOBS=${FUZZ_JOBS:-2}
ALL=(trace_reader trace_pack progress rawjson dockerfile dockerctx redact)

say() { printf 'fuzz: %s\n' "$*" >&2; }
usage() { sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; }

mode=fuzz secs=60
case "${1:-}" in
-h | --help) usage; exit 0 ;;
--list) printf '%s\n' "${ALL[@]}"; exit 0 ;;
--build) mode=build; shift ;;
--replay) mode=replay; shift ;;
'' | *[!0-9]*) ;;
*) secs=$1; shift ;;
esac
names=("$@")
((${#names[@]})) || names=("${ALL[@]}")
for n in "${names[@]}"; do
	[ -f "fuzz/fuzz_$n.c" ] || { say "no fuzzer '$n' (fuzz/fuzz_$n.c); have: ${ALL[*]}"; exit 2; }
done
((secs > 0)) || { say "SECONDS must be > 0"; exit 2; }

# ------------------------------------------------------------------ build
# shellcheck disable=SC2054,SC2207
CFLAGS=(-g -O1 -std=c11 -D_GNU_SOURCE -fno-omit-frame-pointer
	-fsanitize=address,undefined -fno-sanitize-recover=undefined
	-Iinclude -Isrc $(pkg-config --cflags libcjson zlib 2>/dev/null))
LIBS=(-lcjson -lz -ldeflate -lcurl -lpthread -lm)

build() {
	command -v "$CLANG" >/dev/null || { say "no $CLANG (apt-get install clang libfuzzer-14-dev)"; return 1; }
	mkdir -p "$B/obj"
	# A header change rebuilds everything (simple and safe).
	local newest_h src obj base objs=() pids=() failed=()
	newest_h=$(ls -t src/*.h include/layerprof/* 2>/dev/null | head -1)
	for src in src/*.c; do
		base=$(basename "$src" .c)
		# main.c is the CLI; the BPF loader needs the generated skeleton and is
		# not reachable from the parsers and readers fuzzed here.
		[ "$base" = main ] && continue
		grep -q 'layerprof.skel.h' "$src" && continue
		obj=$B/obj/$base.o
		objs+=("$obj")
		if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ "$newest_h" -nt "$obj" ]; then
			("$CLANG" "${CFLAGS[@]}" -fsanitize=fuzzer-no-link -c "$src" -o "$obj.tmp" 2>"$obj.log" &&
				mv "$obj.tmp" "$obj") &
			pids+=($!)
			if ((${#pids[@]} >= JOBS)); then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
		fi
	done
	wait
	for obj in "${objs[@]}"; do
		if [ ! -f "$obj" ]; then
			# a file being edited by someone may not compile: only fatal if a
			# harness needs it (the link says so)
			failed+=("$(basename "$obj" .o).c")
			rm -f "$obj"
		fi
	done
	((${#failed[@]} == 0)) || say "warning: did not compile (left out): ${failed[*]}; see $B/obj/*.log"
	local o rebuild=0
	[ -f "$B/liblp.a" ] || rebuild=1
	for o in "$B"/obj/*.o; do [ "$o" -nt "$B/liblp.a" ] && rebuild=1; done
	if [ "$rebuild" = 1 ] || [ "$(ar t "$B/liblp.a" | wc -l)" != "$(ls "$B"/obj/*.o | wc -l)" ]; then
		rm -f "$B/liblp.a"
		ar rcs "$B/liblp.a" "$B"/obj/*.o || return 1
	fi
	local n
	for n in "${names[@]}"; do
		if [ ! -x "$B/fuzz_$n" ] || [ "fuzz/fuzz_$n.c" -nt "$B/fuzz_$n" ] || [ "$B/liblp.a" -nt "$B/fuzz_$n" ]; then
			"$CLANG" "${CFLAGS[@]}" -fsanitize=fuzzer "fuzz/fuzz_$n.c" "$B/liblp.a" "${LIBS[@]}" \
				-o "$B/fuzz_$n" || { say "cannot build fuzz_$n"; return 1; }
		fi
	done
}

build || exit 3
[ "$mode" = build ] && { say "built: ${names[*]/#/$B/fuzz_}"; exit 0; }

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# ----------------------------------------------------------------- replay
if [ "$mode" = replay ]; then
	# replay INPUT... : 0 when the harness runs them all cleanly (leaks are
	# reported at exit, so each regression input runs alone to be named)
	replay() {
		local n=$1 log
		shift
		log=$(mktemp)
		if "$B/fuzz_$n" -runs=1 -timeout=30 -rss_limit_mb=2048 "$@" >"$log" 2>&1; then
			rm -f "$log"
			return 0
		fi
		why=$(grep -m1 -E 'INVARIANT FAILED|==[0-9]+== ?ERROR|runtime error|deadly signal' "$log" | sed -E 's/^==[0-9]+== ?//' | cut -c1-160)
		[ -n "$why" ] || why=$(tail -1 "$log")
		grep -A8 -m1 -E '==[0-9]+== ?ERROR|runtime error' "$log" | grep -E '^ +#[0-9]' | head -6 | sed 's/^ */    /' >&2
		rm -f "$log"
		return 1
	}
	rc=0
	for n in "${names[@]}"; do
		seeds=()
		for f in fuzz/corpus/"$n"/*; do [ -f "$f" ] && seeds+=("$f"); done
		if ((${#seeds[@]} == 0)); then
			printf 'PASS replay %s seeds (none)\n' "$n"
		elif replay "$n" "${seeds[@]}"; then
			printf 'PASS replay %s seeds (%d inputs)\n' "$n" "${#seeds[@]}"
		else
			printf 'FAIL replay %s seeds: %s\n' "$n" "$why"
			rc=1
		fi
		for f in "$REGRESS/$n"/*; do
			[ -f "$f" ] || continue
			if replay "$n" "$f"; then
				printf 'PASS replay regress/%s/%s\n' "$n" "$(basename "$f")"
			else
				printf 'FAIL replay regress/%s/%s: %s\n' "$n" "$(basename "$f")" "$why"
				rc=1
			fi
		done
	done
	exit $rc
fi

# ------------------------------------------------------------------- fuzz
rc=0
for n in "${names[@]}"; do
	mkdir -p "$WORK/$n" "$CRASHES/$n"
	dict=()
	[ -f "fuzz/$n.dict" ] && dict=(-dict="fuzz/$n.dict")
	log=$CRASHES/$n/last-run.log
	# the seeds are read, new inputs go to WORK (the first dir); the
	# regression inputs are not: --replay runs them, and one still failing
	# would stop every run at once
	dirs=("$WORK/$n" "fuzz/corpus/$n")
	# shellcheck disable=SC2086
	"$B/fuzz_$n" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
		-print_final_stats=1 -artifact_prefix="$CRASHES/$n/" "${dict[@]}" ${FUZZ_ARGS:-} \
		"${dirs[@]}" >"$log" 2>&1
	st=$?
	execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -1)
	cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1)
	if [ "$st" = 0 ]; then
		printf 'PASS fuzz %s (%ss, %s runs, %s)\n' "$n" "$secs" "${execs:-?}" "${cov:-cov: ?}"
	else
		art=$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$log" | tail -1)
		why=$(grep -m1 -E 'INVARIANT FAILED|^==[0-9]+== ?ERROR|runtime error|ERROR: libFuzzer' "$log" | sed -E 's/^==[0-9]+== ?//' | cut -c1-200)
		printf 'FAIL fuzz %s: %s\n' "$n" "${why:-exit status $st}"
		grep -A12 -m1 -E '^==[0-9]+==ERROR|runtime error' "$log" | sed 's/^/    /' >&2
		[ -n "$art" ] && say "crash input: $art; replay: $B/fuzz_$n $art; log: $log"
		rc=1
	fi
done
exit $rc

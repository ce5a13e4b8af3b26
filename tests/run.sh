#!/usr/bin/env bash
# Runs every test suite (called by `make test` after the plain and the
# sanitizer builds). Prints each suite's result and one closing line.
set -uo pipefail
cd "$(dirname "$0")/.."
total_pass=0 total_fail=0 total_skip=0
summary=()

# Adds "N passed, N failed, N skipped" (or Criterion's Synthesis line) of a
# suite's output to the totals.
count() {
	local name=$1 log=$2 rc=$3 line p f s
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
	if [ -n "$line" ]; then
		p=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$line")
		f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
		s=$(sed -nE 's/.* ([0-9]+) skipped.*/\1/p' <<<"$line")
	else
		line=$(grep -E 'Synthesis: Tested: [0-9]+' "$log" | tail -1)
		p=$(sed -nE 's/.*Passing: ([0-9]+).*/\1/p' <<<"$line")
		f=$(sed -nE 's/.*Failing: ([0-9]+).*Crashing: ([0-9]+).*/\1+\2/p' <<<"$line")
		f=$((${f:-0}))
		s=0
	fi
	p=${p:-0} f=${f:-0} s=${s:-0}
	# A suite that crashed or exited non-zero without saying why still fails.
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
	total_pass=$((total_pass + p)) total_fail=$((total_fail + f)) total_skip=$((total_skip + s))
	summary+=("$(printf '%-28s %4s passed %4s failed %4s skipped' "$name" "$p" "$f" "$s")")
}

run_suite() {
	local name=$1 log
	shift
	log=$(mktemp)
	echo "=== $name"
	"$@" 2>&1 | tee "$log"
	count "$name" "$log" "${PIPESTATUS[0]}"
	rm -f "$log"
}

for t in build/tests/test_*; do
	[ -x "$t" ] || continue
	run_suite "unit $(basename "$t")" "$t" --jobs 1
done
for t in build-san/tests/test_*; do
	[ -x "$t" ] || continue
	run_suite "asan+ubsan $(basename "$t")" env ASAN_OPTIONS=detect_leaks=1 "$t" --jobs 1
done
for s in tests/build/run.sh tests/cli/run.sh tests/bpf/run.sh tests/e2e/run.sh tests/session/run.sh tests/exports/run.sh tests/exports/perfetto.sh tests/reliability/run.sh tests/fleet/run.sh tests/realworld/run.sh; do
	[ -x "$s" ] || continue
	run_suite "${s#tests/}" "$s"
done

echo
echo "=== summary"
printf '%s\n' "${summary[@]}"
echo "total: $total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" = 0 ]

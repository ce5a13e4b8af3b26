#!/usr/bin/env bash
# The Perfetto export (`layerprof export FILE -o x.perfetto-trace`) checked
# with a decoder that is not ours: protoc --decode against
# tests/exports/perfetto_min.proto (our own minimal copy of the upstream
# field numbers, each checked by hand). The decoded packets are compared
# with what other commands say about the same trace:
#   - tracks: one "build" root; one child per step, named as in
#     `layerprof report --json`; per step as many process tracks as the
#     report's "processes"; syscall tracks under processes
#   - slices: BEGIN/END balanced and nested on every track; the build and
#     step slices' times give the report's start_ms / wall_ms (ns -> ms,
#     floored as the report floors)
#   - every syscall record of `layerprof dump --json` is a slice (no cap):
#     same count and names, every slice ends at one of the records' times
#   - the three counter tracks have values; flows go step -> processes
# The trace: $LP_EXPORT_TRACE, else the real recordings in tests/data/traces/.
# Needs protoc (protobuf-compiler) and python3; skips with the reason otherwise.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
here="$LP_ROOT/tests/exports"
out="$LP_ARTIFACTS/exports"
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

require_built "perfetto export"
require_tool "perfetto export" protoc
require_tool "perfetto export" python3

traces=()
if [ -n "${LP_EXPORT_TRACE:-}" ]; then
	traces=("$LP_EXPORT_TRACE")
else
	for t in bad-order-edit run-fails; do
		[ -f "$LP_ROOT/tests/data/traces/$t.lptrace" ] && traces+=("$LP_ROOT/tests/data/traces/$t.lptrace")
	done
fi
if [ "${#traces[@]}" = 0 ]; then
	skip "perfetto export" "no trace: tests/data/traces/ has no bad-order-edit.lptrace or run-fails.lptrace"
	finish
	exit
fi

for trace in "${traces[@]}"; do
	name=$(basename "${trace%.lprof}" .lptrace)
	pf="$out/$name.perfetto-trace"
	if ! "$LP_BIN" export "$trace" -o "$pf" 2>"$tmp/err"; then
		fail "$name: export -o .perfetto-trace" "$(tail -2 "$tmp/err" | tr '\n' ' ')"
		continue
	fi
	pass "$name: export -o .perfetto-trace ($(stat -c %s "$pf") bytes)"
	check "$name: --format perfetto to stdout gives the same bytes" \
		bash -c '"$1" export "$2" -o - --format perfetto | cmp -s - "$3"' _ "$LP_BIN" "$trace" "$pf"
	if ! protoc --proto_path="$here" --decode=lpmin.Trace "$here/perfetto_min.proto" <"$pf" >"$tmp/$name.txt" 2>"$tmp/perr"; then
		fail "$name: protoc --decode=lpmin.Trace" "$(head -3 "$tmp/perr" | tr '\n' ' ')"
		continue
	fi
	pass "$name: protoc --decode=lpmin.Trace reads it ($(grep -c '^packet {' "$tmp/$name.txt") packets)"
	"$LP_BIN" report "$trace" --json >"$tmp/$name.report.json" 2>/dev/null
	"$LP_BIN" dump "$trace" --json >"$tmp/$name.dump.ndjson" 2>/dev/null
	# One PASS/FAIL line per assertion, printed by the checker.
	while IFS= read -r line; do
		case "$line" in
		PASS\ *) pass "$name: ${line#PASS }" ;;
		FAIL\ *) msg=${line#FAIL }; fail "$name: ${msg%%: *}" "${msg#*: }" ;;
		*) echo "$line" ;;
		esac
	done < <(python3 "$here/perfetto_check.py" "$tmp/$name.txt" "$tmp/$name.report.json" "$tmp/$name.dump.ndjson" 2>&1 || echo "FAIL checker: exited non-zero")
done

# CPU time: the fixture traces were made before exit records carried it; a
# fresh recording of a few processes does (root: record loads BPF).
if ! is_root; then
	skip "perfetto: process CPU time" "needs root to record a trace whose exit records carry cpu_ns"
elif ! "$LP_BIN" record --no-daemons -o "$tmp/cpu.lprof" -- sh -c 'for i in 1 2 3; do ls -R /usr/include >/dev/null; done' \
	>/dev/null 2>"$tmp/err"; then
	fail "perfetto: record a few processes" "$(tail -2 "$tmp/err" | tr '\n' ' ')"
elif ! "$LP_BIN" export "$tmp/cpu.lprof" -o "$tmp/cpu.perfetto-trace" 2>"$tmp/err" ||
	! protoc --proto_path="$here" --decode=lpmin.Trace "$here/perfetto_min.proto" <"$tmp/cpu.perfetto-trace" >"$tmp/cpu.txt" 2>"$tmp/err"; then
	fail "perfetto: export and decode a fresh recording" "$(tail -2 "$tmp/err" | tr '\n' ' ')"
else
	"$LP_BIN" dump "$tmp/cpu.lprof" --json >"$tmp/cpu.ndjson" 2>/dev/null
	while IFS= read -r line; do
		case "$line" in
		PASS\ *) pass "perfetto: ${line#PASS }" ;;
		FAIL\ *) msg=${line#FAIL }; fail "perfetto: ${msg%%: *}" "${msg#*: }" ;;
		*) echo "$line" ;;
		esac
	done < <(python3 "$here/perfetto_check.py" --cpu "$tmp/cpu.txt" "$tmp/cpu.ndjson" 2>&1 || echo "FAIL checker: exited non-zero")
fi
finish

#!/usr/bin/env bash
# Command-line contract: --help everywhere, distinct exit statuses, one clear
# line (never a crash, never a core dump) for every kind of bad input.
# Runs against ./layerprof and, when built, the sanitizer build, so a
# memory error on a bad input fails the suite.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/progress.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

bins=("$LP_BIN")
[ -x "$LP_ROOT/build-san/layerprof" ] && bins+=("$LP_ROOT/build-san/layerprof")
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=halt_on_error=1

# expect NAME STATUS CMD...: CMD exits with STATUS, prints at most 3 lines on
# stderr starting with "layerprof", and no sanitizer report.
expect() {
	local name=$1 want=$2 got errlines
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	errlines=$(wc -l <"$tmp/err")
	if [ "$got" != "$want" ]; then
		fail "$name" "exit $got, want $want; stderr: $(head -3 "$tmp/err" | tr '\n' ' ')"
	elif grep -qE 'Sanitizer|runtime error|core dumped' "$tmp/err"; then
		fail "$name" "sanitizer: $(grep -m1 -E 'Sanitizer|runtime error' "$tmp/err")"
	elif [ "$want" != 0 ] && { [ "$errlines" -gt 3 ] || ! head -1 "$tmp/err" | grep -q '^layerprof'; }; then
		fail "$name" "error message is not one clear line: $(head -3 "$tmp/err" | tr '\n' ' ')"
	else
		pass "$name"
	fi
}

# Inputs that are not (valid) traces.
: >"$tmp/empty.lprof"
head -c 4096 /dev/urandom >"$tmp/random.lprof"
printf 'LPROF\0\r\n\x63\0\0\0\x20\0\0\0\x01\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0' >"$tmp/newer.lprof"
printf 'LPROF\0\r\n' >"$tmp/short.lprof"
mkdir "$tmp/dir.lprof"

for bin in "${bins[@]}"; do
	tag=$(basename "$(dirname "$bin")")
	[ "$tag" = "$(basename "$LP_ROOT")" ] && tag=plain
	expect "$tag: --help" 0 "$bin" --help
	expect "$tag: --version" 0 "$bin" --version
	expect "$tag: no command" 2 "$bin"
	expect "$tag: unknown command" 2 "$bin" frobnicate
	for cmd in record report export diff dump check; do
		expect "$tag: $cmd --help" 0 "$bin" $cmd --help
		expect "$tag: $cmd bad option" 2 "$bin" $cmd --no-such-option
	done
	for cmd in report dump; do
		expect "$tag: $cmd missing file" 6 "$bin" $cmd "$tmp/nope.lprof"
		expect "$tag: $cmd empty file" 6 "$bin" $cmd "$tmp/empty.lprof"
		expect "$tag: $cmd random bytes" 6 "$bin" $cmd "$tmp/random.lprof"
		expect "$tag: $cmd newer format" 6 "$bin" $cmd "$tmp/newer.lprof"
		expect "$tag: $cmd header only" 6 "$bin" $cmd "$tmp/short.lprof"
		expect "$tag: $cmd directory" 6 "$bin" $cmd "$tmp/dir.lprof"
		expect "$tag: $cmd no file" 2 "$bin" $cmd
	done
	expect "$tag: export missing file" 6 "$bin" export "$tmp/nope.lprof" -o "$tmp/x.json"
	expect "$tag: export random bytes" 6 "$bin" export "$tmp/random.lprof" -o "$tmp/x.json"
	expect "$tag: export no output" 2 "$bin" export "$tmp/random.lprof"
	expect "$tag: diff one file" 2 "$bin" diff "$tmp/random.lprof"
	expect "$tag: diff missing file" 6 "$bin" diff "$tmp/nope.lprof" "$tmp/nope2.lprof"
	expect "$tag: report bad target" 2 "$bin" report "$tmp/random.lprof" --target build_time=banana
	# options after the operand, as the README and --help show them: the
	# trace is read (a real one), and the option applies
	expect "$tag: report FILE --json" 0 "$bin" report "$LP_ROOT/tests/data/traces/bad-order-edit.lptrace" --json
	if "$bin" report "$LP_ROOT/tests/data/traces/bad-order-edit.lptrace" --json 2>/dev/null | jq -e '.schema == "layerprof.report/1"' >/dev/null; then
		pass "$tag: report FILE --json prints the JSON report"
	else
		fail "$tag: report FILE --json prints the JSON report" "not layerprof.report/1 JSON"
	fi
	expect "$tag: report FILE --target (met)" 0 "$bin" report "$LP_ROOT/tests/data/traces/bad-order-edit.lptrace" --target build_time=10m
	"$bin" report "$LP_ROOT/tests/data/traces/bad-order-edit.lptrace" --target cache_hit_rate=100% >"$tmp/out" 2>&1
	rc=$?
	if [ "$rc" = 3 ] && grep -qiE '^ *cache_hit_rate .*\bfail\b' "$tmp/out"; then
		pass "$tag: report FILE --target (missed): exit 3 and a FAIL row"
	else
		fail "$tag: report FILE --target (missed): exit 3 and a FAIL row" "exit $rc"
	fi
	expect "$tag: record bad duration" 2 "$bin" record --duration -5
	expect "$tag: record bad ringbuf" 2 "$bin" record --ringbuf-size 1000 -- true
	expect "$tag: record bad --build-progress" 2 "$bin" record --build-progress tty -- true

	# "layerprof help CMD" is "layerprof CMD --help"
	for c in record report export diff dump check; do
		"$bin" help $c >"$tmp/h1" 2>&1
		"$bin" $c --help >"$tmp/h2" 2>&1
		if cmp -s "$tmp/h1" "$tmp/h2" && head -1 "$tmp/h1" | grep -q "usage: layerprof $c"; then
			pass "$tag: help $c = $c --help"
		else
			fail "$tag: help $c = $c --help" "$(head -1 "$tmp/h1")"
		fi
	done
	expect "$tag: help of no such command" 2 "$bin" help nope
	# stdout that cannot be written: exit 7 everywhere
	if [ -w /dev/full ]; then
		expect "$tag: check --json >/dev/full" 7 sh -c '"$0" check --json >/dev/full' "$bin"
		expect "$tag: --version >/dev/full" 7 sh -c '"$0" --version >/dev/full' "$bin"
		for c in record report export diff dump check; do
			expect "$tag: $c --help >/dev/full" 7 sh -c '"$0" "$1" --help >/dev/full' "$bin" "$c"
		done
		expect "$tag: help report >/dev/full" 7 sh -c '"$0" help report >/dev/full' "$bin"
		expect "$tag: diff >/dev/full" 7 sh -c '"$0" diff "$1" "$1" >/dev/full' "$bin" \
			"$LP_ROOT/tests/data/traces/bad-order-edit.lptrace"
		expect "$tag: report --json >/dev/full" 7 sh -c '"$0" report "$1" --json >/dev/full' "$bin" \
			"$LP_ROOT/tests/data/traces/bad-order-edit.lptrace"
		# export renames a temp file over OUT, except over a device or FIFO,
		# which it writes in place (a rename would replace /dev/full itself)
		expect "$tag: export -o /dev/full" 7 "$bin" export "$LP_ROOT/tests/data/traces/bad-order-edit.lptrace" \
			-f folded -o /dev/full
		if [ -c /dev/full ]; then
			pass "$tag: export -o /dev/full leaves the device in place"
		else
			fail "$tag: export -o /dev/full leaves the device in place" "$(ls -l /dev/full)"
			[ "$(id -u)" = 0 ] && rm -f /dev/full && mknod -m 666 /dev/full c 1 7
		fi
	else
		skip "$tag: writes to /dev/full" "no writable /dev/full"
	fi
	rm -f "$tmp/fifo.svg" && mkfifo "$tmp/fifo.svg"
	# (timeouts: a regression that renames over the FIFO must fail, not hang)
	timeout 20 sh -c 'wc -c <"$0"' "$tmp/fifo.svg" >"$tmp/fifo.count" &
	fifo_reader=$!
	timeout 20 "$bin" export "$LP_ROOT/tests/data/traces/bad-order-edit.lptrace" -o "$tmp/fifo.svg" 2>"$tmp/fifo.err"
	rc=$?
	wait "$fifo_reader"
	if [ "$rc" = 0 ] && [ -p "$tmp/fifo.svg" ] && [ "$(cat "$tmp/fifo.count" 2>/dev/null || echo 0)" -gt 1000 ]; then
		pass "$tag: export -o FIFO writes through it ($(cat "$tmp/fifo.count") bytes), the FIFO stays"
	else
		fail "$tag: export -o FIFO writes through it" "exit $rc, $(ls -l "$tmp/fifo.svg") $(cat "$tmp/fifo.err")"
	fi
	mkdir -p "$tmp/adir.svg"
	expect "$tag: export -o DIRECTORY" 7 "$bin" export "$LP_ROOT/tests/data/traces/bad-order-edit.lptrace" -o "$tmp/adir.svg"
	# tables fit $COLUMNS (the step names cut with "..."), --wide keeps all
	tr=$LP_ROOT/tests/data/traces/bad-order-edit.lptrace
	w=$(COLUMNS=100 "$bin" report "$tr" 2>/dev/null | sed -n '/^== Steps/,/^  (READ/p' | awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }')
	ww=$(COLUMNS=100 "$bin" report "$tr" --wide 2>/dev/null | sed -n '/^== Steps/,/^  (READ/p' | awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }')
	COLUMNS=100 "$bin" report "$tr" >"$tmp/narrow.txt" 2>/dev/null
	if [ "$w" -le 100 ] && [ "$w" -gt 80 ] && [ "$ww" -gt 100 ] && grep -q '\.\.\.$' "$tmp/narrow.txt"; then
		pass "$tag: report's step table fits COLUMNS=100 ($w), --wide does not ($ww)"
	else
		fail "$tag: report's step table fits COLUMNS=100, --wide does not" "widest rows: $w and $ww"
	fi
	# readers default to ./layerprof.data, like perf report
	mkdir -p "$tmp/nodata" "$tmp/data"
	cp "$LP_ROOT/tests/data/traces/bad-order-edit.lptrace" "$tmp/data/layerprof.data"
	expect "$tag: report without a file, no ./layerprof.data" 2 sh -c 'cd "$1" && "$0" report' "$bin" "$tmp/nodata"
	for c in report dump "export -o $tmp/data/out.folded"; do
		expect "$tag: $c reads ./layerprof.data" 0 sh -c "cd \"\$1\" && \"\$0\" $c" "$bin" "$tmp/data"
	done
	progress_tests "$bin" "$tag"
done

# The man page's OPTIONS has every option of every command's --help.
man_txt=$(sed 's/\\-/-/g' "$LP_ROOT/man/layerprof.1")
missing=
for c in record report export diff dump check; do
	for o in $("$LP_BIN" "$c" --help | grep -oE '^ +(-[a-z], )?--[a-z][a-z-]+' | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
		grep -qF -- ".B $o" <<<"$man_txt" || grep -qF -- ", $o" <<<"$man_txt" || missing+=" $c:$o"
	done
done
if [ -z "$missing" ] && grep -q '^\.SH OPTIONS' "$LP_ROOT/man/layerprof.1" && grep -q '^\.SH OVERHEAD' "$LP_ROOT/man/layerprof.1"; then
	pass "man page: OPTIONS has every command's options, and an OVERHEAD section"
else
	fail "man page: OPTIONS has every command's options, and an OVERHEAD section" "missing:${missing:- the sections}"
fi

# check's measured hook cost: every figure is "+N ns per X (call A -> B ns)"
# with N = B - A, or "no cost measured" when B <= A -- never a negative cost
# (a cold or busier baseline once printed "+-159 ns").
if is_root; then
	hc=$("$LP_BIN" check --json 2>/dev/null | python3 -c '
import json, re, sys
d = [c["detail"] for c in json.load(sys.stdin)["checks"] if c["name"] == "hook cost"]
if not d:
    print("no hook cost line"); sys.exit(1)
d = d[0]
costs = re.findall(r"\+(-?\d+) ns per \w+ \(\w+ (\d+) -> (\d+) ns\)", d)
nones = re.findall(r"no cost measured per \w+ \(\w+ (\d+) -> (\d+) ns", d)
bad = [c for c in costs if int(c[0]) <= 0 or abs(int(c[2]) - int(c[1]) - int(c[0])) > 1]
bad += [n for n in nones if int(n[1]) > int(n[0])]
if len(costs) + len(nones) != 3 or bad:
    print("figures: %s" % d); sys.exit(1)
' 2>&1) && pass "check: hook cost figures add up, none negative" || fail "check: hook cost figures add up, none negative" "$hc"
else
	skip "check: hook cost figures add up, none negative" "needs root to load record's programs"
fi

# check's "file I/O path" names the hooks record will use, the same as
# "syscall_attach" (it once said "one tracepoint per syscall" on a host where
# record uses tp_btf sys_enter + sys_exit).
if is_root; then
	fp=$("$LP_BIN" check --json 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
io = [c["detail"] for c in d["checks"] if c["name"] == "file I/O path"]
want = {"tp_btf": "tp_btf sys_enter + sys_exit", "raw_tp": "raw_tp sys_enter + sys_exit",
        "tp": "one tracepoint per syscall"}.get(d.get("syscall_attach"), "?")
if not io or want not in io[0]:
    print("syscall_attach %s, file I/O path: %s" % (d.get("syscall_attach"), io)); sys.exit(1)
' 2>&1) && pass "check: file I/O path names record's syscall hooks" || fail "check: file I/O path names record's syscall hooks" "$fp"
else
	skip "check: file I/O path names record's syscall hooks" "needs root to load record's programs"
fi

# Privileges: record refuses without them (one line, status 4); readers need none.
if is_root && command -v setpriv >/dev/null; then
	expect "record as nobody" 4 setpriv --reuid=65534 --regid=65534 --clear-groups "$LP_BIN" record -o "$tmp/x.lprof" -- true
	expect "check as nobody" 4 setpriv --reuid=65534 --regid=65534 --clear-groups "$LP_BIN" check
else
	skip "record as nobody" "needs root and setpriv to switch to an unprivileged user"
	skip "check as nobody" "needs root and setpriv to switch to an unprivileged user"
fi

finish

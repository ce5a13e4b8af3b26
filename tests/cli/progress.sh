# Progress on long work (src/meter.h), sourced by tests/cli/run.sh: on a
# terminal (a pty from script(1)) a progress line and a closing line on
# stderr; on a non-tty nothing. LP_METER_DELAY_MS=0 shows the line at once
# (the fixture is read in milliseconds, not the second a user waits for).
# A pty's bytes as lines: each redraw ('\r') a line, the erase (ESC [K) gone.
lines() { tr '\r' '\n' <<<"$1" | sed 's/\x1b\[K//g'; }

progress_tests() {
	local bin=$1 tag=$2 tr=$LP_ROOT/tests/data/traces/bad-order-edit.lptrace out raw size want
	if ! command -v script >/dev/null; then
		skip "$tag: progress on a tty" "no script(1) to give the command a pty"
		return
	fi
	# export on a pty: phases, then "wrote FILE (SIZE) in T"
	raw=$(LP_METER_DELAY_MS=0 script -qec "'$bin' export '$tr' -o '$tmp/p.folded'" /dev/null)
	out=$(lines "$raw")
	size=$(stat -c %s "$tmp/p.folded" 2>/dev/null || echo 0)
	# lp_fmt_bytes: decimal units, 2 decimals below 10, 1 below 100, else none
	want=$(awk -v n="$size" 'BEGIN { split("B kB MB GB", u, " "); v = n; i = 1;
		while (v >= 1000 && i < 4) { v /= 1000; i++ }
		if (i == 1) printf "%d B", n; else printf "%.*f %s", (v < 10 ? 2 : v < 100 ? 1 : 0), v, u[i] }')
	if grep -q '^layerprof: reading' <<<"$out" && grep -q '^layerprof: analysing' <<<"$out" &&
	   grep -q "^layerprof: writing $tmp/p.folded" <<<"$out" &&
	   grep -qE "^layerprof: wrote $tmp/p.folded \\($want\\) in [0-9.]+ (us|ms|s)" <<<"$out"; then
		pass "$tag: export on a tty: progress (reading, analysing, writing) and 'wrote FILE ($want)'"
	else
		fail "$tag: export on a tty: progress (reading, analysing, writing) and 'wrote FILE ($want)'" \
			"$(head -c 400 <<<"$out")"
	fi
	# the line is erased before anything else is written
	if grep -q $'\e\\[K' <<<"$raw"; then
		pass "$tag: the progress line is erased (ESC [K)"
	else
		fail "$tag: the progress line is erased (ESC [K)" "$(head -c 300 <<<"$out" | cat -v)"
	fi
	# report and dump on a pty: the same phases, and how long it took
	out=$(LP_METER_DELAY_MS=0 script -qec "'$bin' report '$tr' --json >/dev/null" /dev/null)
	out=$(lines "$out")
	check "$tag: report on a tty: progress and 'reported FILE'" \
		grep -q "^layerprof: reported $tr (" <<<"$out"
	out=$(LP_METER_DELAY_MS=0 script -qec "'$bin' dump '$tr' >/dev/null" /dev/null)
	out=$(lines "$out")
	check "$tag: dump to a file, stderr a tty: progress and 'dumped N records'" \
		grep -qE "^layerprof: dumped [0-9]+ records of $tr" <<<"$out"
	# a non-tty gets nothing but the output
	LP_METER_DELAY_MS=0 "$bin" export "$tr" -o "$tmp/q.folded" 2>"$tmp/qerr" >/dev/null
	LP_METER_DELAY_MS=0 "$bin" report "$tr" 2>>"$tmp/qerr" >/dev/null
	LP_METER_DELAY_MS=0 "$bin" dump "$tr" 2>>"$tmp/qerr" >/dev/null
	if [ ! -s "$tmp/qerr" ]; then
		pass "$tag: export, report, dump on a non-tty: nothing on stderr"
	else
		fail "$tag: export, report, dump on a non-tty: nothing on stderr" "$(head -c 200 "$tmp/qerr" | cat -v)"
	fi
	# the default delay: a short command on a tty shows no progress line
	out=$(script -qec "'$bin' report '$tr' --json >/dev/null" /dev/null)
	if ! grep -q 'reading\|reported' <<<"$out"; then
		pass "$tag: under a second on a tty: no progress line"
	else
		fail "$tag: under a second on a tty: no progress line" "$(head -c 200 <<<"$out" | cat -v)"
	fi
}

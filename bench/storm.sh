#!/usr/bin/env bash
# Memory of `layerprof record` under an event storm (not part of `make test`).
#
#   sudo bench/storm.sh [MAX_RSS_MB]
#
# Records (--no-daemons) a workload of FORKERS processes that each fork FORKS
# subshells and exec FORKS /bin/true (a fork/exec/exit storm: the recorder's
# process tables grow and shrink), while OPENERS shells open one target file
# OPENS times in total (default 100,000 opens). Meanwhile the recorder's
# VmHWM/VmRSS are sampled from /proc every 50 ms. Prints the recorder's peak
# RSS, its wall time, the trace size, the lost-event counts of the trailer
# (total, by reason, by CPU), how many of the target's opens were recorded,
# and whether every open is accounted for (recorded + lost >= opens; lost
# counts are per event of any kind, so this is a lower-bound check).
# Fails (exit 1) when the peak RSS reaches MAX_RSS_MB (default 200) or record
# fails; a loss is reported, not failed (this is a memory test; see
# bench/run.sh for throughput and loss).
#
# Environment: LP_BIN (default ./layerprof), LP_STORM_OPENS (100000),
# LP_STORM_OPENERS (4), LP_STORM_FORKERS (4), LP_STORM_FORKS (500 per forker),
# LP_STORM_RINGBUF (ring buffer size, default: record's), LP_STORM_KEEP=1.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
LP_BIN=${LP_BIN:-$PWD/layerprof}
MAX_MB=${1:-${LP_STORM_MAX_RSS_MB:-200}}
OPENS=${LP_STORM_OPENS:-100000}
OPENERS=${LP_STORM_OPENERS:-4}
FORKERS=${LP_STORM_FORKERS:-4}
FORKS=${LP_STORM_FORKS:-500}

say() { printf 'storm: %s\n' "$*"; }
[ "$(id -u)" = 0 ] || { say "needs root (record loads BPF programs)"; exit 2; }
[ -x "$LP_BIN" ] || { say "$LP_BIN is not built (make)"; exit 2; }
command -v python3 >/dev/null || { say "needs python3 (to read the trailer)"; exit 2; }

tmp=$(mktemp -d /tmp/lp-storm.XXXXXX)
trap '[ "${LP_STORM_KEEP:-0}" = 1 ] && echo "kept $tmp" || rm -rf "$tmp"' EXIT
target=$tmp/storm-target
echo x >"$target"
per=$((OPENS / OPENERS))
OPENS=$((per * OPENERS))

# The workload: plain sh, so that the numbers are what the kernel sees.
cat >"$tmp/workload.sh" <<'EOF'
target=$1 per=$2 openers=$3 forkers=$4 forks=$5
i=0
while [ $i -lt "$forkers" ]; do
	(j=0; while [ $j -lt "$forks" ]; do (:); /bin/true; j=$((j + 1)); done) &
	i=$((i + 1))
done
i=0
while [ $i -lt "$openers" ]; do
	(j=0; while [ $j -lt "$per" ]; do : <"$target"; j=$((j + 1)); done) &
	i=$((i + 1))
done
wait
EOF

ringbuf=()
[ -n "${LP_STORM_RINGBUF:-}" ] && ringbuf=(--ringbuf-size "$LP_STORM_RINGBUF")
say "recording $FORKERS x $FORKS forks+execs and $OPENS opens ($OPENERS openers) of $target"
start=$(date +%s.%N)
"$LP_BIN" record --no-daemons "${ringbuf[@]}" -o "$tmp/storm.lprof" -- \
	sh "$tmp/workload.sh" "$target" "$per" "$OPENERS" "$FORKERS" "$FORKS" \
	>"$tmp/record.out" 2>"$tmp/record.err" &
pid=$!
peak_kb=0 rss_kb=0 samples=0
while kill -0 "$pid" 2>/dev/null; do
	if read -r hwm rss < <(awk '/^VmHWM:/ { h = $2 } /^VmRSS:/ { r = $2 } END { print h + 0, r + 0 }' "/proc/$pid/status" 2>/dev/null); then
		((hwm > peak_kb)) && peak_kb=$hwm
		((rss > rss_kb)) && rss_kb=$rss
		samples=$((samples + 1))
	fi
	sleep 0.05
done
wait "$pid"
rc=$?
end=$(date +%s.%N)
wall=$(echo "$end - $start" | bc 2>/dev/null || python3 -c "print(round($end - $start, 1))")

if [ "$rc" != 0 ]; then
	say "FAIL: record exited with $rc: $(head -3 "$tmp/record.err")"
	exit 1
fi
tail -2 "$tmp/record.err" | sed 's/^/  /'

"$LP_BIN" dump --json "$tmp/storm.lprof" >"$tmp/dump.json" 2>/dev/null
python3 - "$tmp/dump.json" "$target" "$OPENS" "$peak_kb" "$rss_kb" "$samples" "$wall" \
	"$(stat -c %s "$tmp/storm.lprof")" "$MAX_MB" <<'EOF'
import json, sys
path, target, opens, peak_kb, rss_kb, samples, wall, size, max_mb = sys.argv[1:]
opens, peak_kb, rss_kb, max_mb = int(opens), int(peak_kb), int(rss_kb), int(max_mb)
trailer, recorded, forks, execs, exits = None, 0, 0, 0, 0
with open(path) as f:
    for line in f:
        if '"kind":"syscall"' in line and target in line and '"syscall":"openat"' in line:
            recorded += 1
        elif line.startswith('{"kind":"fork"'):
            forks += 1
        elif line.startswith('{"kind":"exec"'):
            execs += 1
        elif line.startswith('{"kind":"exit"'):
            exits += 1
        elif line.startswith('{"kind":"trailer"'):
            trailer = json.loads(line).get("trailer")
lost = (trailer or {}).get("lost", {})
total = lost.get("total", 0)
print(f"  record wall time     {float(wall):.1f} s, trace {int(size) / 1e6:.1f} MB")
print(f"  peak RSS (VmHWM)     {peak_kb / 1024:.1f} MiB  (max VmRSS sampled {rss_kb / 1024:.1f} MiB, {samples} samples)")
if trailer:
    print(f"  events               {trailer.get('events')} recorded, writer stalls {trailer.get('writer', {}).get('stalls')}")
    print(f"  lost (trailer)       total {total}; by reason {json.dumps(lost.get('by_reason'))}; by CPU {lost.get('by_cpu')}")
else:
    print("  lost (trailer)       no trailer in the trace!")
print(f"  process events       {forks} forks, {execs} execs, {exits} exits")
print(f"  target opens         {recorded} of {opens} recorded"
      + ("" if recorded == opens else f" ({opens - recorded} missing, {total} events counted lost: "
         + ("accounted for)" if recorded + total >= opens else "NOT accounted for)")))
ok = peak_kb < max_mb * 1024 and trailer is not None
print(("PASS" if ok else "FAIL") + f" storm: peak RSS {peak_kb / 1024:.1f} MiB (limit {max_mb} MiB)")
sys.exit(0 if ok else 1)
EOF

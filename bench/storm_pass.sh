#!/usr/bin/env bash
# The syscall storm of bench section 9: PASSES x (cp -r /usr/include into
# DIR, cat every file, rm -rf). Writes "wall_s cpu_s" to TIMEFILE: its own
# elapsed time and its processes' user+system CPU time (where in-kernel
# probe cost lands), so that a tracer's start and stop are not counted.
#
#   storm_pass.sh DIR TIMEFILE [PASSES]
set -eu
dir=$1 timefile=$2 passes=${3:-1}
t0=$(date +%s%N)
for ((p = 0; p < passes; p++)); do
	cp -r /usr/include "$dir/inc"
	find "$dir/inc" -type f -exec cat {} + >/dev/null
	rm -rf "$dir/inc"
done
t1=$(date +%s%N)
# `times`: this shell's then its children's user and system time (XmY.YYYs)
times >"$timefile.times" # not in a pipe: a subshell has no children
cpu=$(tail -1 "$timefile.times" | awk '{ s = 0; for (i = 1; i <= 2; i++) { split($i, a, "m"); s += a[1] * 60 + a[2] } printf "%.4f", s }')
rm -f "$timefile.times"
awk -v a="$t0" -v b="$t1" -v c="$cpu" 'BEGIN { printf "%.4f %s\n", (b - a) / 1e9, c }' >"$timefile"

#!/usr/bin/env bash
# Checks of what the compiler made of the sources (the plain build, build/obj):
#
# - every source file that asks for a prefetch has prefetch instructions in its
#   object. GCC takes a function made of nothing but __builtin_prefetch for
#   const and drops every call to it: pass 2's prefetches were compiled out
#   that way, silently, until 0.3.0 (model_pass2.o had none of its 4).
# - ./layerprof does not link libcurl: it is opened when --otlp-endpoint
#   sends (src/otlp_http.c). Linked, its ~30 libraries cost every command
#   ~6 ms of dynamic loading, before record's start (bench section 7).
#
# Needs objdump (binutils, which gcc depends on).
set -uo pipefail
cd "$(dirname "$0")/../.."
pass=0 fail=0 skip=0
ok() { echo "PASS $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
if ! command -v objdump >/dev/null; then
	echo "SKIP build checks: no objdump (apt-get install binutils)"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi
for src in src/*.c; do
	want=$(grep -c '__builtin_prefetch' "$src")
	[ "$want" -gt 0 ] || continue
	obj=build/obj/$(basename "$src" .c).o
	if [ ! -f "$obj" ]; then
		bad "$src prefetches, but $obj is not built (make first)"
		continue
	fi
	got=$(objdump -d --no-show-raw-insn "$obj" | grep -cE '\sprefetch')
	if [ "$got" -gt 0 ]; then
		ok "$src: $want prefetch(es) asked for, $got instruction(s) in $obj"
	else
		bad "$src: $want prefetch(es) asked for, none in $obj (a helper of nothing but prefetches, dropped as const? inline it always)"
	fi
done
if [ ! -x layerprof ]; then
	bad "./layerprof is not built (make first)"
elif needed=$(objdump -p layerprof | awk '$1 == "NEEDED" { print $2 }') && [ -n "$needed" ]; then
	if grep -q '^libcurl' <<<"$needed"; then
		bad "./layerprof links $(grep '^libcurl' <<<"$needed"): open it with dlopen (src/otlp_http.c)"
	else
		ok "./layerprof links $(wc -l <<<"$needed") libraries, not libcurl: $(tr '\n' ' ' <<<"$needed")"
	fi
else
	bad "objdump -p layerprof lists no NEEDED library"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]

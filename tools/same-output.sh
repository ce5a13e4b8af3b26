#!/usr/bin/env bash
# Check that a change to the model or the reader left every result as it was:
# `report --json` (and `dump`, and exports) of each cached recording, and of
# any trace given with --trace, by two binaries, compared byte for byte.
#
#   tools/same-output.sh OLD_BINARY NEW_BINARY [--trace FILE]... [--dump]
#                        [--export FORMAT]...
#   tools/same-output.sh --help
#
# --export FORMAT: also `export -f FORMAT -o -` (chrome, perfetto, folded,
# svg, speedscope, otlp, prom, html); --export all: each of them.
#
# The recordings are those under /var/cache/layerprof/{recordings,
# realworld-recordings,lead-rw} (whichever exist). Prints SAME/DIFF per
# file and a count; exits 1 when one differs (or when a binary's exit
# status differs), 2 on a bad command line.
set -u

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }
case "${1:-}" in -h|--help) usage; exit 0 ;; esac
[ $# -ge 2 ] || { echo "same-output.sh: two binaries, please (--help)" >&2; exit 2; }
old=$1 new=$2
shift 2
traces=() dump=0 exports=()
while [ $# -gt 0 ]; do
	case "$1" in
	--trace) [ $# -ge 2 ] || { echo "same-output.sh: --trace needs a file" >&2; exit 2; }
		traces+=("$2"); shift 2 ;;
	--dump) dump=1; shift ;;
	--export) [ $# -ge 2 ] || { echo "same-output.sh: --export needs a format" >&2; exit 2; }
		if [ "$2" = all ]; then exports+=(chrome perfetto folded svg speedscope otlp prom html)
		else exports+=("$2"); fi
		shift 2 ;;
	*) echo "same-output.sh: unknown argument '$1' (--help)" >&2; exit 2 ;;
	esac
done
for b in "$old" "$new"; do
	[ -x "$b" ] || { echo "same-output.sh: $b is not an executable" >&2; exit 2; }
done

files=()
for d in /var/cache/layerprof/recordings /var/cache/layerprof/realworld-recordings /var/cache/layerprof/lead-rw; do
	[ -d "$d" ] && while IFS= read -r f; do files+=("$f"); done < <(find "$d" -name '*.lprof' | sort)
done
files+=("${traces[@]}")
[ ${#files[@]} -gt 0 ] || { echo "same-output.sh: no recording found" >&2; exit 2; }

cmds=("report --json")
[ $dump = 1 ] && cmds+=("dump")
for x in "${exports[@]}"; do cmds+=("export -f $x -o -"); done
same=0 diff=0
errs=$(mktemp)
trap 'rm -f "$errs"' EXIT
for f in "${files[@]}"; do
	for c in "${cmds[@]}"; do
		# the trace right after the command's name (export FILE -o -)
		read -r cmd opts <<<"$c"
		# stdout and stderr apart: where a warning falls among the bytes of
		# an output written by a thread of its own is not for comparing
		# shellcheck disable=SC2086 # $opts are the command's options
		a=$("$old" $cmd "$f" $opts 2>"$errs" | sha256sum; echo "status ${PIPESTATUS[0]}"; sha256sum <"$errs")
		# shellcheck disable=SC2086
		b=$("$new" $cmd "$f" $opts 2>"$errs" | sha256sum; echo "status ${PIPESTATUS[0]}"; sha256sum <"$errs")
		if [ "$a" = "$b" ]; then
			same=$((same + 1))
		else
			diff=$((diff + 1))
			echo "DIFF $c $f"
		fi
	done
done
echo "$same same, $diff different"
[ $diff = 0 ]

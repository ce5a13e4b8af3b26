#!/usr/bin/env bash
# Reliability and security (docs/architecture.md, "Trace format" and "Tests"): layerprof runs as
# root on shared build hosts and reads files other people send.
#
#   fuzz      the libFuzzer harnesses (fuzz/run.sh, ASan + UBSan) for
#             LP_FUZZ_SECONDS (default 20) each, after replaying their seeds and
#             the regression inputs of tests/data/regress/; the regression traces
#             also go through the sanitizer build's dump and report
#   crash     SIGKILL the recorder in the middle of a busy recording (and of a real
#             docker build on a private dockerd): dump and report read every
#             complete block and say the trace was truncated; same for a file cut
#             in the middle of a block
#   full disk record onto a 64 KiB tmpfs: one clear error line, exit 7, the file
#             still reads
#   clean exit after a normal end, SIGINT, SIGTERM, a failing and a killed command:
#             no BPF program, link or map of the recorder is left, the command was
#             reaped, the trailer is there; tracefs is unmounted again when record
#             had to mount it (checked in a private mount namespace)
#   privileges record as nobody refuses (one line, exit 4); report/dump work as nobody;
#             the command runs as SUDO_UID, --user overrides; the trace is 0600
#             even with umask 000; a symlink or hard link at the output path is
#             never written through
#   secrets   --build-arg TOKEN=... is not in the trace bytes (blocks inflated) by
#             default, is with --no-redact; the command's environment never is
#   resilience a process named by --comm that starts after record began is traced;
#             a private dockerd restarted during a recording is traced again
#
# Root-only parts skip with a reason when not root; docker parts skip without
# docker.io. The groups run at the same time (loading/unloading the BPF
# programs takes seconds, CPU little). Total well under 4 minutes.
# Environment: LP_BIN (default ./layerprof), LP_SAN_BIN (default
# build-san/layerprof), LP_FUZZ_SECONDS (20; 0 skips the
# fuzzing, not the replay), LP_REL_KEEP=1 keeps the temporary directory.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
cd "$LP_ROOT" || exit 1

FUZZ_SECONDS=${LP_FUZZ_SECONDS:-20}
DOCKER=/usr/bin/docker
tmp=$(mktemp -d /tmp/lp-rel.XXXXXX)
chmod 755 "$tmp" # nobody must reach the world-readable trace in it
RES=$tmp/res
mkdir -p "$RES"
bg=()
dockerd_dir=
mounts=()

# A process and its descendants (by pid, from ps), children first.
tree() {
	local c
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do tree "$c"; done
	echo "$1"
}

cleanup() {
	local p m
	# interrupted: stop what the groups started (recorders, workloads)
	for p in "${bg[@]}"; do
		# shellcheck disable=SC2046
		kill -KILL $(tree "$p") 2>/dev/null
	done
	wait 2>/dev/null
	for m in "${mounts[@]}"; do umount "$m" 2>/dev/null; done
	if [ -n "$dockerd_dir" ]; then tools/dockerd-private.sh stop "$dockerd_dir" >/dev/null 2>&1; fi
	if [ "${LP_REL_KEEP:-0}" = 1 ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

# Results of the groups running in the background: one file per group,
# lines "PASS name", "FAIL name: why", "SKIP name: why"; replayed in order
# through lib.sh at the end.
r_pass() { printf 'PASS %s\n' "$1" >>"$RES/$G"; }
r_fail() { printf 'FAIL %s: %s\n' "$1" "$(printf '%s' "${2:-}" | tr '\n' ' ' | cut -c1-400)" >>"$RES/$G"; }
r_skip() { printf 'SKIP %s: %s\n' "$1" "${2:-}" >>"$RES/$G"; }
r_check() { # r_check NAME CMD...: pass when CMD succeeds
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then r_pass "$name"; else r_fail "$name" "$(printf '%s' "$out" | tail -3)"; fi
}

alive() { # a live, non-zombie process
	[ -n "${1:-}" ] && [ -e "/proc/$1" ] || return 1
	local st
	st=$(awk '{ sub(/^[0-9]+ \(.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

wait_for() { # wait_for SECONDS TEST...: poll every 0.1 s
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# BPF objects (prog:N map:N link:N) held by a process, from its fdinfo.
bpf_ids() {
	cat /proc/"$1"/fdinfo/* 2>/dev/null | awk '
		/^link_id:/ { print "link:" $2; skip = 1 }
		/^prog_id:/ { print "prog:" $2 }
		/^map_id:/ { print "map:" $2 }' | sort -u
}
# Which of these ids still exist (after freeing settles, up to 10 s).
bpf_left() {
	local i id kind left
	for ((i = 0; i < 20; i++)); do
		left=
		for id in "$@"; do
			kind=${id%%:*}
			bpftool "$kind" show id "${id#*:}" >/dev/null 2>&1 && left+="$id "
		done
		[ -z "$left" ] && return 0
		sleep 0.5
	done
	echo "$left"
	return 1
}

# Exit status and stderr of `record`, run with a time limit.
# rec NAME ARGS... -> $tmp/NAME.rc, $tmp/NAME.err, $tmp/NAME.out
rec() {
	local name=$1
	shift
	timeout -k 5 120 "$LP_BIN" record "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
	echo $? >"$tmp/$name.rc"
}

# The "layerprof:" lines a command printed on stderr.
lp_lines() { grep -c '^layerprof' "$1"; }

have_trailer() { "$LP_BIN" dump --json "$1" 2>/dev/null | grep -c '"kind":"status".*"has_trailer":true' >/dev/null; }

BLOCKS=$tmp/lprof_blocks
# Every good block's payload, decompressed (exit status ignored: a cut file
# is fine here).
inflated() { "$BLOCKS" inflate "$1" || true; }
build_tools() {
	cc -O2 -Wall -Iinclude -Isrc -o "$BLOCKS" tests/reliability/lprof_blocks.c \
		"$LP_ROOT/build/liblayerprof.a" -lz -ldeflate -lbpf -lelf -lcjson -lcurl -lpthread -lm
}

# =================================================================== fuzz
group_fuzz() {
	G=fuzz
	if ! command -v clang >/dev/null || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
		r_skip "fuzz" "needs clang with libFuzzer (apt-get install clang libfuzzer-14-dev libclang-rt-14-dev)"
		return
	fi
	local line
	# fuzz/run.sh prints "PASS ..." / "FAIL ..." lines; keep them
	fuzz/run.sh --replay >"$tmp/fuzz-replay.log" 2>&1
	local st=$?
	if [ "$st" = 3 ]; then
		r_fail "fuzz build" "$(tail -5 "$tmp/fuzz-replay.log")"
		return
	fi
	grep -E '^(PASS|FAIL) ' "$tmp/fuzz-replay.log" >>"$RES/$G"
	# the regression traces (and the seeds) through the real CLI, the
	# sanitizer build when there is one: no sanitizer report, exit 0 or 6,
	# and no control character (terminal escape) in what it prints
	local san=${LP_SAN_BIN:-$LP_ROOT/build-san/layerprof} bin f rc tag cmd bad
	if [ -x "$san" ]; then
		bin=$san tag="sanitized CLI"
	else
		bin=$LP_BIN tag="CLI"
		r_skip "sanitized CLI on regression traces" "no build-san/layerprof (make SAN=1 BUILD=build-san); using $LP_BIN"
	fi
	for f in tests/data/regress/trace_reader/* fuzz/corpus/trace_reader/*; do
		[ -f "$f" ] || continue
		bad=
		for cmd in "dump" "dump --json" "report" "report --json"; do
			# shellcheck disable=SC2086
			ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 \
				timeout 60 "$bin" $cmd "$f" >"$tmp/cli.out" 2>"$tmp/cli.err"
			rc=$?
			if grep -qE 'Sanitizer|runtime error' "$tmp/cli.err" || { [ "$rc" != 0 ] && [ "$rc" != 6 ]; }; then
				bad="$cmd: exit $rc: $(grep -m3 -E 'ERROR|runtime error|#[0-9] ' "$tmp/cli.err")"
				break
			fi
			if [ "$(tr -d '\n\t' <"$tmp/cli.out" | LC_ALL=C tr -dc '\000-\037\177' | wc -c)" != 0 ]; then
				bad="$cmd prints control characters: $(LC_ALL=C grep -a -m1 -n '[[:cntrl:]]' "$tmp/cli.out" | cat -v | cut -c1-120)"
				break
			fi
		done
		if [ -z "$bad" ]; then r_pass "$tag: dump/report $(basename "$f")"; else r_fail "$tag: $(basename "$f")" "$bad"; fi
	done
	if [ "$FUZZ_SECONDS" = 0 ]; then
		r_skip "fuzz" "LP_FUZZ_SECONDS=0"
		return
	fi
	# from the seeds (a fresh corpus: the same start every time, nothing left
	# in the tree)
	FUZZ_WORK=$tmp/fuzz-work fuzz/run.sh "$FUZZ_SECONDS" >"$tmp/fuzz-run.log" 2>&1
	grep -E '^(PASS|FAIL) ' "$tmp/fuzz-run.log" >>"$RES/$G"
	grep -E '^fuzz: crash input' "$tmp/fuzz-run.log" | sed 's/^/    /' >"$tmp/fuzz-crashes.txt"
}

# ================================================================== crash
group_crash() {
	G=crash
	local f=$tmp/killed.lprof pid i sz
	# its own session, so the workload can be killed with it afterwards
	setsid "$LP_BIN" record --no-daemons -o "$f" -- \
		sh -c 'while :; do ls / >/dev/null; cat /etc/hostname >/dev/null; done' \
		>"$tmp/killed.out" 2>"$tmp/killed.err" &
	pid=$!
	# a few blocks on disk (one per second or per 1 MiB of records)
	wait_for 60 sh -c "[ \$(stat -c %s '$f' 2>/dev/null || echo 0) -gt 100000 ]"
	sleep 1.2
	local ids
	ids=$(bpf_ids "$pid")
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	kill -KILL -- "-$pid" 2>/dev/null # the orphaned workload
	sz=$(stat -c %s "$f" 2>/dev/null || echo 0)
	if [ "$sz" -le 100000 ]; then
		r_fail "SIGKILL mid-recording" "the trace has only $sz bytes"
		return
	fi
	check_truncated "SIGKILL mid-recording" "$f" "did not finish|no trailer|truncated"
	# shellcheck disable=SC2086
	if left=$(bpf_left $ids); then
		r_pass "SIGKILL mid-recording: the kernel freed every BPF object ($(echo $ids | wc -w))"
	else
		r_fail "SIGKILL mid-recording: BPF objects left" "$left"
	fi

	# the same file cut in the middle of its last block (a crash mid-write)
	local good last
	good=$("$BLOCKS" list "$f" | grep -c ' ok$')
	last=$("$BLOCKS" list "$f" | awk '/ ok$/ { off = $1 } END { print off }')
	head -c "$((last + 30))" "$f" >"$tmp/cut.lprof"
	check_truncated "cut mid-block" "$tmp/cut.lprof" "truncated at byte $last"
	local blocks
	blocks=$("$LP_BIN" dump --json "$tmp/cut.lprof" 2>/dev/null | sed -nE 's/.*"kind":"status","blocks":([0-9]+).*/\1/p')
	if [ "$blocks" = "$((good - 1))" ]; then
		r_pass "cut mid-block: every complete block read ($blocks)"
	else
		r_fail "cut mid-block: complete blocks" "read ${blocks:-?}, want $((good - 1))"
	fi
	# a flipped byte inside a block: stops there, says so
	cp "$f" "$tmp/flip.lprof"
	printf '\xff' | dd of="$tmp/flip.lprof" bs=1 seek="$((last + 40))" conv=notrunc status=none
	check_truncated "corrupt block" "$tmp/flip.lprof" "checksum mismatch|bad block"
}

# check_truncated NAME FILE REGEX: dump exits 0 with a warning matching REGEX
# and prints the records of the good blocks; report exits 0 and warns.
check_truncated() {
	local name=$1 f=$2 re=$3 rc n
	local o=$tmp/t.$G # groups run at the same time: files of their own
	"$LP_BIN" dump "$f" >"$o.out" 2>"$o.err"
	rc=$?
	n=$(grep -cvE '^#' "$o.out")
	if [ "$rc" = 0 ] && grep -qiE "$re" "$o.err" && [ "$n" -gt 100 ] && [ "$(lp_lines "$o.err")" -le 2 ]; then
		r_pass "$name: dump reads $n records, warns: $(head -1 "$o.err" | cut -c1-150)"
	else
		r_fail "$name: dump" "exit $rc, $n records, stderr: $(head -2 "$o.err")"
	fi
	"$LP_BIN" report "$f" >"$o.out" 2>"$o.err"
	rc=$?
	if [ "$rc" = 0 ] && grep -qi 'truncated' "$o.err" "$o.out"; then
		r_pass "$name: report works and warns"
	else
		r_fail "$name: report" "exit $rc, stderr: $(head -2 "$o.err")"
	fi
	"$LP_BIN" report --json "$f" >"$o.json" 2>/dev/null
	rc=$?
	if [ "$rc" = 0 ] && python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$o.json" 2>/dev/null; then
		r_pass "$name: report --json is valid JSON"
	else
		r_fail "$name: report --json" "exit $rc: $(head -c 200 "$o.json")"
	fi
}

# ============================================================== full disk
group_fulldisk() {
	G=fulldisk
	local d=$tmp/small
	mkdir -p "$d"
	if ! mount -t tmpfs -o size=64k tmpfs "$d"; then
		r_skip "full disk" "cannot mount a tmpfs"
		return
	fi
	echo "$d" >"$tmp/mount.fulldisk"
	# about 100k events: several MiB of records, ~170 KiB packed: far more than 64 KiB
	rec full --no-daemons -o "$d/full.lprof" -- \
		sh -c 'i=0; while [ $i -lt 25000 ]; do : </etc/hostname; i=$((i + 1)); done'
	local rc
	rc=$(cat "$tmp/full.rc")
	if [ "$rc" = 7 ] && [ "$(wc -l <"$tmp/full.err")" = 1 ] &&
		grep -qE '^layerprof: .*(No space left|disk is full)' "$tmp/full.err"; then
		r_pass "full disk: exit 7 and one line: $(cut -c1-160 "$tmp/full.err")"
	else
		r_fail "full disk: exit 7 and one clear line" "exit $rc; stderr: $(head -3 "$tmp/full.err")"
	fi
	cp "$d/full.lprof" "$tmp/full.lprof" 2>/dev/null
	umount "$d"
	check_truncated "full disk" "$tmp/full.lprof" "did not finish|no trailer|truncated"
}

# ============================================================= clean exit
# clean_run NAME SIGNAL WANT_RC SCRIPT: record SCRIPT (the marker file is
# written when it starts), send SIGNAL (or "none") to the recorder (or
# "group" to its process group, like a terminal's Ctrl-C), check the exit
# status, the trailer, the BPF objects and that the command is gone.
clean_run() {
	local name=$1 sig=$2 want=$3 script=$4 pid ids cpid rc left
	local mark=$tmp/$name.started
	setsid "$LP_BIN" record --no-daemons -o "$tmp/$name.lprof" -- \
		sh -c "echo \$\$ >'$mark'; $script" >"$tmp/$name.out" 2>"$tmp/$name.err" &
	pid=$!
	if ! wait_for 60 test -s "$mark"; then
		r_fail "$name: the command never started" "$(head -3 "$tmp/$name.err")"
		kill -KILL "$pid" 2>/dev/null
		return
	fi
	cpid=$(cat "$mark")
	ids=$(bpf_ids "$pid")
	case "$sig" in
	none) ;;
	group:*) sleep 0.3; kill "-${sig#group:}" -- "-$pid" ;;
	*) sleep 0.3; kill "-$sig" "$pid" ;;
	esac
	wait "$pid"
	rc=$?
	if [ "$rc" = "$want" ]; then r_pass "$name: exit status $rc"; else r_fail "$name: exit status" "$rc, want $want; $(head -2 "$tmp/$name.err")"; fi
	# shellcheck disable=SC2086
	if [ "$(echo "$ids" | grep -c '^prog:')" -lt 3 ]; then
		r_fail "$name: BPF objects" "could not see the recorder's BPF programs in /proc/$pid/fdinfo"
	elif left=$(bpf_left $ids); then
		r_pass "$name: none of its $(echo $ids | wc -w) BPF programs/maps/links is left"
	else
		r_fail "$name: BPF objects left after exit" "$left"
	fi
	if alive "$cpid"; then
		r_fail "$name: the command is still running" "pid $cpid"
		kill -KILL "$cpid" 2>/dev/null
	else
		r_pass "$name: the command was reaped"
	fi
	if have_trailer "$tmp/$name.lprof"; then r_pass "$name: the trace is complete (trailer)"; else r_fail "$name: no trailer" "$("$LP_BIN" dump "$tmp/$name.lprof" 2>&1 | tail -1)"; fi
}

group_clean() {
	G=clean
	clean_run normal none 0 'sleep 0.5' &
	local a=$!
	clean_run cmd-fails none 3 'sleep 0.5; exit 3' &
	local b=$!
	clean_run cmd-killed none 137 'sleep 0.5; kill -KILL $$' &
	local c=$!
	clean_run sigint INT 130 'exec sleep 30' &
	local d=$!
	clean_run sigterm TERM 143 'exec sleep 30' &
	local e=$!
	clean_run ctrl-c group:INT 130 'exec sleep 30' &
	local f=$!
	wait $a $b $c $d $e $f

	# tracefs: mounted by record when absent, unmounted again after
	if ! command -v unshare >/dev/null; then
		r_skip "tracefs left as found" "needs unshare (util-linux)"
		return
	fi
	# shellcheck disable=SC2016
	local script='
		if [ "$3" = unmount ]; then
			umount /sys/kernel/debug/tracing 2>/dev/null
			umount /sys/kernel/tracing 2>/dev/null
		elif ! grep -q " - tracefs " /proc/self/mountinfo; then
			# the precondition of the "mounted before" case is ours
			# to set up: the host may have no tracefs mounted (a
			# fresh machine), this namespace gets one
			mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
		fi
		before=$(grep -c " - tracefs " /proc/self/mountinfo)
		"$1" record --no-daemons -o "$2" -- true >/dev/null 2>"$2.err"
		rc=$?
		after=$(grep -c " - tracefs " /proc/self/mountinfo)
		echo "$before $after $rc"'
	unshare -m --propagation private bash -c "$script" _ "$LP_BIN" "$tmp/tracefs.lprof" unmount >"$tmp/tracefs.res" 2>&1 &
	local j1=$!
	unshare -m --propagation private bash -c "$script" _ "$LP_BIN" "$tmp/tracefs2.lprof" keep >"$tmp/tracefs2.res" 2>&1 &
	local j2=$!
	wait $j1 $j2
	local before after rc
	read -r before after rc <"$tmp/tracefs2.res"
	if [ "${before:-0}" -gt 0 ] && [ "$after" = "$before" ] && [ "$rc" = 0 ]; then
		r_pass "tracefs left as found: mounted before, still mounted after"
	else
		r_fail "tracefs left as found (mounted before)" "$(cat "$tmp/tracefs2.res")"
	fi
	read -r before after rc <"$tmp/tracefs.res"
	if [ "$before" != 0 ]; then
		r_skip "tracefs left as found" "could not unmount tracefs in a private mount namespace"
	elif [ "$rc" != 0 ]; then
		r_fail "tracefs left as found" "record failed without tracefs mounted (exit $rc): $(head -2 "$tmp/tracefs.lprof.err")"
	elif [ "$after" = 0 ]; then
		r_pass "tracefs left as found: record mounted it and unmounted it again"
	else
		r_fail "tracefs left as found" "tracefs was not mounted before record and is mounted after it ($after mounts)"
	fi
}

# ============================================================= privileges
group_priv() {
	G=priv
	local p=$tmp/priv w=$tmp/priv/w
	mkdir -p "$w"
	chmod 755 "$p"
	chmod 1777 "$w"
	if ! command -v setpriv >/dev/null; then
		r_skip "privileges" "needs setpriv (util-linux)"
		return
	fi
	local nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	# record as nobody: one line, exit 4, nothing created
	(cd "$w" && "${nobody[@]}" "$LP_BIN" record -o "$w/nobody.lprof" -- true >"$tmp/nobody.out" 2>"$tmp/nobody.err")
	local rc=$?
	if [ "$rc" = 4 ] && [ "$(wc -l <"$tmp/nobody.err")" = 1 ] && grep -q '^layerprof' "$tmp/nobody.err" && [ ! -e "$w/nobody.lprof" ]; then
		r_pass "record as nobody: exit 4, one line: $(cut -c1-120 "$tmp/nobody.err")"
	else
		r_fail "record as nobody" "exit $rc, file $([ -e "$w/nobody.lprof" ] && echo created || echo absent), stderr: $(head -3 "$tmp/nobody.err")"
	fi
	# report/dump of a world-readable trace as nobody
	local t=$p/readable.lprof
	rec readable --no-daemons -o "$t" -- sh -c 'cat /etc/hostname >/dev/null'
	chmod 644 "$t"
	r_check "dump as nobody" "${nobody[@]}" "$LP_BIN" dump "$t"
	r_check "report as nobody" "${nobody[@]}" "$LP_BIN" report "$t"
	r_check "report --json as nobody" "${nobody[@]}" "$LP_BIN" report --json "$t"

	# the command runs as the sudo caller; --user overrides; 0600 with umask 000
	(umask 000 && SUDO_UID=65534 SUDO_GID=65534 rec sudo --no-daemons -o "$p/sudo.lprof" -- sh -c "id -u >'$w/sudo.uid'; id -g >>'$w/sudo.uid'") &
	local j1=$!
	(umask 000 && SUDO_UID=65534 SUDO_GID=65534 rec sudo-user --no-daemons --user 1 -o "$p/user.lprof" -- sh -c "id -u >'$w/user.uid'") &
	local j2=$!
	(umask 000 && SUDO_UID=65534 SUDO_GID=65534 rec sudo-root --no-daemons --user root -o "$p/root.lprof" -- sh -c "id -u >'$w/root.uid'") &
	local j3=$!
	# never through a link: a symlink to an existing file, a dangling symlink,
	# a hard link to someone's file
	echo "precious" >"$p/victim"
	cp "$p/victim" "$p/victim.orig"
	ln -s "$p/victim" "$p/symlink.lprof"
	ln -s "$p/dangling-target" "$p/dangling.lprof"
	ln "$p/victim" "$p/hardlink.lprof"
	rec symlink --no-daemons -o "$p/symlink.lprof" -- true &
	local j4=$!
	rec dangling --no-daemons -o "$p/dangling.lprof" -- true &
	local j5=$!
	wait $j1 $j2 $j3 $j4 $j5
	rec hardlink --no-daemons -o "$p/hardlink.lprof" -- true

	local want
	want=$(printf '65534\n65534')
	if [ "$(cat "$tmp/sudo.rc")" = 0 ] && [ "$(cat "$w/sudo.uid" 2>/dev/null)" = "$want" ]; then
		r_pass "SUDO_UID=65534: the command ran as uid/gid 65534"
	else
		r_fail "SUDO_UID=65534: the command's uid" "exit $(cat "$tmp/sudo.rc"), id: $(cat "$w/sudo.uid" 2>/dev/null | tr '\n' ' '); $(head -2 "$tmp/sudo.err")"
	fi
	if [ "$(cat "$w/user.uid" 2>/dev/null)" = 1 ]; then r_pass "--user 1 overrides SUDO_UID"; else r_fail "--user 1 overrides SUDO_UID" "uid $(cat "$w/user.uid" 2>/dev/null); $(head -2 "$tmp/sudo-user.err")"; fi
	if [ "$(cat "$w/root.uid" 2>/dev/null)" = 0 ]; then r_pass "--user root overrides SUDO_UID"; else r_fail "--user root overrides SUDO_UID" "uid $(cat "$w/root.uid" 2>/dev/null); $(head -2 "$tmp/sudo-root.err")"; fi
	local f mode
	for f in "$p/sudo.lprof" "$p/user.lprof" "$p/root.lprof"; do
		mode=$(stat -c '%a' "$f" 2>/dev/null)
		if [ "$mode" = 600 ]; then
			r_pass "umask 000: $(basename "$f") is created 0600"
		else
			r_fail "umask 000: $(basename "$f") mode" "${mode:-missing}, want 0600"
		fi
	done
	# handed to the sudo caller, so that report works without sudo
	mode=$(stat -c '%u:%g' "$p/sudo.lprof" 2>/dev/null)
	if [ "$mode" = 65534:65534 ]; then r_pass "SUDO_UID: the trace belongs to the sudo caller"; else r_fail "SUDO_UID: the trace's owner" "${mode:-missing}, want 65534:65534"; fi

	local name
	for name in symlink dangling hardlink; do
		rc=$(cat "$tmp/$name.rc")
		if ! cmp -s "$p/victim" "$p/victim.orig"; then
			r_fail "$name at the output path" "the file behind it was written: $(head -c 40 "$p/victim" | od -c | head -1)"
			cp "$p/victim.orig" "$p/victim"
		elif [ -e "$p/dangling-target" ]; then
			r_fail "$name at the output path" "the dangling symlink's target was created"
		elif [ "$rc" = 0 ] && [ ! -L "$p/$name.lprof" ] && [ -f "$p/$name.lprof" ] && [ "$(stat -c %h "$p/$name.lprof")" = 1 ]; then
			r_pass "$name at the output path: replaced by a new file, the target untouched"
		elif [ "$rc" != 0 ] && [ "$(wc -l <"$tmp/$name.err")" = 1 ] && grep -q '^layerprof' "$tmp/$name.err"; then
			r_pass "$name at the output path: refused (exit $rc): $(cut -c1-120 "$tmp/$name.err")"
		else
			r_fail "$name at the output path" "exit $rc; stderr: $(head -3 "$tmp/$name.err")"
		fi
	done
}

# ================================================================ secrets
group_secrets() {
	G=secrets
	local secret=abc123SECRETvalue envsecret=zzzENVSECRETzzz
	# a realistic docker build command line (no daemon needed: the CLI's
	# exec is what is recorded) and a generic one
	# the forms redact.h documents, each value carrying the marker
	MYSECRET=$envsecret rec redact --no-daemons -o "$tmp/redact.lprof" -- \
		sh -c 'true' --build-arg "TOKEN=$secret" --password "$secret" \
		"--build-arg=API_KEY=${secret}1" -e "DB_PASSWORD=${secret}2" --github-token "${secret}3" \
		"https://user:${secret}4@example.com/x.git" --secret "id=npm,src=/root/${secret}5" \
		"PASSPHRASE=${secret}6" "--registry-password=${secret}7" &
	local a=$!
	MYSECRET=$envsecret rec noredact --no-daemons --no-redact -o "$tmp/noredact.lprof" -- \
		sh -c 'true' --build-arg "TOKEN=$secret" &
	local b=$!
	mkdir -p "$tmp/emptyctx"
	MYSECRET=$envsecret DOCKER_HOST=unix://$tmp/no-such.sock rec redact-docker --no-daemons -o "$tmp/redact-docker.lprof" -- \
		"$DOCKER" build --build-arg "TOKEN=$secret" --build-arg "NPM_TOKEN=$secret" "$tmp/emptyctx" &
	local c=$!
	wait $a $b $c
	local f n j
	for f in redact redact-docker; do
		if [ ! -s "$tmp/$f.lprof" ]; then
			r_fail "secrets: $f" "no trace: $(head -2 "$tmp/$f.err")"
			continue
		fi
		n=$(inflated "$tmp/$f.lprof" | grep -ac -e "$secret" -e "$envsecret")
		j=$("$LP_BIN" dump --json "$tmp/$f.lprof" 2>/dev/null | grep -c -e "$secret" -e "$envsecret")
		if [ "$n" = 0 ] && [ "$j" = 0 ] && inflated "$tmp/$f.lprof" | grep -ac 'TOKEN=' >/dev/null; then
			r_pass "secrets: $f: neither the --build-arg value nor the environment is in the trace bytes"
		else
			r_fail "secrets: $f" "found in $n inflated lines and $j dump lines: $(inflated "$tmp/$f.lprof" | grep -ao ".\{30\}$secret" | head -2 | tr '\n' ' ')"
		fi
	done
	if [ -s "$tmp/noredact.lprof" ] && inflated "$tmp/noredact.lprof" | grep -ac "TOKEN=$secret" >/dev/null; then
		r_pass "secrets: --no-redact keeps the value (so the check above can see it)"
	else
		r_fail "secrets: --no-redact" "TOKEN=$secret not in the trace; $(head -2 "$tmp/noredact.err")"
	fi
	if [ -s "$tmp/noredact.lprof" ] && ! inflated "$tmp/noredact.lprof" | grep -ac "$envsecret" >/dev/null; then
		r_pass "secrets: --no-redact: the environment is still not recorded"
	else
		r_fail "secrets: environment with --no-redact" "$envsecret is in the trace"
	fi
}

# ============================================================= resilience
group_resilience() {
	G=resilience
	local d=$tmp/res-comm
	mkdir -p "$d"
	cp /bin/sleep "$d/lpdaemond"
	cp /bin/sleep "$d/lpotherd"
	local mark=$d/started pid dpid opid
	"$LP_BIN" record --no-daemons --comm lpdaemond -o "$tmp/comm.lprof" -- \
		sh -c "touch '$mark'; while [ ! -e '$d/done' ]; do sleep 0.1; done" \
		>"$tmp/comm.out" 2>"$tmp/comm.err" &
	pid=$!
	if ! wait_for 60 test -e "$mark"; then
		r_fail "--comm: a process started later is traced" "record did not start: $(head -2 "$tmp/comm.err")"
		kill "$pid" 2>/dev/null
		return
	fi
	# started by this shell, not by the traced command: only its name can
	# get it traced
	"$d/lpdaemond" 0.5 &
	dpid=$!
	"$d/lpotherd" 0.5 &
	opid=$!
	wait "$dpid" "$opid"
	touch "$d/done"
	wait "$pid"
	"$LP_BIN" dump --json "$tmp/comm.lprof" >"$tmp/comm.json" 2>/dev/null
	local nd no
	nd=$(grep -c "\"pid\":${dpid}," "$tmp/comm.json")
	no=$(grep -c "\"pid\":${opid}," "$tmp/comm.json")
	if [ "$nd" -gt 0 ]; then
		r_pass "--comm lpdaemond: a process started after record began is traced ($nd events)"
	else
		r_fail "--comm lpdaemond: a process started after record began is traced" "no event of pid $dpid in the trace"
	fi
	if [ "$no" = 0 ]; then
		r_pass "--comm lpdaemond: a process of another name is not traced"
	else
		r_fail "--comm: in-kernel filter" "$no events of the untraced lpotherd (pid $opid)"
	fi
}

# ================================================= docker (crash, restart)
group_docker() {
	G=docker
	if [ ! -x "$DOCKER" ] || { ! command -v dockerd >/dev/null && [ ! -x /usr/sbin/dockerd ]; }; then
		r_skip "docker: SIGKILL during a build" "needs docker.io (dockerd and /usr/bin/docker)"
		r_skip "docker: dockerd restarted during a recording" "needs docker.io"
		return
	fi
	dockerd_dir=$tmp/dk
	echo "$dockerd_dir" >"$tmp/dockerd.dir"
	if ! tools/dockerd-private.sh start "$dockerd_dir" >"$tmp/dk.start" 2>&1 ||
		! tools/mk-base-image.sh "$dockerd_dir/docker.sock" >>"$tmp/dk.start" 2>&1; then
		r_skip "docker: SIGKILL during a build" "the private dockerd did not start: $(tail -2 "$tmp/dk.start")"
		r_skip "docker: dockerd restarted during a recording" "the private dockerd did not start"
		return
	fi
	local host=unix://$dockerd_dir/docker.sock ctx=$tmp/dkctx pid
	mkdir -p "$ctx"
	date +%s%N >"$ctx/stamp.txt"
	printf 'FROM layerprof/busybox\nCOPY stamp.txt /stamp.txt\nRUN sleep 4 && cat /stamp.txt > /copy.txt\n' >"$ctx/Dockerfile"
	(cd "$ctx" && exec setsid "$LP_BIN" record -o "$tmp/dkkill.lprof" -- \
		"$DOCKER" -H "$host" build --network=host -t lp-rel-kill . >"$tmp/dkkill.out" 2>"$tmp/dkkill.err") &
	pid=$!
	wait_for 60 grep -qs 'RUN sleep 4' "$tmp/dkkill.out" "$tmp/dkkill.err" # -s: the files appear with the subshell
	sleep 2.5 # inside the RUN step, a block or two flushed
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	# the docker CLI lives on; let the build finish (it is not ours to kill
	# the daemon's work half-way)
	wait_for 30 sh -c "! pgrep -f '[l]p-rel-kill' >/dev/null"
	if [ -s "$tmp/dkkill.lprof" ]; then
		check_truncated "docker: SIGKILL during a build" "$tmp/dkkill.lprof" "did not finish|no trailer|truncated"
		if "$LP_BIN" dump --json "$tmp/dkkill.lprof" 2>/dev/null | grep -c '"kind":"progress"' >/dev/null; then
			r_pass "docker: SIGKILL during a build: the build's progress lines were recovered"
		else
			r_fail "docker: SIGKILL during a build" "no progress record recovered"
		fi
	else
		r_fail "docker: SIGKILL during a build" "no trace written: $(head -3 "$tmp/dkkill.err")"
	fi

	# restart the daemon while recording; the new dockerd must be traced
	local old new mark=$tmp/dkrestart.started
	old=$(cat "$dockerd_dir/dockerd.pid")
	"$LP_BIN" record -o "$tmp/dkrestart.lprof" -- \
		sh -c "touch '$mark'; while [ ! -e '$tmp/dkrestart.done' ]; do sleep 0.1; done" \
		>"$tmp/dkrestart.out" 2>"$tmp/dkrestart.err" &
	pid=$!
	wait_for 60 test -e "$mark"
	tools/dockerd-private.sh stop "$dockerd_dir" >>"$tmp/dk.start" 2>&1
	tools/dockerd-private.sh start "$dockerd_dir" >>"$tmp/dk.start" 2>&1
	new=$(cat "$dockerd_dir/dockerd.pid" 2>/dev/null)
	"$DOCKER" -H "$host" image ls >/dev/null 2>&1
	touch "$tmp/dkrestart.done"
	wait "$pid"
	if [ -z "$new" ] || [ "$new" = "$old" ]; then
		r_fail "docker: dockerd restarted during a recording" "the daemon did not restart (old $old, new ${new:-none})"
		return
	fi
	local n
	n=$("$LP_BIN" dump --json "$tmp/dkrestart.lprof" 2>/dev/null | grep -c "\"pid\":${new},")
	if [ "$n" -gt 0 ]; then
		r_pass "docker: dockerd restarted during a recording: the new dockerd (pid $new) is traced ($n events)"
	else
		r_fail "docker: dockerd restarted during a recording" "no event of the new dockerd (pid $new; old $old)"
	fi
}

# =================================================================== main
if [ ! -x "$LP_BIN" ]; then
	fail "reliability" "$LP_BIN is not built (make)"
	finish
	exit 1
fi
if ! build_tools >"$tmp/tools.log" 2>&1; then
	fail "reliability tools" "cannot build tests/reliability/lprof_blocks.c: $(head -3 "$tmp/tools.log")"
	finish
	exit 1
fi

groups=(fuzz)
if is_root; then
	groups+=(crash fulldisk clean priv secrets resilience docker)
else
	for g in "SIGKILL mid-recording" "full disk" "clean exit" "privileges" "secrets" "resilience" "docker"; do
		skip "$g" "needs root (record loads BPF programs)"
	done
fi
for g in "${groups[@]}"; do
	(group_"$g") &
	bg+=($!)
done
wait "${bg[@]}" 2>/dev/null
bg=()
[ -s "$tmp/mount.fulldisk" ] && mounts+=("$(cat "$tmp/mount.fulldisk")")
[ -s "$tmp/dockerd.dir" ] && dockerd_dir=$(cat "$tmp/dockerd.dir")

for g in "${groups[@]}"; do
	echo "--- $g"
	[ -s "$RES/$g" ] || { fail "$g" "the group reported nothing"; continue; }
	while IFS= read -r line; do
		case "$line" in
		"PASS "*) pass "${line#PASS }" ;;
		"SKIP "*) rest=${line#SKIP }; skip "${rest%%: *}" "${rest#*: }" ;;
		"FAIL "*) rest=${line#FAIL }; fail "${rest%%: *}" "${rest#*: }" ;;
		esac
	done <"$RES/$g"
	[ "$g" = fuzz ] && [ -s "$tmp/fuzz-crashes.txt" ] && cat "$tmp/fuzz-crashes.txt"
done
finish

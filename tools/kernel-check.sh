#!/usr/bin/env bash
# Prove that layerprof's BPF object loads and records correctly on ANOTHER
# kernel than this host's: boot Debian 12's 6.1 kernel in a throw-away QEMU
# VM with a tiny initramfs (busybox-static, the layerprof binary and its
# shared libraries, the BPF integration workload), run `layerprof check`,
# record a small busybox workload in each attach mode (record's own choice;
# fentry: the file I/O path on fentry/fexit, forced with
# LAYERPROF_FORCE_SYSCALLS=fentry; raw_tp and tp, forced with
# LAYERPROF_FORCE_ATTACH), dump it, run the BPF integration workload and its
# exact-value checker in each mode, power off, and check the console output
# on this host.
#
#   tools/kernel-check.sh [--kernel-version 6.1.0-NN] [--bin PATH]
#                         [--tests-dir DIR] [--keep] [--timeout SEC] [--tcg]
#   tools/kernel-check.sh --help
#
# It is NOT part of `make test`: it downloads a kernel package (~70 MB) and
# boots a VM. Run it by hand (as root, on Debian 12) when the BPF side or
# the loader changes, to keep the contract "the BPF object loads on any
# x86-64 kernel >= 5.8 with BTF" honest beyond the build host's kernel.
#
# What it installs with apt when missing: qemu-system-x86, busybox-static,
# cpio. The kernel package is NOT installed on this host (that would change
# its boot configuration): `apt-get download` + `dpkg-deb -x` into a cache
# dir ($LAYERPROF_KC_CACHE, default /var/tmp/layerprof-kernel-check/<ver>/,
# kept between runs; delete it to free ~500 MB).
#
# The binary is copied to a temporary work dir first (the tree may be
# rebuilt meanwhile). The tests dir (default: tests/ beside the binary's
# build dir, e.g. build/tests) provides workload and check_workload; when
# they are absent that part is skipped (reported as SKIP).
#
# KVM is used when /dev/kvm is there; a qemu that fails with KVM (e.g. a
# nested hypervisor that rejects an MSR) or a guest that has not reached
# /init within $LAYERPROF_KC_KVM_GRACE s (default 60) falls back to TCG
# (~30-60 s for the whole run). $LAYERPROF_KC_KVM_CPU: the -cpu model with
# KVM (default host).
#
# Output: PASS/FAIL/SKIP lines per check, then "kernel-check: N passed,
# N failed[, N skipped]" on its own line. The VM's console log is kept
# (path printed) on failure or with --keep.
# Exit status: 0 all checks passed, 1 a check failed or the VM did not
# finish, 2 bad command line, 3 set-up failed (apt, download, qemu missing).
set -uo pipefail

prog=kernel-check.sh
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

usage() {
	cat <<'EOF'
usage: tools/kernel-check.sh [--kernel-version 6.1.0-NN] [--bin PATH]
                             [--tests-dir DIR] [--keep] [--timeout SEC] [--tcg]

Boot Debian 12's 6.1 kernel in a QEMU VM (KVM when /dev/kvm works, else TCG)
with a tiny initramfs and check there that layerprof's BPF object loads and
records exact values: `layerprof check`, `layerprof record` of a busybox
workload in each attach mode (tp_btf, raw_tp, tp), `layerprof dump`, and the
BPF integration workload with its exact-value checker.

  --kernel-version V  Debian kernel ABI to boot, e.g. 6.1.0-56 (default: the
                      one linux-image-amd64 depends on in the apt lists)
  --bin PATH          layerprof binary to test (default: ./layerprof of the
                      tree); copied to a temp dir before use
  --tests-dir DIR     where workload and check_workload are (default: tests/
                      of the binary's build dir; skipped when absent)
  --keep              keep the work dir (initramfs, console log, data log)
  --timeout SEC       VM time limit (default 300 with KVM, 1200 with TCG)
  --tcg               do not use KVM even when /dev/kvm is there
  -h, --help          this help

Not part of `make test`: it downloads a kernel package (~70 MB, cached in
/var/tmp/layerprof-kernel-check, or $LAYERPROF_KC_CACHE). Needs root and apt
(installs qemu-system-x86, busybox-static, cpio when missing); the kernel is
extracted, never installed on this host.

Exit status: 0 every check passed, 1 a check failed, 2 bad command line,
3 set-up failed.
EOF
}

kver=""
bin=""
tests_dir=""
keep=0
timeout_s=""
force_tcg=0
while [ $# -gt 0 ]; do
	case $1 in
	--kernel-version) [ $# -ge 2 ] || { echo "$prog: $1 needs a value" >&2; exit 2; }; kver=$2; shift 2 ;;
	--kernel-version=*) kver=${1#*=}; shift ;;
	--bin) [ $# -ge 2 ] || { echo "$prog: $1 needs a value" >&2; exit 2; }; bin=$2; shift 2 ;;
	--bin=*) bin=${1#*=}; shift ;;
	--tests-dir) [ $# -ge 2 ] || { echo "$prog: $1 needs a value" >&2; exit 2; }; tests_dir=$2; shift 2 ;;
	--tests-dir=*) tests_dir=${1#*=}; shift ;;
	--keep) keep=1; shift ;;
	--timeout) [ $# -ge 2 ] || { echo "$prog: $1 needs a value" >&2; exit 2; }; timeout_s=$2; shift 2 ;;
	--timeout=*) timeout_s=${1#*=}; shift ;;
	--tcg) force_tcg=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "$prog: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done
if [ -n "$timeout_s" ] && ! [[ $timeout_s =~ ^[0-9]+$ && $timeout_s -gt 0 ]]; then
	echo "$prog: --timeout wants a number of seconds, not '$timeout_s'" >&2
	exit 2
fi
# 6.1.0-56, also accepted: 6.1.0-56-amd64
kver=${kver%-amd64}
if [ -n "$kver" ] && ! [[ $kver =~ ^[0-9]+\.[0-9]+\.[0-9]+-[0-9]+$ ]]; then
	echo "$prog: --kernel-version wants a Debian kernel ABI like 6.1.0-56, not '$kver'" >&2
	exit 2
fi

die() { echo "$prog: $*" >&2; exit 3; }
note() { echo "$prog: $*" >&2; }

[ "$(id -u)" = 0 ] || die "needs root (apt, and the VM runs layerprof as its root)"
[ "$(uname -m)" = x86_64 ] || die "x86-64 hosts only"

t_start=$(date +%s)

# ---------------------------------------------------------------- binaries
[ -n "$bin" ] || bin=$root/layerprof
[ -x "$bin" ] || die "no layerprof binary at $bin (run make, or pass --bin)"
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
if [ -z "$tests_dir" ]; then
	bdir=$(dirname "$bin")
	if [ -x "$bdir/tests/workload" ]; then
		tests_dir=$bdir/tests
	elif [ "$bdir" = "$root" ] && [ -x "$root/build/tests/workload" ]; then
		tests_dir=$root/build/tests
	fi
fi

# ---------------------------------------------------------------- work dir
work=$(mktemp -d /tmp/kernel-check.XXXXXX) || die "mktemp failed"
keep_on_exit=0 # set once the VM has run, cleared when every check passed
finish_work() {
	if [ "$keep" = 1 ] || [ "$keep_on_exit" = 1 ]; then
		echo "$prog: work dir kept: $work (console.log, data.log, qemu.log, initrd.img)" >&2
	else
		rm -rf "$work"
	fi
}
trap finish_work EXIT
vm_job=""
on_signal() {
	local p
	p=$(cat "$work/qemu.pid" 2>/dev/null)
	[ -n "$p" ] && kill "$p" 2>/dev/null
	[ -n "$vm_job" ] && wait "$vm_job" 2>/dev/null
	exit 130
}
trap on_signal INT TERM

# Copies taken now: the tree may be rebuilt while the VM runs.
mkdir -p "$work/bin"
cp "$bin" "$work/bin/layerprof" || die "cannot copy $bin"
have_workload=0
if [ -n "$tests_dir" ] && [ -x "$tests_dir/workload" ] && [ -x "$tests_dir/check_workload" ]; then
	cp "$tests_dir/workload" "$tests_dir/check_workload" "$work/bin/" || die "cannot copy the test binaries"
	have_workload=1
fi

# ---------------------------------------------------------------- apt
apt_updated=0
apt_update_once() {
	[ $apt_updated = 1 ] && return 0
	apt_updated=1
	note "apt-get update"
	apt-get update -qq >/dev/null 2>&1 || note "apt-get update failed (trying with the lists we have)"
}
need_pkg() { # need_pkg CMD PACKAGE
	command -v "$1" >/dev/null 2>&1 && return 0
	note "installing $2 (for $1)"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null 2>&1; then
		apt_update_once
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null ||
			die "cannot install $2"
	fi
	command -v "$1" >/dev/null 2>&1 || die "$2 installed but $1 is still missing"
}
need_pkg qemu-system-x86_64 qemu-system-x86
need_pkg cpio cpio
# busybox-static: a static busybox, whatever dynamic busybox may also be around
if ! { [ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q 'statically linked'; } &&
   ! dpkg -s busybox-static >/dev/null 2>&1; then
	note "installing busybox-static"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends busybox-static >/dev/null 2>&1 ||
		{ apt_update_once; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends busybox-static >/dev/null; } ||
		die "cannot install busybox-static"
fi
busybox=/bin/busybox
[ -x "$busybox" ] || die "no $busybox after installing busybox-static"
if command -v file >/dev/null 2>&1 && ! file -L "$busybox" | grep -q 'statically linked'; then
	die "$busybox is not statically linked (install busybox-static)"
fi

# ---------------------------------------------------------------- kernel
if [ -z "$kver" ]; then
	dep=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: linux-image-\([0-9.]*-[0-9]*\)-amd64$/\1/p' | head -1)
	if [ -z "$dep" ]; then
		apt_update_once
		dep=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: linux-image-\([0-9.]*-[0-9]*\)-amd64$/\1/p' | head -1)
	fi
	[ -n "$dep" ] || die "cannot tell the Debian kernel version (apt-cache depends linux-image-amd64); pass --kernel-version"
	kver=$dep
fi
krel=$kver-amd64
cache_base=${LAYERPROF_KC_CACHE:-/var/tmp/layerprof-kernel-check}
cache=$cache_base/$krel
vmlinuz=$cache/root/boot/vmlinuz-$krel
if [ ! -f "$cache/.extracted" ] || [ ! -f "$vmlinuz" ]; then
	mkdir -p "$cache/dl" || die "cannot create $cache"
	chmod 0755 "$cache_base" "$cache"
	# _apt downloads into a dir it can write (else apt warns and runs unsandboxed)
	chown _apt "$cache/dl" 2>/dev/null || true
	deb=$(ls "$cache"/dl/linux-image-"$krel"_*.deb 2>/dev/null | head -1)
	if [ -z "$deb" ]; then
		pkg=""
		for p in "linux-image-$krel" "linux-image-$krel-unsigned"; do
			if apt-cache show "$p" >/dev/null 2>&1; then pkg=$p; break; fi
		done
		if [ -z "$pkg" ]; then
			apt_update_once
			for p in "linux-image-$krel" "linux-image-$krel-unsigned"; do
				if apt-cache show "$p" >/dev/null 2>&1; then pkg=$p; break; fi
			done
		fi
		[ -n "$pkg" ] || die "no package linux-image-$krel in the apt lists (apt-cache search linux-image-6.1)"
		note "downloading $pkg (~70 MB) into $cache/dl"
		(cd "$cache/dl" && apt-get download -q "$pkg" >/dev/null 2>"$cache/dl/apt.err") ||
			die "apt-get download $pkg failed: $(tail -2 "$cache/dl/apt.err" 2>/dev/null)"
		deb=$(ls "$cache"/dl/linux-image-"$krel"*_*.deb 2>/dev/null | head -1)
		[ -n "$deb" ] || die "apt-get download $pkg left no .deb in $cache/dl"
	fi
	note "extracting $(basename "$deb") (vmlinuz and modules) into $cache/root"
	rm -rf "$cache/root"
	dpkg-deb -x "$deb" "$cache/root" || die "dpkg-deb -x $deb failed"
	[ -f "$vmlinuz" ] || die "no boot/vmlinuz-$krel in $deb"
	touch "$cache/.extracted"
fi
kconfig=$cache/root/boot/config-$krel
if [ -f "$kconfig" ]; then
	for o in CONFIG_DEBUG_INFO_BTF CONFIG_BPF_SYSCALL CONFIG_BLK_DEV_INITRD CONFIG_SERIAL_8250_CONSOLE CONFIG_DEVTMPFS; do
		grep -q "^$o=y" "$kconfig" || note "warning: $krel has no $o=y: the VM may not work"
	done
fi

# ---------------------------------------------------------------- initramfs
ir=$work/initramfs
mkdir -p "$ir"/{bin,dev,proc,sys,tmp,run,etc,root} "$ir/usr" || die "mkdir $ir"
ln -s bin "$ir/sbin"
ln -s ../bin "$ir/usr/bin"
ln -s ../bin "$ir/usr/sbin"
cp "$busybox" "$ir/bin/busybox"
for a in $("$busybox" --list); do
	[ -e "$ir/bin/$a" ] || ln -s busybox "$ir/bin/$a"
done
# Debian's /bin/sh may not be busybox: make sure sh is
ln -sf busybox "$ir/bin/sh"
cp "$work/bin/layerprof" "$ir/bin/layerprof"
if [ $have_workload = 1 ]; then
	cp "$work/bin/workload" "$work/bin/check_workload" "$ir/bin/"
fi
# shared libraries, at the same paths as on this host (ldd resolves them)
copy_libs() {
	local f lib
	for f in "$@"; do
		ldd "$f" 2>/dev/null | awk '/=> \// { print $3 } /^\t\/[^ ]+ \(/ { print $1 }'
	done | sort -u | while read -r lib; do
		[ -e "$ir$lib" ] && continue
		mkdir -p "$ir$(dirname "$lib")"
		cp -L "$lib" "$ir$lib" || exit 1
	done
}
libbins=("$ir/bin/layerprof")
[ $have_workload = 1 ] && libbins+=("$ir/bin/workload" "$ir/bin/check_workload")
copy_libs "${libbins[@]}" || die "cannot copy the shared libraries"
[ -e "$ir/lib64/ld-linux-x86-64.so.2" ] || die "ldd found no dynamic loader for layerprof"
echo "root:x:0:0:root:/root:/bin/sh" >"$ir/etc/passwd"
echo "root:x:0:" >"$ir/etc/group"
echo kernel-check >"$ir/etc/hostname"

# The VM's script. Every line of interest starts with "@@KC "; it goes to
# the console (ttyS0) and, clean of kernel messages, to ttyS1 (data.log).
cat >"$ir/init" <<'INIT'
#!/bin/sh
PATH=/bin
HOME=/root
export PATH HOME
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o mode=1777 tmpfs /tmp
mkdir -p /sys/fs/bpf
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
hostname kernel-check
# keep kernel chatter (not warnings) off the console while we print
echo 4 >/proc/sys/kernel/printk

kc() { echo "@@KC $*"; }
# lpenv MODE CMD...: CMD in that attach mode (default: record's own choice;
# fentry: the file I/O path on fentry/fexit, an error where it cannot be;
# raw_tp, tp: the fallbacks, file I/O through the syscall hooks)
lpenv() {
	local m=$1; shift
	case $m in
	default) "$@" ;;
	fentry) LAYERPROF_FORCE_SYSCALLS=fentry "$@" ;;
	*) LAYERPROF_FORCE_ATTACH=$m "$@" ;;
	esac
}
# sect NAME FILE: print FILE with every line prefixed "@@KC NAME| "
sect() { sed "s/^/@@KC $1| /" "$2"; }
tracefs_mounts() { grep -c ' tracefs ' /proc/mounts; }

WL='echo hi > /tmp/x; cat /tmp/x; mv /tmp/x /tmp/y; rm /tmp/y'

main() {
	kc begin
	kc uname_r "$(uname -r)"
	kc uname_a "$(uname -a)"
	kc nproc "$(grep -c ^processor /proc/cpuinfo)"
	kc btf "$( [ -r /sys/kernel/btf/vmlinux ] && echo yes || echo no)"
	kc tracefs_before_check "$(tracefs_mounts)"

	layerprof check >/c.out 2>/c.err
	kc rc check $?
	sect check /c.out
	sect check_err /c.err
	kc tracefs_after_check "$(tracefs_mounts)"

	for mode in default fentry raw_tp tp; do
		rm -f /t-$mode.lprof /tmp/x /tmp/y
		lpenv $mode layerprof record -o /t-$mode.lprof --no-daemons -- busybox sh -c "$WL" >/r.out 2>/r.err
		rc=$?
		kc rc record_$mode $rc
		sect record_${mode}_out /r.out
		sect record_${mode}_err /r.err
		kc tracefs_after_record_$mode "$(tracefs_mounts)"
		layerprof dump /t-$mode.lprof >/d.out 2>/d.err
		kc rc dump_$mode $?
		sect dump_$mode /d.out
		sect dump_${mode}_err /d.err
		if [ $rc != 0 ]; then
			# again with libbpf's and the verifier's messages
			lpenv $mode layerprof record -v -o /v.lprof --no-daemons -- true >/v.out 2>&1
			kc rc record_${mode}_verbose $?
			sect record_${mode}_verbose /v.out
		fi
	done
	# what the loader chose, in words (default mode)
	layerprof record -v -o /v.lprof --no-daemons -- true >/v.out 2>&1
	kc rc record_verbose $?
	sect record_verbose /v.out
	# the same without fentry, for the start and stop phases side by side
	LAYERPROF_FORCE_SYSCALLS=raw_tp layerprof record -v -o /v.lprof --no-daemons -- true >/v.out 2>&1
	sect record_verbose_nofentry /v.out

	if [ -x /bin/workload ]; then
		for mode in default fentry raw_tp tp; do
			rm -rf /tmp/w
			mkdir -p /tmp/w
			lpenv $mode layerprof record --no-daemons -o /w.lprof -- workload /tmp/w >/w.out 2>/w.err
			rc=$?
			kc rc record_workload_$mode $rc
			sect record_workload_${mode}_err /w.err
			# under TCG a process's exit work after sched_process_exit
			# (files, mm, ...) runs 10-50x slower than on hardware and
			# takes several ms of the CPU time wait4 reports
			if grep -q 'lp_accel=tcg' /proc/cmdline; then
				LP_CHECK_CPU_SLACK_MS=40 check_workload /w.lprof /tmp/w /w.out >/cw.out 2>&1
			else
				check_workload /w.lprof /tmp/w /w.out >/cw.out 2>&1
			fi
			kc rc check_workload_$mode $?
			sect check_workload_$mode /cw.out
		done
	else
		kc no_workload
	fi
	kc end
}

if [ -c /dev/ttyS1 ]; then
	main 2>&1 | tee /dev/ttyS1
else
	main 2>&1
fi
sync
poweroff -f
INIT
chmod 0755 "$ir/init"
(cd "$ir" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) >"$work/initrd.img" ||
	die "cannot build the initramfs"

# ---------------------------------------------------------------- boot
accel=tcg
if [ $force_tcg = 0 ] && [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	accel=kvm
fi
# boot ACCEL: run the VM; ttyS0 (kernel console + script) to console.log,
# ttyS1 (the script only) to data.log, qemu's own messages to qemu.log.
# With KVM, a VM that has not started the script within $kvm_grace s is
# taken as a KVM that does not work (e.g. nested virtualization that hangs
# in early boot) and stopped: the caller falls back to TCG.
kvm_grace=${LAYERPROF_KC_KVM_GRACE:-60}
kvm_cpu=${LAYERPROF_KC_KVM_CPU:-host}
qemu_pid() { cat "$work/qemu.pid" 2>/dev/null; }
boot() {
	local a=$1 t=$timeout_s
	[ -n "$t" ] || { [ "$a" = kvm ] && t=300 || t=1200; }
	local args=(-m 1G -smp 2 -display none -monitor none -no-reboot
		-pidfile "$work/qemu.pid"
		-kernel "$vmlinuz" -initrd "$work/initrd.img"
		-append "console=ttyS0 panic=-1 quiet loglevel=4 lp_accel=$a"
		-serial "file:$work/console.log"
		-chardev "file,id=kcdata,path=$work/data.log" -device "isa-serial,chardev=kcdata"
		-nic none)
	if [ "$a" = kvm ]; then
		args+=(-enable-kvm -cpu "$kvm_cpu")
	else
		args+=(-accel tcg -cpu max)
	fi
	: >"$work/data.log"
	: >"$work/console.log"
	rm -f "$work/qemu.pid"
	note "booting $krel ($a, timeout ${t}s)"
	local s
	s=$(date +%s)
	# in a subshell of its own, so that a qemu that aborts does not make
	# this shell print a job message; stopped through its pid file
	(timeout -k 10 "$t" qemu-system-x86_64 "${args[@]}" </dev/null >"$work/qemu.log" 2>&1; exit $?) 2>/dev/null &
	vm_job=$!
	boot_stuck=0
	if [ "$a" = kvm ]; then
		while kill -0 "$vm_job" 2>/dev/null; do
			grep -q '@@KC begin' "$work/data.log" "$work/console.log" 2>/dev/null && break
			if [ $(($(date +%s) - s)) -ge "$kvm_grace" ]; then
				boot_stuck=1
				p=$(qemu_pid)
				[ -n "$p" ] && kill "$p" 2>/dev/null
				break
			fi
			sleep 1
		done
	fi
	wait "$vm_job"
	local rc=$?
	vm_job=""
	boot_secs=$(($(date +%s) - s))
	return $rc
}
boot $accel
qrc=$?
if [ $accel = kvm ] && ! grep -q '@@KC begin' "$work/data.log" "$work/console.log" 2>/dev/null; then
	if [ $boot_stuck = 1 ]; then
		why="the guest did not reach /init within ${kvm_grace}s"
	else
		why="qemu exit $qrc: $(grep -v '^$' "$work/qemu.log" | head -2 | tr '\n' ' ')"
	fi
	note "KVM did not work ($why); falling back to TCG"
	kvm_failed=$why
	accel=tcg
	boot tcg
	qrc=$?
fi

# ---------------------------------------------------------------- checks
log=$work/data.log
grep -q '@@KC ' "$log" 2>/dev/null || log=$work/console.log
tr -d '\r' <"$log" >"$work/out.txt"
out=$work/out.txt

npass=0 nfail=0 nskip=0
keep_on_exit=1
pass() { echo "PASS $1"; npass=$((npass + 1)); }
fail() { echo "FAIL $1${2:+: $2}"; nfail=$((nfail + 1)); }
skip() { echo "SKIP $1${2:+: $2}"; nskip=$((nskip + 1)); }
kv() { sed -n "s/^@@KC $1 //p" "$out" | head -1; }      # kv KEY: value of "@@KC KEY value"
sec() { sed -n "s/^@@KC $1| //p" "$out"; }              # sec NAME: a section's lines
rcof() { sed -n "s/^@@KC rc $1 //p" "$out" | head -1; }

echo "== kernel-check: $( "$work/bin/layerprof" --version 2>/dev/null | head -1) ($bin) on $krel, $accel"
if grep -q '^@@KC end' "$out"; then
	pass "VM booted $krel and ran the script to the end ($accel, ${boot_secs}s)"
else
	fail "VM ran the script to the end" "qemu exit $qrc after ${boot_secs}s; qemu: $(head -2 "$work/qemu.log" | tr '\n' ' '); last console lines: $(tail -5 "$work/console.log" | tr -d '\r' | tr '\n' '|')"
fi
[ -n "${kvm_failed:-}" ] && echo "NOTE KVM unusable here ($kvm_failed): ran under TCG"
ur=$(kv uname_r)
if [ "$ur" = "$krel" ]; then pass "booted kernel is $ur (host: $(uname -r))"; else fail "booted kernel is $krel" "uname -r says '$ur'"; fi
[ "$(kv btf)" = yes ] && pass "BTF present (/sys/kernel/btf/vmlinux)" || fail "BTF present" "btf=$(kv btf)"
[ "$(kv tracefs_before_check)" = 0 ] && pass "tracefs not mounted at boot (layerprof must mount it)" ||
	fail "tracefs not mounted at boot" "$(kv tracefs_before_check) tracefs mounts"

# check
rc=$(rcof check)
if [ "$rc" = 0 ]; then pass "layerprof check exits 0"; else fail "layerprof check exits 0" "exit '$rc': $(sec check_err | tr '\n' ' ')"; fi
if sec check | grep -qE '^  tracefs +ok +was not mounted: mounted it'; then
	pass "check mounted tracefs itself"
else
	fail "check mounted tracefs itself" "$(sec check | grep -m1 '^  tracefs')"
fi
[ "$(kv tracefs_after_check)" = 0 ] && pass "check unmounted tracefs again" ||
	fail "check unmounted tracefs again" "$(kv tracefs_after_check) tracefs mounts left"
attach_status() { sec check | awk -v k="$1" '$1 == "attach" && $2 == k { print $3; exit }'; }
for k in tp_btf raw_tp tp kprobe fentry; do
	st=$(attach_status $k)
	if [ "$st" = ok ]; then
		pass "check: attach $k available"
	else
		fail "check: attach $k available" "status '$st': $(sec check | grep -m1 "^  attach $k ")"
	fi
done
if sec check | grep -q '^  syscall attach '; then
	if sec check | grep -qE '^  syscall attach +ok'; then
		pass "check: syscall attach ($(sec check | sed -n 's/^  syscall attach *ok *//p'))"
	else
		fail "check: syscall attach" "$(sec check | grep -m1 '^  syscall attach ')"
	fi
fi
if sec check | grep -qE '^  syscall tracepoints +ok'; then
	pass "check: syscall tracepoints ($(sec check | sed -n 's/^  syscall tracepoints *ok *//p'))"
else
	fail "check: syscall tracepoints" "$(sec check | grep -m1 '^  syscall tracepoints')"
fi

# the recordings: the same exact values in every attach mode
fixed() { sec "$1" | grep -F -- "$2" >/dev/null; }
for mode in default fentry raw_tp tp; do
	m="[$mode]"
	rc=$(rcof record_$mode)
	if [ "$rc" = 0 ]; then
		pass "$m record exits 0"
	else
		fail "$m record exits 0" "exit '$rc': $(sec record_${mode}_err | tail -3 | tr '\n' ' ')"
		sec record_${mode}_verbose | sed 's/^/    | /' | tail -60
	fi
	if sec record_${mode}_err | grep -qE '^layerprof: recorded [0-9]+ events \(0 lost\)'; then
		pass "$m record: 0 lost events ($(sec record_${mode}_err | grep -oE 'recorded [0-9]+ events \(0 lost\)'))"
	else
		fail "$m record: 0 lost events" "$(sec record_${mode}_err | grep -m1 'recorded' || echo 'no summary line')"
	fi
	nev=$(sec record_${mode}_err | sed -n 's/^layerprof: recorded \([0-9]*\) events .*/\1/p' | head -1)
	[ "${nev:-0}" -gt 0 ] && pass "$m record: events recorded ($nev)" || fail "$m record: events recorded" "${nev:-no} events"
	[ "$(sec record_${mode}_out | head -1)" = hi ] && pass "$m the workload printed hi" ||
		fail "$m the workload printed hi" "stdout: $(sec record_${mode}_out | tr '\n' ' ')"
	[ "$(kv tracefs_after_record_$mode)" = 0 ] && pass "$m record unmounted the tracefs it mounted" ||
		fail "$m record unmounted tracefs" "$(kv tracefs_after_record_$mode) tracefs mounts left"
	rc=$(rcof dump_$mode)
	[ "$rc" = 0 ] && pass "$m dump exits 0" || fail "$m dump exits 0" "exit '$rc': $(sec dump_${mode}_err | head -2 | tr '\n' ' ')"
	d=dump_$mode
	# features the recorder reports in META
	want_proc=$mode; [ $mode = default ] || [ $mode = fentry ] && want_proc=tp_btf
	if fixed $d "\"proc_fork\":\"$want_proc\",\"proc_exec\":\"$want_proc\",\"proc_exit\":\"$want_proc\""; then
		pass "$m process events attached with $want_proc"
	else
		fail "$m process events attached with $want_proc" "$(sec $d | grep -o '"features":{[^}]*}' | head -1)"
	fi
	# the file I/O path: on fentry/fexit in the fentry mode (and by default
	# where fentry works), never in the fallbacks
	nfe=$(sec $d | grep -o '"fentry_syscalls":[0-9]*' | head -1 | cut -d: -f2)
	case $mode in
	fentry) [ "${nfe:-0}" -gt 0 ] && pass "$m file I/O on fentry/fexit ($nfe syscalls)" ||
		fail "$m file I/O on fentry/fexit" "fentry_syscalls '${nfe:-absent}'" ;;
	raw_tp | tp) [ "${nfe:-0}" = 0 ] && pass "$m file I/O through the syscall hooks (fentry_syscalls ${nfe:-absent})" ||
		fail "$m file I/O through the syscall hooks" "fentry_syscalls $nfe" ;;
	esac
	if fixed $d '"syscalls_missing_count":0'; then
		pass "$m all syscalls attached ($(sec $d | grep -o '"syscalls_attached":[0-9]*' | head -1))"
	else
		fail "$m all syscalls attached" "$(sec $d | grep -o '"features":{[^}]*}' | head -1)"
	fi
	# exact values
	missed=0
	expect() { # expect NAME REGEX
		local line
		line=$(sec $d | grep -E -m1 -- "$2")
		if [ -n "$line" ]; then pass "$m $1: ${line#"${line%%[! ]*}"}"; else fail "$m $1" "no dump line matches /$2/"; missed=1; fi
	}
	# the command's pid (the shell): its own syscalls are checked on it
	cp=$(sec $d | sed -n 's/^ *[0-9.]* [^ ]*\[\([0-9]*\)\] trace pid [0-9]* (command)$/\1/p' | head -1)
	[ -n "$cp" ] || cp=NOPID
	expect "exec of the command" "^ *[0-9.]+ busybox\\[$cp\\] exec \"/bin/busybox\" ppid [0-9]+\$"
	expect "openat /tmp/x O_CREAT" "^ *[0-9.]+ busybox\\[$cp\\] openat\\(AT_FDCWD, \"/tmp/x\", O_WRONLY\\|O_CREAT\\|O_TRUNC, 0666\\) = 3 <"
	expect "write of 3 bytes to /tmp/x" "^ *[0-9.]+ busybox\\[$cp\\] fd 1 \\(/tmp/x\\): read 0 B, wrote 3 B in 1 call "
	expect "cat's exec argv" '\] execve\("/proc/self/exe", \["cat", "/tmp/x"\]\) entered$'
	expect "cat opens /tmp/x read-only" '\] openat\(AT_FDCWD, "/tmp/x", O_RDONLY, 0\) = 3 <'
	expect "cat copies 3 bytes" '\] sendfile\(1, 3, NULL, [0-9]+\) = 3 <'
	expect "rename /tmp/x -> /tmp/y" '^ *[0-9.]+ busybox\[[0-9]+\] rename\("/tmp/x", "/tmp/y"\) = 0 <'
	expect "unlink /tmp/y" "^ *[0-9.]+ busybox\\[$cp\\] unlink\\(\"/tmp/y\"\\) = 0 <"
	expect "the command exits 0" "^ *[0-9.]+ busybox\\[$cp\\] exit: exited with code 0 "
	if [ $missed = 1 ]; then
		echo "    the $mode dump (first 40 lines):"
		sec $d | head -40 | cut -c1-240 | sed 's/^/    | /'
	fi
	if fixed $d '"lost":{"total":0,' && fixed $d '"ended_by":"command-exit"' && fixed $d '"command_status":0'; then
		pass "$m trailer: lost total 0, ended by command exit, status 0"
	else
		fail "$m trailer: lost 0, command exit 0" "$(sec $d | grep -m1 '^# trailer' | cut -c1-300)"
	fi
done
rc=$(rcof record_verbose)
[ "$rc" = 0 ] && pass "record -v (loader messages) exits 0" || fail "record -v exits 0" "exit '$rc'"
sec record_verbose | grep '^layerprof: ' | sed 's/^/INFO record -v: /'
sec record_verbose_nofentry | grep -E '^layerprof: (syscalls|phases)' | sed 's/^/INFO record -v (LAYERPROF_FORCE_SYSCALLS=raw_tp): /'
if [ "$(attach_status fentry)" = ok ]; then
	if sec check | grep -qE '^  file I/O path +ok +fentry/fexit'; then
		pass "check: the file I/O path on fentry/fexit"
	else
		fail "check: the file I/O path on fentry/fexit" "$(sec check | grep -m1 '^  file I/O path')"
	fi
	# not grep -q: it stops at the match and sed, still writing libbpf's
	# ~0.5 MB debug log, dies of SIGPIPE, which pipefail makes a failure
	if sec record_verbose | grep 'file I/O (open, read/write, close) on fentry/fexit' >/dev/null; then
		pass "record uses fentry/fexit for file I/O where fentry works"
	else
		fail "record uses fentry/fexit for file I/O where fentry works" "$(sec record_verbose | grep -m1 'syscalls:')"
	fi
fi 

# the BPF integration workload and its exact-value checker
if grep -q '^@@KC no_workload' "$out" || [ $have_workload = 0 ]; then
	skip "BPF integration workload" "no workload/check_workload in '${tests_dir:-?}' (make test-bins, or --tests-dir)"
else
	for mode in default fentry raw_tp tp; do
		m="[workload $mode]"
		rc=$(rcof record_workload_$mode)
		[ "$rc" = 0 ] && pass "$m record exits 0" ||
			fail "$m record exits 0" "exit '$rc': $(sec record_workload_${mode}_err | tail -3 | tr '\n' ' ')"
		if sec record_workload_${mode}_err | grep -qE '^layerprof: recorded [0-9]+ events \(0 lost\)'; then
			pass "$m 0 lost events ($(sec record_workload_${mode}_err | grep -oE 'recorded [0-9]+ events \(0 lost\)'))"
		else
			fail "$m 0 lost events" "$(sec record_workload_${mode}_err | grep -m1 recorded || echo 'no summary line')"
		fi
		cwp=$(sec check_workload_$mode | grep -c '^PASS ')
		cwf=$(sec check_workload_$mode | grep -c '^FAIL ')
		cws=$(sec check_workload_$mode | grep -c '^SKIP ')
		rc=$(rcof check_workload_$mode)
		if [ "$rc" = 0 ] && [ "$cwf" = 0 ] && [ "$cwp" -gt 0 ]; then
			pass "$m check_workload exact values: $cwp passed, 0 failed$( [ "$cws" = 0 ] || echo ", $cws skipped")"
		else
			fail "$m check_workload exact values" "exit '$rc', $cwp passed, $cwf failed"
		fi
		sec check_workload_$mode | grep -E '^(FAIL|SKIP) ' | sed 's/^/    | /'
	done
fi

t_total=$(($(date +%s) - t_start))
echo
echo "== layerprof check inside the VM ($krel):"
sec check | sed 's/^/    /'
echo
if [ $nfail = 0 ]; then keep_on_exit=0; fi
echo "== $krel booted under $accel: VM ${boot_secs}s, total ${t_total}s"
echo "kernel-check: $npass passed, $nfail failed$( [ $nskip = 0 ] || echo ", $nskip skipped")"
[ $nfail = 0 ]

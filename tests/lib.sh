# Shared helpers for the shell test suites. Source it; then call
#   pass NAME | fail NAME WHY | skip NAME WHY | finish
# Every suite ends with the plain line "N passed, N failed, N skipped" and
# exits non-zero when anything failed. Skips always say why.
# shellcheck shell=bash
LP_PASS=0 LP_FAIL=0 LP_SKIP=0
LP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LP_BIN=${LP_BIN:-$LP_ROOT/layerprof}
LP_ARTIFACTS=${LP_ARTIFACTS:-$LP_ROOT/tests/artifacts}
mkdir -p "$LP_ARTIFACTS"
# reports are checked in full: no table is cut to a terminal's width here
# (the CLI suite sets COLUMNS itself where it tests that)
unset COLUMNS

pass() { LP_PASS=$((LP_PASS + 1)); printf 'PASS %s\n' "$1"; }
fail() { LP_FAIL=$((LP_FAIL + 1)); printf 'FAIL %s: %s\n' "$1" "${2:-}"; }
skip() { LP_SKIP=$((LP_SKIP + 1)); printf 'SKIP %s: %s\n' "$1" "${2:-}"; }

# check NAME COMMAND...: pass when COMMAND succeeds, else fail with its output.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$(printf '%s' "$out" | tail -5 | tr '\n' ' ')"; fi
}

is_root() { [ "$(id -u)" = 0 ]; }

finish() {
	printf '%d passed, %d failed, %d skipped\n' "$LP_PASS" "$LP_FAIL" "$LP_SKIP"
	[ "$LP_FAIL" = 0 ]
}

# require_tool SUITE CMD: skip the whole suite (and exit 0) when CMD is missing.
require_tool() {
	command -v "$2" >/dev/null && return 0
	skip "$1" "needs $2 (apt-get install $2)"
	finish
	exit 0
}

# require_built SUITE: fail the whole suite (and exit 1) when layerprof is not built.
require_built() {
	[ -x "$LP_BIN" ] && return 0
	fail "$1" "$LP_BIN is not built (run: make)"
	finish
	exit 1
}

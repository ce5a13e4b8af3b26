#!/usr/bin/env bash
# The real-world suite (issue 9, point 6): real projects, real dependency
# installs from the real registries inside RUN, on Debian base images made with
# debootstrap, each built and recorded with layerprof on a private dockerd:
#
#   for each ecosystem (node python go rust apt) and each variant
#   (Dockerfile.bad: COPY . . before the install; Dockerfile.good: the
#   manifests first, the install, then COPY . .):
#     cold       first build on a fresh daemon
#     edit       one source file (not a manifest) edited, rebuilt
#     nochange   rebuilt with nothing changed
#
# The truth every assertion compares with is derived without layerprof:
#   - the context: `find -type f` of the build context (no .dockerignore):
#     file count, bytes; the unread groups (.git/ and the ecosystem's local
#     artefacts) with their files and bytes;
#   - cache hits and step times: the BuildKit progress stream of the build
#     (its CACHED and DONE lines), saved next to the recording;
#   - what the installer reads: its manifests (package.json +
#     package-lock.json; requirements.txt; go.mod + go.sum; Cargo.toml +
#     Cargo.lock; apt-packages.txt);
#   - the edited file; the sizes of what the COPY steps of the multi-stage
#     builds copy (`stat` in the image and in the context);
#   - layer provenance (node): the host's node_modules/ (`find -type f`) and
#     the image's own install (an image up to `npm ci`, `find` in it): the
#     clobbered-files (good) and wasted-layer-bytes (bad) files and bytes;
#   - socket bytes: from `layerprof dump --json`, bytes charged to a path
#     that the kernel could not have moved through that file: reads or writes
#     on an fd opened O_DIRECTORY (not O_TMPFILE) or O_PATH, writes on one
#     opened O_RDONLY, reads on one opened O_WRONLY (the fd was closed, which
#     is no record of its own, and reused by a socket or pipe); only the
#     processes of the build's own daemon.
# Every assertion prints `ok WHAT` or `FAIL WHAT expected X got Y`; then a
# results table per ecosystem; the last line is "N passed, N failed, N skipped".
#
# Recordings, progress streams, reports (JSON and text) of every build stay in
# LP_RW_RECORDINGS (default /var/cache/layerprof/realworld-recordings)/ECO/
# VARIANT-BUILD.{lprof,progress,json,txt}. Base images are cached as rootfs
# tarballs (tools/mk-debian-image.sh); downloads on the host go through the
# clients' caches; inside the builds every install really downloads.
# Skips (with the reason): not root, no dockerd/docker client/jq/debootstrap;
# an ecosystem whose registry (or the Debian mirror) is unreachable.
# Environment: LP_BIN, LP_DOCKERD, LP_RW_ONLY="node go" (ecosystems),
# LP_RW_VARIANTS="bad good", LP_RW_KEEP=1 (keep the work dir), LP_RW_TIMEOUT
# (seconds per build, default 900).
set -uo pipefail
. "$(dirname "$0")/../lib.sh"

DOCKERD=${LP_DOCKERD:-/usr/sbin/dockerd}
DOCKER=/usr/bin/docker
export DOCKER_BUILDKIT=1
TOOLS=$LP_ROOT/tools
HERE=$LP_ROOT/tests/realworld
RECS=${LP_RW_RECORDINGS:-/var/cache/layerprof/realworld-recordings}
ONLY=${LP_RW_ONLY:-node python go rust apt}
VARIANTS=${LP_RW_VARIANTS:-bad good}
BUILD_TIMEOUT=${LP_RW_TIMEOUT:-900}
T0=$SECONDS

ok() { LP_PASS=$((LP_PASS + 1)); printf 'ok %s\n' "$1"; }
# bad WHAT EXPECTED GOT
bad() { LP_FAIL=$((LP_FAIL + 1)); printf 'FAIL %s expected %s got %s\n' "$1" "$2" "$3"; }
# expect WHAT EXPECTED GOT: ok when equal
expect() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1" "$2" "$3"; fi; }
clip() { local s; s=$(tr '\n' ' ' | tr -s ' '); [ ${#s} -le 600 ] && printf '%s' "$s" || printf '%s...' "${s:0:600}"; }

# --- prerequisites ---
for need in "root:is_root" "dockerd ($DOCKERD):test -x $DOCKERD" "the docker 20.10 client ($DOCKER; apt-get install docker.io):test -x $DOCKER" \
	"jq (apt-get install jq):command -v jq" "debootstrap (apt-get install debootstrap):command -v debootstrap" "git:command -v git" "curl:command -v curl"; do
	what=${need%%:*}
	# shellcheck disable=SC2086
	if ! eval "${need#*:}" >/dev/null 2>&1; then
		skip "realworld" "needs $what"
		finish
		exit 0
	fi
done
if [ ! -x "$LP_BIN" ]; then
	bad "realworld: layerprof is built" "$LP_BIN" "missing (run: make)"
	finish
	exit 1
fi

# --- the private daemon, always stopped ---
work=$(mktemp -d /tmp/lp-rw.XXXX)
D=$work/d
HOST=unix://$D/docker.sock
cleaned=0
cleanup() {
	[ "$cleaned" = 1 ] && return 0
	cleaned=1
	trap '' INT TERM
	"$TOOLS/dockerd-private.sh" stop "$D" >/dev/null 2>&1 ||
		echo "realworld: could not stop the private dockerd in $D cleanly (see $D/dockerd.log)" >&2
	if [ "${LP_RW_KEEP:-0}" = 1 ]; then
		echo "realworld: kept $work (LP_RW_KEEP=1)" >&2
	elif ! rm -rf --one-file-system "$work" 2>/dev/null; then
		echo "realworld: could not remove $work (still mounted?)" >&2
	fi
}
trap cleanup EXIT
trap 'echo "realworld: interrupted" >&2; cleanup; exit 130' INT
trap 'echo "realworld: terminated" >&2; cleanup; exit 143' TERM

if ! "$TOOLS/dockerd-private.sh" start "$D" >"$work/dockerd-start.log" 2>&1; then
	bad "realworld: private dockerd starts" "a daemon on $D" "$(tail -5 "$work/dockerd-start.log" | clip)"
	finish
	exit 1
fi
ok "realworld: private dockerd starts ($D)"
docker() { "$DOCKER" -H "$HOST" "$@"; }

# --- per-ecosystem facts (what the truth is made of) ---
# install step (a substring of its RUN), the manifests it reads, the file the
# edit touches, the local-artefact directory, the comment syntax.
declare -A INSTALL MANIFESTS EDIT ARTEFACT COMMENT MULTI
INSTALL[node]="npm ci" MANIFESTS[node]="package-lock.json package.json" EDIT[node]=src/todos.js ARTEFACT[node]=node_modules COMMENT[node]="//"
INSTALL[python]="pip install" MANIFESTS[python]="requirements.txt" EDIT[python]=app/store.py ARTEFACT[python]=.venv COMMENT[python]="#"
INSTALL[go]="go mod download" MANIFESTS[go]="go.mod go.sum" EDIT[go]=internal/links/store.go ARTEFACT[go]=bin COMMENT[go]="//"
INSTALL[rust]="cargo fetch" MANIFESTS[rust]="Cargo.lock Cargo.toml" EDIT[rust]=src/summary.rs ARTEFACT[rust]=target COMMENT[rust]="//"
INSTALL[apt]="apt-get install" MANIFESTS[apt]="apt-packages.txt" EDIT[apt]=bin/sitecheck ARTEFACT[apt]=logs COMMENT[apt]="#"
# good variants that are multi-stage: "SRC_IN_IMAGE CONTEXT_FILE" of the two
# adjacent COPY steps of the final stage (COPY --from=build, COPY from context)
MULTI[go]="/usr/local/bin/server config/server.json"
MULTI[rust]="/usr/local/bin/logstat README.md"

# progress_steps FILE: one line per step of the BuildKit plain progress (the
# first line of each #id names it):
#   id<TAB>name<TAB>cached(0/1)<TAB>done_seconds(or -)<TAB>cacheable(0/1)
# cacheable: a Dockerfile step ("[stage n/m] INSTR") other than FROM.
progress_steps() {
	awk '
		/^#[0-9]+ / {
			id = $1
			if (!(id in name)) {
				n = substr($0, length(id) + 2)
				name[id] = n; order[++k] = id
				rest = n; sub(/^\[[^]]*\] /, "", rest)
				cacheable[id] = (n ~ /^\[[^]]*[0-9]+\/[0-9]+\] / && rest !~ /^FROM /) ? 1 : 0
				next
			}
			if ($2 == "CACHED" && NF == 2) cached[id] = 1
			else if ($2 == "DONE" && NF == 3) { d = $3; sub(/s$/, "", d); done[id] = d }
		}
		END {
			for (i = 1; i <= k; i++) {
				id = order[i]
				printf "%s\t%s\t%d\t%s\t%d\n", id, name[id], (id in cached) ? 1 : 0, (id in done) ? done[id] : "-", cacheable[id]
			}
		}' "$1"
}

# sockets_in_file_io LPROF: fd_io records whose bytes cannot be the named
# file's. layerprof sums read/write bytes per (process, fd) and names the fd by
# the path of its open; close() is not a record of its own, so an fd number
# closed and reused by an untraced socket(), pipe() or accept() keeps the old
# name. The kernel forbids read/write on a directory fd (O_TMPFILE aside) and
# on an O_PATH fd, write on an O_RDONLY fd and read on an O_WRONLY fd, so such
# bytes on an fd whose last traced open
# (same process, same fd, same path) was of that kind went through another
# object: a socket's bytes charged to a file path. One line each:
#   comm[pid] fd N PATH (how it was opened) read R B, wrote W B
# Only the processes of the daemon ROOTPID (dockerd, its containerd, shims,
# runc, the build's containers) count: layerprof also traces every other
# dockerd on the host, whose work is not this build's.
sockets_in_file_io() {
	"$LP_BIN" dump --json "$1" 2>/dev/null | jq -r '
		if .kind == "proc_seed" then ["P", .ts_ns, .pid, .ppid] | @tsv
		elif .kind == "fork" then ["P", .ts_ns, .child_pid, .pid] | @tsv
		elif .kind == "syscall" then
			if (.syscall | IN("open", "openat", "creat")) and .ret >= 0 then
				["S", .ts_ns, .pid, .syscall, .ret,
				 (if .syscall == "openat" then .args[2] elif .syscall == "open" then .args[1] else 577 end | tostring),
				 ((.strings // [])[0] | .resolved // .raw // "")] | @tsv
			elif (.syscall | IN("dup", "dup2", "dup3", "fcntl", "openat2")) and .ret >= 0 then
				["D", .ts_ns, .pid, .ret] | @tsv
			else empty end
		elif .kind == "fd_io" and .path != null and (.read_bytes + .write_bytes) > 0 then
			["F", .first_ts_ns, .pid, .fd, .path, .read_bytes, .write_bytes, .comm] | @tsv
		else empty end' 2>/dev/null |
		sort -t "$(printf '\t')" -k2,2n -s |
		awk -F '\t' -v root="$2" '
			BEGIN { mine[root] = 1 }
			$1 == "P" { if ($4 in mine) mine[$3] = 1; next }
			!($3 in mine) { next }
			$1 == "S" { fl[$3 SUBSEP $5] = $6 + 0; op[$3 SUBSEP $5] = $7; next }
			$1 == "D" { delete fl[$3 SUBSEP $4]; delete op[$3 SUBSEP $4]; next }
			$1 == "F" {
				k = $3 SUBSEP $4
				if (!(k in fl) || op[k] != $5) next
				# O_TMPFILE carries the O_DIRECTORY bit and is a regular file
				f = fl[k]; acc = f % 4; tmpf = int(f / 4194304) % 2
				dir = !tmpf && int(f / 65536) % 2; opath = int(f / 2097152) % 2
				why = ""
				if (opath && ($6 + $7) > 0) why = "opened O_PATH"
				else if (dir && ($6 + $7) > 0) why = "opened O_DIRECTORY"
				else if (acc == 0 && $7 > 0) why = "opened O_RDONLY, written"
				else if (acc == 1 && $6 > 0) why = "opened O_WRONLY, read"
				if (why != "")
					printf "%s[%s] fd %s %s (%s) read %s B, wrote %s B\n", $8, $3, $4, $5, why, $6, $7
			}'
}

# The results table rows.
RESULTS=$work/results.tsv
: >"$RESULTS"

# record_build ECO VARIANT BUILD DIR: records the build; sets J, P (progress
# steps file), OUT (build output); returns 1 (after a FAIL) when no report.
J= P= OUT= REC_RC=0 BUILD_ARGS=()
record_build() {
	local eco=$1 v=$2 b=$3 dir=$4 t=$SECONDS base
	base=$RECS/$eco/$v-$b
	OUT=$base.progress J=$base.json P=$work/$eco-$v-$b.steps
	rm -f "$base".*
	(cd "$dir" && timeout --foreground -k 10 "$BUILD_TIMEOUT" "$LP_BIN" record -o "$base.lprof" -- \
		"$DOCKER" -H "$HOST" build --network=host -f "Dockerfile.$v" "${BUILD_ARGS[@]}" -t "lp-rw/$eco-$v" . \
		>"$OUT" 2>&1 </dev/null)
	REC_RC=$?
	echo "# $eco/$v/$b: recorded in $((SECONDS - t)) s (record exit $REC_RC): $base.lprof"
	progress_steps "$OUT" >"$P"
	expect "$eco/$v/$b: record exits 0 (the build succeeded)" 0 "$REC_RC"
	if [ "$REC_RC" != 0 ]; then
		echo "#   last lines of the build: $(tail -8 "$OUT" | clip)"
	fi
	if [ ! -s "$base.lprof" ]; then
		bad "$eco/$v/$b: a trace" "$base.lprof" "none"
		return 1
	fi
	"$LP_BIN" report "$base.lprof" >"$base.txt" 2>"$work/report.err"
	if ! "$LP_BIN" report --json "$base.lprof" >"$J" 2>>"$work/report.err" ||
		! jq -e '.schema == "layerprof.report/1"' "$J" >/dev/null 2>&1; then
		bad "$eco/$v/$b: report --json" "a layerprof.report/1 document" "$(clip <"$work/report.err")"
		return 1
	fi
	return 0
}

# q JQ: a query on the current report, compact.
q() { jq -c "$@" "$J" 2>&1; }

# context_truth DIR: CTX_FILES, CTX_BYTES of `find -type f`; BLOAT_* of the
# unread groups (.git and the artefact dir).
CTX_FILES=0 CTX_BYTES=0 BLOAT_FILES=0 BLOAT_BYTES=0 BLOAT_LINES=
context_truth() {
	local dir=$1 art=$2
	read -r CTX_FILES CTX_BYTES < <(cd "$dir" && find . -type f -printf '%s\n' | awk '{ n++; s += $1 } END { print n + 0, s + 0 }')
	read -r BLOAT_FILES BLOAT_BYTES < <(cd "$dir" && find .git "$art" -type f -printf '%s\n' | awk '{ n++; s += $1 } END { print n + 0, s + 0 }')
	BLOAT_LINES=$(printf '%s\n' ".git/" "$art/" | sort | jq -R . | jq -sc .)
}

# The assertions every build gets: common_checks ECO VARIANT BUILD CONTEXT_DIR
common_checks() {
	local eco=$1 v=$2 b=$3 dir=$4 N="$eco/$v/$b" exp got pat cached_n cacheable_n rate_exp socks line id name c d f wall w
	pat=${INSTALL[$eco]}
	expect "$N: build.status" '"ok"' "$(q '.build.status')"
	expect "$N: no failed-step finding" 0 "$(q '[.findings[] | select(.kind == "failed-step")] | length')"

	# hit rate against the progress stream's CACHED lines
	cacheable_n=$(awk -F '\t' '$5 == 1' "$P" | wc -l)
	cached_n=$(awk -F '\t' '$5 == 1 && $3 == 1' "$P" | wc -l)
	if [ "$cacheable_n" = 0 ]; then
		bad "$N: the progress stream has Dockerfile steps" ">0" 0
	else
		expect "$N: cached_steps == the progress stream's CACHED steps" "$cached_n" "$(q '.build.cached_steps')"
		rate_exp=$(awk -v a="$cached_n" -v b="$cacheable_n" 'BEGIN { printf "%.3f", a / b }')
		got=$(q '.build.cache_hit_rate * 1000 | round / 1000' 2>/dev/null)
		got=$(awk -v g="$got" 'BEGIN { printf "%.3f", g }')
		expect "$N: cache_hit_rate == $cached_n/$cacheable_n CACHED in the progress stream" "$rate_exp" "$got"
	fi

	# step times: every step that ran (FROM and [internal] steps included),
	# against its progress DONE time (0.1 s resolution: at least 300 ms of slack)
	while IFS=$'\t' read -r id name c d f; do
		[ "$c" = 0 ] && [ "$d" != - ] || continue
		case "$name" in sha256:*) continue ;; esac
		wall=$(jq -r --arg n "$name" '[.steps[] | select(.name == $n) | .wall_ms] | first // "none"' "$J")
		w=$(awk -v d="$d" 'BEGIN { printf "%d", d * 1000 }')
		if [ "$wall" = none ]; then
			bad "$N: step '${name:0:60}' in the report" "a step of that name" "none"
		elif awk -v g="$wall" -v w="$w" 'BEGIN { t = w * 0.25; if (t < 300) t = 300; exit !(g - w <= t && w - g <= t) }'; then
			ok "$N: wall_ms of '${name:0:50}' within 25% of the progress DONE ${d}s"
		else
			bad "$N: wall_ms of '${name:0:50}' within 25% of the progress DONE ${d}s" "${w} ms" "${wall} ms"
		fi
	done <"$P"

	# the context, from find -type f
	expect "$N: build.context_files == find -type f" "$CTX_FILES" "$(q '.build.context_files')"
	expect "$N: build.context_bytes == find -type f" "$CTX_BYTES" "$(q '.build.context_bytes')"
	# the daemon writes a file it receives as .tmp.N and renames it: the
	# context step's files written are the files sent, not those too
	expect "$N: the context step wrote the files sent, not the transfer's temporaries" \
		"$(q '.build.context_sent_files // 0')" \
		"$(q '[.steps[] | select(.name == "[internal] load build context") | .files_written][0] // 0')"

	# context-bloat: .git/ and the local artefacts, their files and bytes
	got=$(q '[.findings[] | select(.kind == "context-bloat")] | length')
	expect "$N: one context-bloat finding" 1 "$got"
	if [ "$got" -ge 1 ] 2>/dev/null; then
		expect "$N: context-bloat .dockerignore lines" "$BLOAT_LINES" \
			"$(q '[.findings[] | select(.kind == "context-bloat")][0].edit_after // "" | split("\n") | map(select(. != "")) | sort')"
		expect "$N: context-bloat bytes == find -type f of .git/ + ${ARTEFACT[$eco]}/" "$BLOAT_BYTES" \
			"$(q '[.findings[] | select(.kind == "context-bloat")][0].estimated_savings_bytes')"
		expect "$N: context-bloat files == find -type f of .git/ + ${ARTEFACT[$eco]}/" "$BLOAT_FILES" \
			"$(q '[.findings[] | select(.kind == "context-bloat")][0] | .paths_total // (.paths | length)')"
	fi
	expect "$N: secret-in-context names exactly .env" '[".env"]' \
		"$(q '[.findings[] | select(.kind == "secret-in-context") | .paths[]] | sort')"

	# good: the COPY of the manifests, when it ran, wrote exactly them
	# (sizes by stat in the context): not the files the context transfer
	# sent, nor the Dockerfile's own snapshot
	if [ "$v" = good ]; then
		local names files bytes row
		names=$(printf '%s\n' ${MANIFESTS[$eco]} | jq -R . | jq -sc .)
		files=$(printf '%s\n' ${MANIFESTS[$eco]} | wc -l)
		bytes=$(cd "$dir" && stat -c %s ${MANIFESTS[$eco]} | awk '{ s += $1 } END { print s + 0 }')
		row=$(q --argjson m "$names" '[.steps[] | select(.instruction == "COPY" and (.name as $n | $m | all(. as $f | $n | contains(" " + $f))))][0] | [.cached, .files_written, .bytes_written]')
		case "$row" in
		'[true,'*) ok "$N: the manifests' COPY is cached (nothing written)" ;;
		*) expect "$N: the manifests' COPY wrote them: files, bytes (stat)" "[false,$files,$bytes]" "$row" ;;
		esac
	fi

	# no socket bytes charged to a file
	socks=$(sockets_in_file_io "$RECS/$eco/$v-$b.lprof" "$(tr -dc 0-9 <"$D/dockerd.pid")")
	if [ -z "$socks" ]; then
		ok "$N: no impossible I/O charged to a file path (socket bytes)"
	else
		# the build's own processes first, then the daemons'
		bad "$N: no impossible I/O charged to a file path (socket bytes)" "none" \
			"$(printf '%s\n' "$socks" | grep -cvE '^(dockerd|containerd|runc)') record(s) of container processes, $(printf '%s\n' "$socks" | grep -cE '^(dockerd|containerd|runc)') of the daemons, e.g. $( { printf '%s\n' "$socks" | grep -vE '^(dockerd|containerd|runc)' | sort -t' ' -k10,10nr; printf '%s\n' "$socks" | grep -E '^(dockerd|containerd|runc)'; } | head -3 | clip)"
	fi
}

# The install step: in the progress stream (cached, DONE) and in the report.
INST_ID= INST_NAME= INST_CACHED= INST_DONE=
install_step() {
	local pat=$1
	IFS=$'\t' read -r INST_ID INST_NAME INST_CACHED INST_DONE _ < <(awk -F '\t' -v p="$pat" '$5 == 1 && index($2, "] RUN ") && index($2, p)' "$P" | head -1)
}

run_eco() {
	local eco=$1 v b rc base src N exp got wall sav reason args_file art mstage
	echo "# === $eco ($((SECONDS - T0)) s)"
	mkdir -p "$RECS/$eco"
	local ti=$SECONDS
	"$TOOLS/mk-debian-image.sh" "$D/docker.sock" "$eco" apt >"$work/$eco-image.log" 2>&1
	rc=$?
	sed 's/^/#   /' "$work/$eco-image.log"
	if [ "$rc" = 3 ]; then
		skip "$eco" "the Debian mirror is unreachable: $(tail -1 "$work/$eco-image.log")"
		return 0
	elif [ "$rc" != 0 ]; then
		bad "$eco: base images layerprof/debian-$eco, layerprof/debian-apt" "made" "exit $rc: $(tail -3 "$work/$eco-image.log" | clip)"
		return 0
	fi
	echo "# $eco: base images ready in $((SECONDS - ti)) s"
	base=$work/$eco/base
	mkdir -p "$work/$eco"
	ti=$SECONDS
	"$HERE/prepare.sh" "$eco" "$base" >"$work/$eco/build-args" 2>"$work/$eco/prepare.err"
	rc=$?
	if [ "$rc" = 3 ]; then
		skip "$eco" "$(tail -1 "$work/$eco/prepare.err")"
		return 0
	elif [ "$rc" != 0 ]; then
		bad "$eco: prepare.sh" "exit 0" "exit $rc: $(tail -5 "$work/$eco/prepare.err" | clip)"
		return 0
	fi
	echo "# $eco: context prepared in $((SECONDS - ti)) s"
	mapfile -t BUILD_ARGS <"$work/$eco/build-args"
	art=${ARTEFACT[$eco]}

	for v in $VARIANTS; do
		src=$work/$eco/$v
		cp -a "$base" "$src"
		for b in cold edit nochange; do
			N="$eco/$v/$b"
			if [ "$b" = edit ]; then
				printf '%s edited: %s\n' "${COMMENT[$eco]}" "$(date -u +%FT%TZ)" >>"$src/${EDIT[$eco]}"
			fi
			context_truth "$src" "$art"
			record_build "$eco" "$v" "$b" "$src" || continue
			install_step "${INSTALL[$eco]}"
			if [ -z "$INST_ID" ]; then
				bad "$N: the install step (RUN ...${INSTALL[$eco]}...) in the progress stream" "one" "none"
				continue
			fi
			common_checks "$eco" "$v" "$b" "$src"
			layer_checks "$eco" "$v" "$b" "$src"
			wall=$(jq -r --arg n "$INST_NAME" '[.steps[] | select(.name == $n)][0] | .wall_ms // "none"' "$J")
			local lo_n lo_json
			lo_n=$(q '[.findings[] | select(.kind == "layer-order")] | length')
			case "$b" in
			cold)
				expect "$N: the install step ran (progress)" 0 "$INST_CACHED"
				expect "$N: the install step is not cached (report)" false \
					"$(jq -c --arg n "$INST_NAME" '[.steps[] | select(.name == $n)][0].cached' "$J")"
				[ "$v" = good ] && expect "$N: no layer-order finding" 0 "$lo_n"
				# a cold build re-ran nothing; if layer-order still advises, it must name the manifests
				if [ "$v" = bad ] && [ "$lo_n" -ge 1 ] 2>/dev/null; then
					exp=$(printf '%s\n' ${MANIFESTS[$eco]} | sort | jq -R . | jq -sc .)
					expect "$N: layer-order (given on a cold build) names only the manifests the installer read" "$exp" \
						"$(q '[.findings[] | select(.kind == "layer-order")][0].paths | sort')"
				fi
				if [ "$v" = good ] && [ -n "${MULTI[$eco]:-}" ]; then
					multi_checks "$eco" "$src"
				fi
				;;
			edit)
				expect "$N: cache-miss names exactly the edited file" "[\"${EDIT[$eco]}\"]" \
					"$(q '[.findings[] | select(.kind == "cache-miss") | .paths] | map(select(length > 0)) | first // []')"
				expect "$N: context_changed_files == 1" 1 "$(q '.build.context_changed_files')"
				if [ "$v" = bad ]; then
					expect "$N: the install step re-ran (progress)" 0 "$INST_CACHED"
					# layer-order is documented for RUNs worth reordering: >= 1 s of
					# the kernel's time; BuildKit's DONE is rounded to 0.1 s and
					# counts the vertex's overhead, so near 1 s it cannot judge
					if [ "$INST_DONE" = - ] || awk -v d="$INST_DONE" 'BEGIN { exit !(d < 0.9) }'; then
						skip "$N: one layer-order finding" "the install step took ${INST_DONE}s (progress), under the 1 s a RUN must take to be worth reordering"
					elif awk -v d="$INST_DONE" 'BEGIN { exit !(d < 1.2) }'; then
						skip "$N: one layer-order finding" "the install step took ${INST_DONE}s (progress), too close to the 1 s threshold for the progress stream to tell"
					else
						expect "$N: one layer-order finding (the install step took ${INST_DONE}s)" 1 "$lo_n"
					fi
					if [ "$lo_n" -ge 1 ] 2>/dev/null; then
						exp=$(printf '%s\n' ${MANIFESTS[$eco]} | sort | jq -R . | jq -sc .)
						expect "$N: layer-order paths == the manifests the installer read" "$exp" \
							"$(q '[.findings[] | select(.kind == "layer-order")][0].paths | sort')"
						expect "$N: layer-order is on the install step" "\"$INST_ID\"" \
							"$(q '[.findings[] | select(.kind == "layer-order")][0].step')"
						sav=$(q '[.findings[] | select(.kind == "layer-order")][0].estimated_savings_ms')
						if [ "$wall" = none ] || [ "$wall" = null ] || [ "$wall" -le 0 ] 2>/dev/null; then
							bad "$N: layer-order savings within 25% of the install step's wall time" "a measured install step" "wall_ms $wall"
						elif awk -v s="$sav" -v w="$wall" 'BEGIN { exit !(s >= 0.75 * w && s <= 1.25 * w) }'; then
							ok "$N: layer-order savings ${sav} ms within 25% of the install step's ${wall} ms"
						else
							bad "$N: layer-order savings within 25% of the install step's wall time" "$wall ms +-25%" "$sav ms"
						fi
					fi
				else
					expect "$N: the install step is CACHED (progress)" 1 "$INST_CACHED"
					expect "$N: the install step is cached (report)" true \
						"$(jq -c --arg n "$INST_NAME" '[.steps[] | select(.name == $n)][0].cached' "$J")"
					expect "$N: no layer-order finding" 0 "$lo_n"
				fi
				;;
			nochange)
				expect "$N: every cacheable step CACHED in the progress stream" \
					"$(awk -F '\t' '$5 == 1' "$P" | wc -l)" "$(awk -F '\t' '$5 == 1 && $3 == 1' "$P" | wc -l)"
				expect "$N: no layer-order finding" 0 "$lo_n"
				expect "$N: no cache-miss finding" 0 "$(q '[.findings[] | select(.kind == "cache-miss")] | length')"
				expect "$N: context_changed_files == 0" 0 "$(q '.build.context_changed_files')"
				;;
			esac
			printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$eco" "$v" "$b" \
				"$([ "$INST_CACHED" = 1 ] && echo cached || echo "${INST_DONE}s")" "$wall" \
				"$(q '.build.cache_hit_rate * 100 | round')%" \
				"$(awk -F '\t' '$5 == 1 && $3 == 1' "$P" | wc -l)/$(awk -F '\t' '$5 == 1' "$P" | wc -l)" \
				"$(jq -r '[.findings[] | .kind + (if .kind == "layer-order" then "(" + (.paths | join(",")) + "; " + (.estimated_savings_ms | tostring) + " ms)" elif .kind == "cache-miss" then "(" + (.paths | join(",")) + ")" elif .kind == "context-bloat" then "(" + ((.edit_after // "") | split("\n") | map(select(. != "")) | join(",")) + "; " + (.estimated_savings_bytes | tostring) + " B)" else "" end)] | join(" ")' "$J")" >>"$RESULTS"
		done
	done
	layer_checks_finish "$eco"
	ignore_checks "$eco"
}

# layer_checks ECO VARIANT BUILD DIR: the layer provenance findings (node:
# the host's node_modules/, made by `npm ci` on the host, is in the context
# and there is no .dockerignore). The truth, without layerprof:
#   H: `find node_modules -type f` of the context (paths, sizes);
#   I: the image's own install: `find /app/node_modules -type f` in an image
#      of Dockerfile.good up to its `npm ci` line, built from a copy of the
#      manifests once every build of the ecosystem is done (any other build
#      before then would change what the daemon keeps of the context)
#      (layer_checks_finish).
# good (COPY . . after npm ci): one clobbered-files on COPY . ., naming the
# files of H that are also in I, saving the bytes of H (what COPY . . wrote
# there); bad (COPY . . before npm ci, which removes node_modules/ before it
# installs): one wasted-layer-bytes on the install step, all of H (files and
# bytes) in COPY . .'s layer for nothing. nochange: nothing ran, nothing
# found. No secret-in-layer (.env is copied and stays).
LAYER_PENDING=()
layer_checks() {
	local eco=$1 v=$2 b=$3 dir=$4 N="$1/$2/$3" h_files h_bytes
	[ "$eco" = node ] || return 0
	expect "$N: no secret-in-layer finding" 0 "$(q '[.findings[] | select(.kind == "secret-in-layer")] | length')"
	if [ "$b" = nochange ]; then
		expect "$N: no clobbered-files or wasted-layer-bytes (nothing ran)" 0 \
			"$(q '[.findings[] | select(.kind == "clobbered-files" or .kind == "wasted-layer-bytes")] | length')"
		return 0
	fi
	(cd "$dir" && find node_modules -type f -printf '%P\t%s\n' | LC_ALL=C sort) >"$work/$eco-$v-$b-host-nm.tsv"
	read -r h_files h_bytes < <(awk -F '\t' '{ n++; s += $2 } END { print n + 0, s + 0 }' "$work/$eco-$v-$b-host-nm.tsv")
	if [ "$v" = bad ]; then
		expect "$N: one wasted-layer-bytes, no clobbered-files" "1 0" \
			"$(q '[([.findings[] | select(.kind == "wasted-layer-bytes")] | length), ([.findings[] | select(.kind == "clobbered-files")] | length)] | join(" ")' -r)"
		expect "$N: wasted-layer-bytes is on the install step" "\"$INST_ID\"" "$(q '[.findings[] | select(.kind == "wasted-layer-bytes")][0].step')"
		expect "$N: wasted-layer-bytes files == find -type f of the host node_modules/" "$h_files" \
			"$(q '[.findings[] | select(.kind == "wasted-layer-bytes")][0].paths_total')"
		expect "$N: wasted-layer-bytes bytes == find -type f of the host node_modules/" "$h_bytes" \
			"$(q '[.findings[] | select(.kind == "wasted-layer-bytes")][0].estimated_savings_bytes')"
		return 0
	fi
	expect "$N: one clobbered-files, no wasted-layer-bytes" "1 0" \
		"$(q '[([.findings[] | select(.kind == "clobbered-files")] | length), ([.findings[] | select(.kind == "wasted-layer-bytes")] | length)] | join(" ")' -r)"
	expect "$N: clobbered-files is on COPY . ." "$(q '[.steps[] | select(.instruction == "COPY" and (.name | endswith("COPY . .")))][0].id')" \
		"$(q '[.findings[] | select(.kind == "clobbered-files")][0].step')"
	expect "$N: clobbered-files savings == find -type f bytes of the host node_modules/" "$h_bytes" \
		"$(q '[.findings[] | select(.kind == "clobbered-files")][0].estimated_savings_bytes')"
	expect "$N: the .dockerignore line is node_modules" '"node_modules\n"' \
		"$(q '[.findings[] | select(.kind == "clobbered-files")][0].edit_after')"
	LAYER_PENDING+=("$N|$J|$work/$eco-$v-$b-host-nm.tsv|$dir")
}

# ignore_checks ECO (node): the good Dockerfile again, with a .dockerignore
# (BuildKit's per-Dockerfile Dockerfile.<name>.dockerignore) that keeps the
# host's node_modules/ out: the fix clobbered-files suggests. No layer
# finding may remain, and the context no longer holds node_modules/. Runs
# after every other build of the ecosystem (see layer_checks).
ignore_checks() {
	local eco=$1 src=$work/$1/good-ignore N="$1/good-ignore/cold"
	[ "$eco" = node ] || return 0
	cp -a "$base" "$src"
	cp "$src/Dockerfile.good" "$src/Dockerfile.good-ignore"
	printf 'node_modules\n' >"$src/Dockerfile.good-ignore.dockerignore"
	record_build "$eco" good-ignore cold "$src" || return 0
	expect "$N: with .dockerignore: no clobbered-files, wasted-layer-bytes or secret-in-layer" 0 \
		"$(q '[.findings[] | select(.kind == "clobbered-files" or .kind == "wasted-layer-bytes" or .kind == "secret-in-layer")] | length')"
	expect "$N: with .dockerignore: the context holds no node_modules/ file" 0 \
		"$(cd "$src" && "$LP_BIN" dump "$RECS/$eco/good-ignore-cold.lprof" 2>/dev/null | grep -c 'context file "node_modules/')"
}

# layer_checks_finish ECO: the checks that need the image's own install (I).
layer_checks_finish() {
	local eco=$1 item N j h dir o_files
	[ "$eco" = node ] && [ ${#LAYER_PENDING[@]} -gt 0 ] || return 0
	IFS='|' read -r N j h dir <<<"${LAYER_PENDING[0]}"
	mkdir -p "$work/$eco-install"
	cp "$dir/package.json" "$dir/package-lock.json" "$work/$eco-install/"
	sed '/npm ci/q' "$dir/Dockerfile.good" >"$work/$eco-install/Dockerfile"
	if ! (cd "$work/$eco-install" && docker build --network=host "${BUILD_ARGS[@]}" \
		-t "lp-rw/$eco-install" . >"$work/$eco-install.out" 2>&1 </dev/null) ||
		! docker run --rm --network=none --entrypoint /usr/bin/find "lp-rw/$eco-install" /app/node_modules -type f \
			-printf '%P\t%s\n' 2>>"$work/$eco-install.out" | LC_ALL=C sort >"$work/$eco-image-nm.tsv" ||
		[ ! -s "$work/$eco-image-nm.tsv" ]; then
		bad "$eco: the image's own node_modules/ (an image up to npm ci)" "listed" "$(tail -3 "$work/$eco-install.out" | clip)"
		return 0
	fi
	echo "# $eco: the image's own install: $(wc -l <"$work/$eco-image-nm.tsv") files in /app/node_modules"
	for item in "${LAYER_PENDING[@]}"; do
		IFS='|' read -r N j h dir <<<"$item"
		o_files=$(LC_ALL=C join -t "$(printf '\t')" "$h" "$work/$eco-image-nm.tsv" | wc -l)
		expect "$N: clobbered-files names the files both in the host's node_modules/ and in the image's install" "$o_files" \
			"$(jq -c '[.findings[] | select(.kind == "clobbered-files")][0].paths_total' "$j" 2>&1)"
	done
	LAYER_PENDING=()
}

# multi_checks ECO DIR: the two adjacent COPY steps of the final stage each
# wrote exactly what they copy.
multi_checks() {
	local eco=$1 dir=$2 img ctxf N="$1/good/cold" s_img s_ctx id1 id2 n1 n2
	read -r img ctxf <<<"${MULTI[$eco]}"
	s_img=$(docker run --rm --network=none --entrypoint /usr/bin/stat "lp-rw/$eco-good" -c %s "$img" 2>&1)
	s_ctx=$(stat -c %s "$dir/$ctxf")
	n1=$(awk -F '\t' '$5 == 1 && index($2, "COPY --from=")' "$P" | cut -f2 | head -1)
	n2=$(awk -F '\t' -v f="$ctxf" '$5 == 1 && index($2, "] COPY " f " ")' "$P" | cut -f2 | head -1)
	if [ -z "$n1" ] || [ -z "$n2" ]; then
		bad "$N: the two COPY steps of the final stage in the progress stream" "COPY --from=build and COPY $ctxf" "'$n1' '$n2'"
		return
	fi
	expect "$N: '${n1:0:60}' wrote 1 file" 1 "$(jq -c --arg n "$n1" '[.steps[] | select(.name == $n)][0].files_written' "$J")"
	expect "$N: '${n1:0:60}' wrote the size of $img in the image" "$s_img" \
		"$(jq -c --arg n "$n1" '[.steps[] | select(.name == $n)][0].bytes_written' "$J")"
	expect "$N: '${n2:0:60}' wrote 1 file" 1 "$(jq -c --arg n "$n2" '[.steps[] | select(.name == $n)][0].files_written' "$J")"
	expect "$N: '${n2:0:60}' wrote the size of $ctxf" "$s_ctx" \
		"$(jq -c --arg n "$n2" '[.steps[] | select(.name == $n)][0].bytes_written' "$J")"
}

for eco in $ONLY; do
	if [ -z "${INSTALL[$eco]:-}" ]; then
		bad "realworld: LP_RW_ONLY" "node python go rust apt" "$eco"
		continue
	fi
	s=$SECONDS
	run_eco "$eco"
	echo "# $eco: $((SECONDS - s)) s"
done

echo
echo "=== results (install step: progress DONE or cached / report wall_ms; hit rate: report / progress CACHED)"
printf '%-7s %-5s %-9s %-10s %-9s %-6s %-6s %s\n' ecosys var build install wall_ms rate cached findings
while IFS=$'\t' read -r e v b i w r c f; do
	printf '%-7s %-5s %-9s %-10s %-9s %-6s %-6s %s\n' "$e" "$v" "$b" "$i" "$w" "$r" "$c" "$f"
done <"$RESULTS"
cp "$RESULTS" "$RECS/results.tsv" 2>/dev/null
echo "# realworld: $((SECONDS - T0)) s in all; recordings in $RECS"
finish

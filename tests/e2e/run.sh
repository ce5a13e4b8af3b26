#!/usr/bin/env bash
# End-to-end tests: real `docker build`s of the fixture projects on a private
# dockerd, recorded with `layerprof record -- docker build ...`, and assertions
# on `layerprof report --json` (docs/architecture.md: "Findings", "Report contract", "Tests"):
#   bad-order     rebuild after editing src/index.js: cache-miss names exactly
#                 src/index.js, layer-order names package.json with savings close
#                 to the slow RUN's wall time, the RUN re-ran, hit-rate semantics,
#                 --target pass/fail, dump (text and NDJSON)
#   good-order    first build of a fresh tag (clean: no layer-order); rebuild
#                 after the same edit: no layer-order, the slow RUN is cached
#   installer     a simulated npm ci deletes and re-creates the host node_modules
#                 that COPY placed: layer-order names only the manifests, and
#                 context-bloat counts node_modules/ (provenance, not path names)
#   layers        layer provenance (issue 15): layers-bad gets exactly one
#                 clobbered-files (COPY . . over the simulated npm ci's
#                 node_modules/), one wasted-layer-bytes (a 10 MiB archive made
#                 by one RUN, deleted by the next: its bytes match the layer's
#                 size in `docker history`) and one secret-in-layer (.env copied,
#                 then rm'd); its rebuild after an edit (install cached) still
#                 gets the clobbered-files; layers-good (.dockerignore, same-RUN
#                 cleanup, multi-stage) gets none of them
#   adjacent-copies  two adjacent COPYs of a multi-stage cold build keep their
#                 own layers' files and bytes; steps timed by the kernel; the
#                 RUN's cat of 2 empty directories (no O_DIRECTORY) is marked
#                 as directory opens in the trace
#   bloated       context-bloat with .dockerignore lines, secret-in-context
#   missing-file  record exits with the build's status, failed-step
#   multi-stage   stage names, COPY --from=build attributed
#   two-daemons   the bad-order rebuild recorded while a second private dockerd
#                 keeps building a project with the same file names: the report
#                 keeps to the daemon that ran the build
#   attach        `layerprof record` with NO command (attach mode: the daemons
#                 only) while bad-order is built --no-cache from another shell:
#                 steps inferred from kernel evidence (steps_inferred, the RUN by
#                 its sh -c text and its time, the COPY), cache hit rate unknown
# Every fixture also checks that FROM/WORKDIR steps get no file writes (the
# Dockerfile and context transfers belong to the [internal] steps).
# Needs root (BPF) and dockerd; otherwise it prints SKIP lines and exits 0.
# One private dockerd (tools/dockerd-private.sh, --bridge=none, so every build
# passes --network=host) in a fresh /tmp/lp-e2e.XXXX, always stopped at exit.
# Traces, reports and build logs of a fixture with a failure are kept in
# tests/artifacts/e2e/<fixture>/.
# Environment: LP_BIN (layerprof binary), LP_DOCKERD (default /usr/sbin/dockerd),
# LP_E2E_KEEP=1 (keep the work dir and the daemon's data-root),
# LP_E2E_ONLY="bad-order bloated" (run only these fixtures).
set -uo pipefail
. "$(dirname "$0")/../lib.sh"

DOCKERD=${LP_DOCKERD:-/usr/sbin/dockerd}
DOCKER=/usr/bin/docker
export DOCKER_BUILDKIT=1
TOOLS=$LP_ROOT/tools
FIXTURES=$LP_ROOT/tests/fixtures
ART=$LP_ARTIFACTS/e2e
ONLY=${LP_E2E_ONLY:-}
T0=$SECONDS

# --- prerequisites: SKIP (with the reason) when the host cannot run these ---
if ! is_root; then
	skip "e2e" "needs root"
	finish
	exit 0
fi
if [ ! -x "$DOCKERD" ]; then
	skip "e2e" "needs dockerd ($DOCKERD not found)"
	finish
	exit 0
fi
if [ ! -x "$DOCKER" ]; then
	skip "e2e" "needs the docker 20.10 client ($DOCKER not found; apt-get install docker.io)"
	finish
	exit 0
fi
require_tool e2e jq
require_built e2e

# --- the private daemon, always stopped ---
work=$(mktemp -d /tmp/lp-e2e.XXXX)
D=$work/d
HOST=unix://$D/docker.sock
rm -rf "$ART"
cleaned=0
daemons=("$D") bg_pids=()
cleanup() {
	local p d
	[ "$cleaned" = 1 ] && return 0
	cleaned=1
	trap '' INT TERM
	touch "$work/stop-noise" 2>/dev/null
	for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${bg_pids[@]}"; do wait "$p" 2>/dev/null; done
	for d in "${daemons[@]}"; do
		"$TOOLS/dockerd-private.sh" stop "$d" >/dev/null 2>&1 ||
			echo "e2e: could not stop the private dockerd in $d cleanly (see $d/dockerd.log)" >&2
	done
	if [ "${LP_E2E_KEEP:-0}" = 1 ]; then
		echo "e2e: kept $work (LP_E2E_KEEP=1)" >&2
	elif ! rm -rf "$work" 2>/dev/null; then
		echo "e2e: could not remove $work (still mounted?)" >&2
	fi
}
trap cleanup EXIT
trap 'echo "e2e: interrupted" >&2; cleanup; exit 130' INT
trap 'echo "e2e: terminated" >&2; cleanup; exit 143' TERM

if ! "$TOOLS/dockerd-private.sh" start "$D" >"$work/dockerd-start.log" 2>&1; then
	fail "e2e: private dockerd starts" "$(tail -5 "$work/dockerd-start.log" | tr '\n' ' ')"
	mkdir -p "$ART" && cp "$work/dockerd-start.log" "$D/dockerd.log" "$ART/" 2>/dev/null
	finish
	exit 1
fi
pass "e2e: private dockerd starts ($D)"
if ! "$TOOLS/mk-base-image.sh" "$D/docker.sock" >"$work/base.log" 2>&1; then
	fail "e2e: base image layerprof/busybox" "$(tail -3 "$work/base.log" | tr '\n' ' ')"
	finish
	exit 1
fi
pass "e2e: base image layerprof/busybox"

# --- helpers ---
want() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }

# Shorten a JSON (or any) text for a FAIL line.
clip() { local s; s=$(tr '\n' ' ' | tr -s ' '); [ ${#s} -le 1500 ] && printf '%s' "$s" || printf '%s...' "${s:0:1500}"; }

# prepare FIXTURE [NAME]: a fresh copy in $work/src/NAME (default FIXTURE),
# its path in $dir.
dir=
prepare() {
	dir=$work/src/${2:-$1}
	if ! "$FIXTURES/prepare.sh" "$1" "$dir" >"$work/prepare-$1.log" 2>&1; then
		fail "$1: prepare.sh" "$(clip <"$work/prepare-$1.log")"
		return 1
	fi
}

# plain_build NAME DIR TAG: an unrecorded build (the "before" of a rebuild).
plain_build() {
	local name=$1 dir=$2 tag=$3
	if (cd "$dir" && timeout --foreground 300 "$DOCKER" -H "$HOST" build --network=host --progress=plain -t "$tag" . \
		>"$work/$name.out" 2>&1 </dev/null); then
		return 0
	fi
	fail "$name: unrecorded build" "$(tail -5 "$work/$name.out" | clip)"
	return 1
}

# record NAME DIR TAG: `layerprof record` of a build of DIR, then its reports.
# Files: $work/NAME.{lprof,out,json,txt,report.err}; sets REC_RC (record's
# exit status) and J (the JSON report). Returns 1 (after a FAIL) when no usable
# JSON report came out.
REC_RC=0 J=
record() {
	local name=$1 dir=$2 tag=$3 t=$SECONDS
	(cd "$dir" && timeout --foreground -k 10 300 "$LP_BIN" record -o "$work/$name.lprof" -- \
		"$DOCKER" -H "$HOST" build --network=host -t "$tag" . >"$work/$name.out" 2>&1 </dev/null)
	REC_RC=$?
	echo "# $name: recorded in $((SECONDS - t)) s (record exit $REC_RC)"
	J=$work/$name.json
	if [ ! -s "$work/$name.lprof" ]; then
		fail "$name: record writes a trace" "exit $REC_RC, no trace; output: $(tail -5 "$work/$name.out" | clip)"
		return 1
	fi
	"$LP_BIN" report "$work/$name.lprof" >"$work/$name.txt" 2>"$work/$name.report.err"
	if ! "$LP_BIN" report --json "$work/$name.lprof" >"$J" 2>>"$work/$name.report.err"; then
		fail "$name: report --json" "exit $?: $(clip <"$work/$name.report.err")"
		return 1
	fi
	if ! jq -e '.schema == "layerprof.report/1"' "$J" >/dev/null 2>&1; then
		fail "$name: report --json is a layerprof.report/1 document" "$(head -c 400 "$J" | clip)"
		return 1
	fi
	return 0
}

# rec_ok NAME REC: the last record exited 0.
rec_ok() {
	if [ "$REC_RC" = 0 ]; then pass "$1"; else fail "$1" "exit $REC_RC: $(tail -3 "$work/$2.out" | clip)"; fi
}

# is NAME JQ_TEST [JQ_SHOW]: pass when JQ_TEST is true on the report $J, else
# fail and show JQ_SHOW (default: the build object and the findings).
is() {
	local name=$1 test=$2 show=${3:-'{build: .build, findings: [.findings[] | {kind, step, paths, estimated_savings_ms, estimated_savings_bytes}]}'}
	local rc
	jq -e "$test" "$J" >/dev/null 2>"$work/jq.err"
	rc=$?
	if [ "$rc" = 0 ]; then
		pass "$name"
	elif [ "$rc" = 1 ]; then
		fail "$name" "got: $(jq -c "$show" "$J" 2>&1 | clip)"
	else
		fail "$name" "jq error (exit $rc): $(clip <"$work/jq.err")"
	fi
}

# The failures of one fixture keep its files in tests/artifacts/e2e/FIXTURE/.
FAILS_BEFORE=0
begin() { FAILS_BEFORE=$LP_FAIL; echo "# --- $1 ($((SECONDS - T0)) s)"; }
end() {
	local fx=$1 f
	shift
	[ "$LP_FAIL" = "$FAILS_BEFORE" ] && return 0
	mkdir -p "$ART/$fx"
	for f in "$@"; do
		cp -a "$work/$f".* "$ART/$fx/" 2>/dev/null
	done
	[ -f "$work/src/$fx/Dockerfile" ] && cp "$work/src/$fx/Dockerfile" "$ART/$fx/"
	tail -n 200 "$D/dockerd.log" >"$ART/$fx/dockerd.log.tail" 2>/dev/null
	echo "# $fx: traces, reports and build logs kept in $ART/$fx/"
}

# FROM (a local image) and WORKDIR write no file data: the Dockerfile and
# context transfers belong to the [internal] steps, the copies to COPY.
NOIO_NAME="FROM and WORKDIR steps wrote no file data"
NOIO='[.steps[] | select(.instruction == "FROM" or .instruction == "WORKDIR") | .bytes_written] | all(. == 0)'
NOIO_SHOW='[.steps[] | select(.instruction == "FROM" or .instruction == "WORKDIR" or (.name | startswith("[internal] load build definition"))) | {id, name, start_ms, wall_ms, files_written, bytes_written}]'

# Step selectors (Dockerfile steps only).
SLOW='(.steps[] | select(.instruction == "RUN" and (.name | contains("sleep 3"))))'

# ========================= bad-order =========================
if want bad-order; then
	begin bad-order
	if prepare bad-order && plain_build bad-order-1 "$dir" lp-e2e/bad-order; then
		echo "// edited by the e2e test" >>"$dir/src/index.js"
		if record bad-order-2 "$dir" lp-e2e/bad-order; then
			N="bad-order"
			rec_ok "$N: record exits 0 (the build's status)" bad-order-2
			is "$N: build.status is ok" '.build.status == "ok"'
			is "$N: cache-miss names exactly src/index.js (the changed context file)" \
				'[.findings[] | select(.kind == "cache-miss") | .paths] | any(. == ["src/index.js"])'
			is "$N: layer-order finding exists" 'any(.findings[]; .kind == "layer-order")'
			is "$N: layer-order names package.json (what the slow RUN read), only that" \
				'[.findings[] | select(.kind == "layer-order")][0].paths == ["package.json"]'
			is "$N: layer-order is on the slow RUN step" \
				"[.findings[] | select(.kind == \"layer-order\")][0].step == $SLOW.id" \
				"{finding: [.findings[] | select(.kind == \"layer-order\")], slow_run: $SLOW}"
			is "$N: layer-order suggests COPY package.json before the RUN" \
				'[.findings[] | select(.kind == "layer-order")][0].suggestion | test("COPY package\\.json")'
			is "$N: layer-order estimated_savings_ms within 30% of the RUN's wall_ms" \
				"([.findings[] | select(.kind == \"layer-order\")][0].estimated_savings_ms) as \$s | $SLOW.wall_ms as \$w |
				 \$w >= 2500 and \$s >= 0.7 * \$w and \$s <= 1.3 * \$w" \
				"{savings: [.findings[] | select(.kind == \"layer-order\") | .estimated_savings_ms], slow_run: $SLOW}"
			is "$N: the slow RUN re-ran (not cached) and took >= 2.5 s" \
				"$SLOW | .cached == false and .wall_ms >= 2500" "$SLOW"
			is "$N: the slow RUN read exactly package.json from the context" \
				"$SLOW.reads_from_context == [\"package.json\"]" "$SLOW"
			is "$N: the bundle RUN read src/index.js and src/util.js from the context" \
				'(.steps[] | select(.instruction == "RUN" and (.name | contains("bundle.js"))) | .reads_from_context) as $r |
				 ($r | index("src/index.js")) != null and ($r | index("src/util.js")) != null' \
				'[.steps[] | select(.instruction == "RUN") | {id, name, reads_from_context}]'
			is "$N: WORKDIR is cached, COPY . . and both RUNs are not" \
				'[.steps[] | select(.instruction != "" and .instruction != "FROM")] | sort_by(.dockerfile_line) | map({i: .instruction, c: .cached}) ==
				 [{i: "WORKDIR", c: true}, {i: "COPY", c: false}, {i: "RUN", c: false}, {i: "RUN", c: false}]' \
				'[.steps[] | {id, name, instruction, cached}]'
			is "$N: build.steps counts the Dockerfile steps, cached_steps the cached ones" \
				'.build.steps == ([.steps[] | select(.instruction != "")] | length) and
				 .build.cached_steps == ([.steps[] | select(.instruction != "" and .instruction != "FROM" and .cached)] | length)' \
				'{build: .build, steps: [.steps[] | {id, instruction, cached}]}'
			is "$N: cache_hit_rate == cached_steps / cacheable steps (FROM not counted)" \
				'(.build.cacheable_steps // .build.steps) as $n |
				 $n == ([.steps[] | select(.instruction != "" and .instruction != "FROM")] | length) and
				 ((.build.cache_hit_rate - (.build.cached_steps / $n)) | fabs) < 0.005' \
				'{build: .build, steps: [.steps[] | {id, instruction, cached}]}'
			is "$N: build.context_changed_files == 1" '.build.context_changed_files == 1'
			is "$N: context_files == 5 (Dockerfile, README.md, package.json, src/*.js)" \
				'.build.context_files == 5'
			is "$N: COPY . . wrote the 5 context files into its layer" \
				'(.steps[] | select(.instruction == "COPY")) | .files_written >= 5' \
				'[.steps[] | select(.instruction != "") | {id, name, start_ms, wall_ms, files_read, files_written, bytes_written}]'
			is "$N: $NOIO_NAME" "$NOIO" "$NOIO_SHOW"

			if grep -q '\[layer-order\]' "$work/bad-order-2.txt" && grep -q '\[cache-miss\]' "$work/bad-order-2.txt"; then
				pass "$N: the text report shows the layer-order and cache-miss findings"
			else
				fail "$N: the text report shows the layer-order and cache-miss findings" "$(grep -A3 Findings "$work/bad-order-2.txt" | clip)"
			fi

			# --target: exit 3 and a FAIL row when missed; 0 when met.
			"$LP_BIN" report --target cache_hit_rate=100% "$work/bad-order-2.lprof" >"$work/bad-order-2.target1.txt" 2>&1
			rc=$?
			if [ "$rc" = 3 ] && grep -qiE '^ *cache_hit_rate .*\bfail\b' "$work/bad-order-2.target1.txt"; then
				pass "$N: report --target cache_hit_rate=100% exits 3 with a FAIL row"
			else
				fail "$N: report --target cache_hit_rate=100% exits 3 with a FAIL row" \
					"exit $rc; $(grep -A5 -i target "$work/bad-order-2.target1.txt" | clip)"
			fi
			"$LP_BIN" report --target build_time=10m "$work/bad-order-2.lprof" >"$work/bad-order-2.target2.txt" 2>&1
			rc=$?
			if [ "$rc" = 0 ] && grep -qiE '^ *build_time .*\bpass\b' "$work/bad-order-2.target2.txt"; then
				pass "$N: report --target build_time=10m passes (exit 0, PASS row)"
			else
				fail "$N: report --target build_time=10m passes (exit 0, PASS row)" \
					"exit $rc; $(grep -A5 -i target "$work/bad-order-2.target2.txt" | clip)"
			fi

			# dump: text lines; --json is NDJSON (every line one JSON object).
			"$LP_BIN" dump "$work/bad-order-2.lprof" >"$work/bad-order-2.dump.txt" 2>"$work/bad-order-2.dump.err"
			rc=$?
			n=$(wc -l <"$work/bad-order-2.dump.txt")
			if [ "$rc" = 0 ] && [ "$n" -ge 100 ] && grep -q 'execve("/usr/bin/docker"' "$work/bad-order-2.dump.txt"; then
				pass "dump: prints the records ($n lines, the docker execve among them)"
			else
				fail "dump: prints the records" "exit $rc, $n lines; $(head -3 "$work/bad-order-2.dump.err" | clip)"
			fi
			"$LP_BIN" dump --json "$work/bad-order-2.lprof" >"$work/bad-order-2.dump.ndjson" 2>"$work/bad-order-2.dump.err"
			rc=$?
			n=$(wc -l <"$work/bad-order-2.dump.ndjson")
			bad=$(jq -R -r 'try (fromjson | if type == "object" then empty else "not an object: \(.)" end)
				catch "invalid JSON: \(.)"' "$work/bad-order-2.dump.ndjson" 2>&1 | head -2)
			if [ "$rc" = 0 ] && [ "$n" -ge 100 ] && [ -z "$bad" ] &&
				jq -c . "$work/bad-order-2.dump.ndjson" >/dev/null 2>&1; then
				pass "dump --json: valid NDJSON ($n lines, each one JSON object)"
			else
				fail "dump --json: valid NDJSON" "exit $rc, $n lines; first bad line: $(printf '%s' "$bad" | clip)"
			fi
		fi
	fi
	end bad-order bad-order-1 bad-order-2
fi

# ========================= installer =========================
# A simulated "npm ci" deletes the host node_modules/ that COPY . . placed and
# writes its own copies, then reads them: only the manifests came from the
# context (provenance), and the host's node_modules/ is bloat.
if want installer; then
	begin installer
	if prepare installer && plain_build installer-1 "$dir" lp-e2e/installer; then
		echo "// edited by the e2e test" >>"$dir/src/index.js"
		nm_bytes=$(find "$dir/node_modules" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
		nm_files=$(find "$dir/node_modules" -type f | wc -l)
		if record installer-2 "$dir" lp-e2e/installer; then
			N="installer"
			INST='(.steps[] | select(.instruction == "RUN" and (.name | contains("rm -rf node_modules"))))'
			rec_ok "$N: record exits 0" installer-2
			is "$N: layer-order names exactly the manifests the installer read" \
				'[.findings[] | select(.kind == "layer-order")][0].paths == ["package-lock.json", "package.json"]'
			is "$N: the suggested COPY names only context files" \
				'[.findings[] | select(.kind == "layer-order")][0].suggestion | split("\n") | map(select(startswith("COPY "))) == ["COPY package-lock.json package.json ./", "COPY . ."]'
			is "$N: the install RUN read only the manifests from the context (not its own node_modules)" \
				"$INST.reads_from_context == [\"package-lock.json\", \"package.json\"]" "$INST"
			is "$N: context-bloat counts the host node_modules/ ($nm_files files, $nm_bytes B, as find says)" \
				"[.findings[] | select(.kind == \"context-bloat\")][0] | .paths_total == $nm_files and .estimated_savings_bytes == $nm_bytes and all(.paths[]; startswith(\"node_modules/\"))"
			is "$N: layer-order savings within 25% of the install RUN's wall time" \
				"([.findings[] | select(.kind == \"layer-order\")][0].estimated_savings_ms) as \$s | $INST.wall_ms as \$w |
				 \$w >= 2500 and \$s >= 0.75 * \$w and \$s <= 1.25 * \$w" \
				"{savings: [.findings[] | select(.kind == \"layer-order\") | .estimated_savings_ms], run: $INST}"
		fi
	fi
	end installer installer-1 installer-2
fi

# ========================= layers =========================
# Layer provenance (issue 15). layers-bad: COPY . . brings the host's
# node_modules/ over the image's own install, a RUN deletes the archive an
# earlier RUN made, a RUN removes the .env COPY . . put in: exactly one finding
# of each kind, their bytes measured, the archive's matching its layer's size
# as dockerd reports it (docker history). layers-good: none of them.
if want layers; then
	begin layers
	if prepare layers-bad && record layers-bad "$dir" lp-e2e/layers-bad; then
		N="layers-bad"
		nm_bytes=$(find "$dir/node_modules" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
		KINDS='[.findings[] | {kind, step, paths, paths_total, estimated_savings_bytes}]'
		CL='[.findings[] | select(.kind == "clobbered-files")]'
		WA='[.findings[] | select(.kind == "wasted-layer-bytes")]'
		SE='[.findings[] | select(.kind == "secret-in-layer")]'
		COPYALL='(.steps[] | select(.instruction == "COPY" and (.name | endswith("COPY . ."))))'
		INSTALL='(.steps[] | select(.instruction == "RUN" and (.name | contains("installed in the image"))))'
		MAKE='(.steps[] | select(.instruction == "RUN" and (.name | contains("dd if=/dev/urandom"))))'
		UNPACK='(.steps[] | select(.instruction == "RUN" and (.name | contains("tar -xf /opt/pkg.tar"))))'
		LAST='(.steps[] | select(.instruction == "RUN" and (.name | contains("rm .env"))))'
		IDS="$COPYALL.id as \$copy | $INSTALL.id as \$inst | $MAKE.id as \$make | $UNPACK.id as \$unpack | $LAST.id as \$last"
		PROV='[.steps[] | select(.instruction == "RUN" or .instruction == "COPY") | {id, name, provenance}]'
		rec_ok "$N: record exits 0" layers-bad
		is "$N: exactly one clobbered-files, one wasted-layer-bytes, one secret-in-layer" \
			"($CL | length) == 1 and ($WA | length) == 1 and ($SE | length) == 1" "$KINDS"
		is "$N: clobbered-files is on COPY . . and names the 4 files it wrote over the install's" \
			"$IDS | $CL[0] | .step == \$copy and .paths_total == 4 and (.paths | sort) ==
			 [\"/app/node_modules/dep/index.js\", \"/app/node_modules/dep/package.json\",
			  \"/app/node_modules/other/lib/m1.js\", \"/app/node_modules/other/lib/m2.js\"]" "$KINDS"
		is "$N: clobbered-files: the install RUN is named, the .dockerignore line is node_modules" \
			"$IDS | $CL[0] | (.message | contains(\$inst)) and .edit_after == \"node_modules\\n\" and
			 (.suggestion | split(\"\\n\") | index(\"node_modules\")) != null" "$CL"
		is "$N: clobbered-files: the last RUN read 1 file of COPY . .'s copy (dep/index.js)" \
			"$IDS | $CL[0].evidence | any(startswith(\$last) and contains(\"read 1 of these file(s) in \" + \$copy + \"'s copy\") and contains(\"/app/node_modules/dep/index.js\"))" "$CL"
		is "$N: clobbered-files: savings = the host node_modules/ COPY . . wrote ($nm_bytes B, as find says)" \
			"$CL[0].estimated_savings_bytes == $nm_bytes" "$CL"
		is "$N: wasted-layer-bytes is on the unpacking RUN and names /opt/pkg.tar only" \
			"$IDS | $WA[0] | .step == \$unpack and .paths == [\"/opt/pkg.tar\"] and .paths_total == 1 and (.message | contains(\$make))" "$WA"
		is "$N: wasted-layer-bytes: 10 MiB and more (the archive: a 10 MiB file and its tar headers)" \
			"$WA[0].estimated_savings_bytes >= 10485760 and $WA[0].estimated_savings_bytes <= 10485760 + 20480" "$WA"
		is "$N: wasted-layer-bytes: the edit runs both commands in one RUN" \
			"$WA[0].edit_after | startswith(\"RUN mkdir -p /tmp/src /opt\") and contains(\"&& mkdir -p /opt/pkg && tar -xf\")" "$WA"
		is "$N: secret-in-layer names /app/.env (38 B) in COPY . .'s layer, removed by the last RUN" \
			"$IDS | $SE[0] | .step == \$copy and .paths == [\"/app/.env\"] and (.evidence[0] | contains(\"(38 B)\")) and
			 (.message | contains(\$last)) and .edit_after == \".env\\n\"" "$SE"
		is "$N: step provenance: the install RUN created 5 files, the unpacking RUN deleted 1 (the archive's bytes)" \
			"($WA[0].estimated_savings_bytes) as \$w | ($INSTALL.provenance | .created == 5 and .overwritten == 0 and .deleted == 0) and
			 ($UNPACK.provenance | .deleted == 1 and .deleted_bytes == \$w and .created == 1 and .layer_bytes == 10485760)" "$PROV"
		is "$N: step provenance: the making RUN's layer holds the archive's bytes, the blob it deleted itself is not counted" \
			"($WA[0].estimated_savings_bytes) as \$w | $MAKE.provenance | .created == 1 and .deleted == 0 and .layer_bytes == \$w" "$PROV"
		is "$N: step provenance: COPY . . overwrote 6 files (4 of the install, 2 manifests), the last RUN deleted .env" \
			"($COPYALL.provenance.overwritten == 6) and ($LAST.provenance | .deleted == 1 and .deleted_bytes == 38)" "$PROV"
		# the bytes against dockerd's own account of the layers
		"$DOCKER" -H "$HOST" history --no-trunc --human=false --format '{{.Size}}	{{.CreatedBy}}' lp-e2e/layers-bad \
			>"$work/layers-bad.history" 2>&1
		hsize=$(awk -F'\t' '/dd if=\/dev\/urandom/ { print $1; exit }' "$work/layers-bad.history")
		wbytes=$(jq "$WA[0].estimated_savings_bytes" "$J")
		mlayer=$(jq "$MAKE.provenance.layer_bytes" "$J")
		echo "# $N: docker history: the archive RUN's layer is ${hsize:-?} B; wasted-layer-bytes ${wbytes:-?} B; its layer_bytes ${mlayer:-?} B"
		# (the RUN's layer holds the archive alone: /tmp/src went in the same RUN)
		if [ -n "$hsize" ] && [ "$wbytes" = "$hsize" ] && [ "$mlayer" = "$hsize" ]; then
			pass "$N: wasted bytes and the RUN's layer_bytes ($wbytes) = its layer's size in docker history ($hsize B)"
		else
			fail "$N: wasted bytes and the RUN's layer_bytes = its layer's size in docker history" \
				"history ${hsize:-none}, finding ${wbytes:-none}, layer_bytes ${mlayer:-none}; $(clip <"$work/layers-bad.history")"
		fi
		if grep -q '\[clobbered-files\]' "$work/layers-bad.txt" && grep -q '\[wasted-layer-bytes\]' "$work/layers-bad.txt" &&
			grep -q '\[secret-in-layer\]' "$work/layers-bad.txt" && grep -q 'files: 5 created, 0 overwritten, 0 deleted' "$work/layers-bad.txt"; then
			pass "$N: the text report shows the three findings and the step provenance"
		else
			fail "$N: the text report shows the three findings and the step provenance" "$(grep -A12 '== Steps' "$work/layers-bad.txt" | clip)"
		fi
		# The issue's rebuild: src/index.js edited, the install and the archive
		# RUNs cached; COPY . . runs again, removes the install's files it finds
		# and writes the host's.
		echo "// edited by the e2e test" >>"$dir/src/index.js"
		if record layers-bad-2 "$dir" lp-e2e/layers-bad; then
			N="layers-bad rebuild"
			rec_ok "$N: record exits 0" layers-bad-2
			is "$N: the install and archive RUNs are cached, COPY . . is not" \
				"($COPYALL.cached | not) and ([$INSTALL, $MAKE, $UNPACK] | all(.cached))" '[.steps[] | {id, name, cached}]'
			is "$N: exactly one clobbered-files and one secret-in-layer, no wasted-layer-bytes (nothing measured)" \
				"($CL | length) == 1 and ($WA | length) == 0 and ($SE | length) == 1" "$KINDS"
			is "$N: clobbered-files names the cached install and the same 4 files" \
				"$IDS | $CL[0] | .step == \$copy and .paths_total == 4 and (.message | contains(\$inst)) and
				 (.evidence | any(startswith(\$inst) and contains(\"was cached\")))" "$CL"
			is "$N: COPY . . overwrote 6 files of earlier layers (bytes there not measured)" \
				"$COPYALL.provenance | .overwritten == 6 and .overwritten_bytes == 0" "$PROV"
		fi
	fi
	if prepare layers-good && record layers-good "$dir" lp-e2e/layers-good; then
		N="layers-good"
		rec_ok "$N: record exits 0" layers-good
		is "$N: no clobbered-files, wasted-layer-bytes or secret-in-layer" \
			'[.findings[] | select(.kind == "clobbered-files" or .kind == "wasted-layer-bytes" or .kind == "secret-in-layer")] | length == 0' \
			'[.findings[] | {kind, step, paths, estimated_savings_bytes}]'
		is "$N: the fetch stage's RUN did delete the archive and .netrc (measured, in a stage the image does not keep)" \
			'(.steps[] | select(.instruction == "RUN" and (.name | contains("rm /opt/pkg.tar /root/.netrc")))) | .provenance | .deleted == 2 and .deleted_bytes >= 10485760' \
			'[.steps[] | select(.instruction == "RUN") | {id, name, stage, provenance}]'
		is "$N: the same-RUN cleanup leaves only the unpacked file in its layer (2 MiB)" \
			'(.steps[] | select(.instruction == "RUN" and (.name | contains("/opt/tool.tar")))) | .provenance | .created == 1 and .deleted == 0 and .layer_bytes == 2097152' \
			'[.steps[] | select(.instruction == "RUN") | {id, name, stage, provenance}]'
		is "$N: COPY . . (.dockerignore) wrote over nothing of the install" \
			'(.steps[] | select(.instruction == "COPY" and (.name | endswith("COPY . .")))) | .provenance.overwritten == 2' \
			'[.steps[] | select(.instruction == "COPY") | {id, name, provenance}]'
	fi
	end layers layers-bad layers-bad-2 layers-good
fi

# ========================= adjacent-copies =========================
# Two adjacent COPY steps into /app of a multi-stage cold build: each keeps
# its own layer's files and bytes; steps are timed by the kernel.
if want adjacent-copies; then
	begin adjacent-copies
	if prepare adjacent-copies && record adjacent-copies "$dir" lp-e2e/adjacent-copies; then
		N="adjacent-copies"
		man_bytes=$(cat "$dir"/package*.json | wc -c)
		src_bytes=$(cat "$dir"/src/*.js | wc -c)
		CM='(.steps[] | select(.name | endswith("COPY package*.json ./")))'
		CS='(.steps[] | select(.name | endswith("COPY src ./src")))'
		RN='(.steps[] | select(.instruction == "RUN"))'
		STEPS='[.steps[] | {id, name, start_ms, wall_ms, time_source, files_written, bytes_written}]'
		rec_ok "$N: record exits 0" adjacent-copies
		is "$N: COPY package*.json wrote the 2 manifests ($man_bytes B), nothing of src/" \
			"$CM | .files_written == 2 and .bytes_written == $man_bytes" "$STEPS"
		is "$N: COPY src ./src wrote the 4 sources ($src_bytes B)" \
			"$CS | .files_written == 4 and .bytes_written == $src_bytes" "$STEPS"
		is "$N: both COPYs, the RUN and the context load are timed by the kernel" \
			"[$CM, $CS, $RN, (.steps[] | select(.name == \"[internal] load build context\"))] | all(.time_source == \"kernel\")" "$STEPS"
		# the kernel side tells the directories cat opened (no O_DIRECTORY,
		# as Go opens one) from the files: a directory is no file read
		opened=$("$LP_BIN" dump --json "$work/adjacent-copies.lprof" 2>/dev/null | jq -sc '[.[] |
			select(.kind == "syscall" and .syscall == "openat" and .ret >= 0 and
			       (.strings[0].raw | test("^(package(-lock)?[.]json|src/m[1-4][.]js|/tmp/empty[12])$"))) |
			{p: .strings[0].raw, dir: (.directory // false)}] | unique | sort_by(.p)')
		want='[{"p":"/tmp/empty1","dir":true},{"p":"/tmp/empty2","dir":true},{"p":"package-lock.json","dir":false},{"p":"package.json","dir":false},{"p":"src/m1.js","dir":false},{"p":"src/m2.js","dir":false},{"p":"src/m3.js","dir":false},{"p":"src/m4.js","dir":false}]'
		if [ "$opened" = "$want" ]; then
			pass "$N: dump: the RUN's opens of the 2 empty directories (no O_DIRECTORY) are marked as directories, its 6 files are not"
		else
			fail "$N: dump: the RUN's opens of the 2 empty directories are marked as directories, its 6 files are not" "got: $opened"
		fi
		is "$N: the RUN (sleep 1) took 1.0-1.6 s by its processes' lifetime" \
			"$RN | .wall_ms >= 1000 and .wall_ms <= 1600" "$STEPS"
		is "$N: the RUN starts after COPY src ended, which starts after COPY package*.json ended" \
			"($CM) as \$a | ($CS) as \$b | ($RN) as \$r | \$b.start_ms >= \$a.start_ms + \$a.wall_ms and \$r.start_ms >= \$b.start_ms + \$b.wall_ms" "$STEPS"
		is "$N: the context load's time is its walk, the transfer and its snapshot's commit (build.context_walk_ms + context_transfer_ms + context_commit_ms; no engine times here: context_engine_ms 0)" \
			"(.steps[] | select(.name == \"[internal] load build context\") | .wall_ms) as \$w | .build.context_engine_ms == 0 and ((\$w - .build.context_walk_ms - .build.context_transfer_ms - .build.context_commit_ms) | fabs) <= 2" \
			"{build: .build, steps: $STEPS}"
	fi
	end adjacent-copies adjacent-copies
fi

# ========================= good-order =========================
if want good-order; then
	begin good-order
	if prepare good-order && record good-order-1 "$dir" lp-e2e/good-order; then
		N="good-order"
		rec_ok "$N: first build recorded (exit 0)" good-order-1
		is "$N: clean build (fresh tag): no layer-order finding" \
			'[.findings[] | select(.kind == "layer-order")] | length == 0'
		is "$N: clean build: $NOIO_NAME" "$NOIO" "$NOIO_SHOW"
		is "$N: clean build: the slow RUN ran (not cached)" \
			'(.steps[] | select(.instruction == "RUN" and (.name | contains("sleep 3")))) | .cached == false' \
			'[.steps[] | {id, name, cached}]'
		echo "// edited by the e2e test" >>"$dir/src/index.js"
		if record good-order-2 "$dir" lp-e2e/good-order; then
			rec_ok "$N: rebuild after editing src/index.js recorded (exit 0)" good-order-2
			is "$N: rebuild: no layer-order finding" \
				'[.findings[] | select(.kind == "layer-order")] | length == 0'
			is "$N: rebuild: the slow RUN (sha256sum package.json, sleep 3) is cached" \
				"$SLOW.cached == true" '[.steps[] | {id, name, cached}]'
			is "$N: rebuild: COPY package.json is cached, COPY . . is not" \
				'[.steps[] | select(.instruction == "COPY")] | sort_by(.dockerfile_line) | map(.cached) == [true, false]' \
				'[.steps[] | {id, name, cached}]'
			is "$N: rebuild: cache-miss names exactly src/index.js" \
				'[.findings[] | select(.kind == "cache-miss") | .paths] | any(. == ["src/index.js"])'
			is "$N: rebuild: build.context_changed_files == 1" '.build.context_changed_files == 1'
		fi
	fi
	end good-order good-order-1 good-order-2
fi

# ========================= bloated =========================
if want bloated; then
	begin bloated
	if prepare bloated && record bloated "$dir" lp-e2e/bloated; then
		N="bloated"
		rec_ok "$N: build recorded (exit 0)" "$N"
		BLOAT='[.findings[] | select(.kind == "context-bloat")][0]'
		is "$N: context-bloat finding exists" 'any(.findings[]; .kind == "context-bloat")'
		is "$N: context-bloat suggests a .dockerignore line for .git" \
			"$BLOAT.suggestion | split(\"\\n\") | any(test(\"^(\\\\*\\\\*/|/)?\\\\.git/?\$\"))" "$BLOAT"
		is "$N: context-bloat suggests a .dockerignore line for node_modules" \
			"$BLOAT.suggestion | split(\"\\n\") | any(test(\"^(\\\\*\\\\*/|/)?node_modules/?\$\"))" "$BLOAT"
		is "$N: context-bloat estimated_savings_bytes > 0 (and <= the context)" \
			"$BLOAT.estimated_savings_bytes > 0 and $BLOAT.estimated_savings_bytes <= .build.context_bytes" \
			"{bloat: $BLOAT, context_bytes: .build.context_bytes}"
		is "$N: context-bloat does not list app.sh (the RUN reads it)" \
			"$BLOAT.paths | index(\"app.sh\") == null" "$BLOAT"
		is "$N: secret-in-context names .env and id_rsa" \
			'[.findings[] | select(.kind == "secret-in-context") | .paths[]] as $p |
			 ($p | index(".env")) != null and ($p | index("id_rsa")) != null'
		is "$N: context is 34 files, 405225 bytes" \
			'.build.context_files == 34 and .build.context_bytes == 405225' '.build'
		is "$N: $NOIO_NAME" "$NOIO" "$NOIO_SHOW"
		is "$N: the RUN read exactly app.sh from the context" \
			'(.steps[] | select(.instruction == "RUN")) | .reads_from_context == ["app.sh"]' \
			'[.steps[] | select(.instruction != "") | {id, name, reads_from_context}]'
	fi
	end bloated bloated
fi

# ========================= missing-file =========================
if want missing-file; then
	begin missing-file
	if prepare missing-file && record missing-file "$dir" lp-e2e/missing-file; then
		N="missing-file"
		status=$("$LP_BIN" dump --json "$work/missing-file.lprof" 2>/dev/null |
			jq -r 'select(.kind == "trailer") | .trailer.command_status // .command_status // empty' 2>/dev/null | tail -1)
		if [ "$REC_RC" != 0 ] && [ "$REC_RC" -lt 128 ] && { [ -z "$status" ] || [ "$status" = "$REC_RC" ]; }; then
			pass "$N: record exits non-zero with the build's status ($REC_RC${status:+, trailer: $status})"
		else
			fail "$N: record exits non-zero with the build's status" \
				"record exit $REC_RC, trailer command_status '${status}'; $(tail -3 "$work/missing-file.out" | clip)"
		fi
		is "$N: build.status is failed" '.build.status == "failed"' '.build'
		is "$N: failed-step finding names requirements.txt" \
			'[.findings[] | select(.kind == "failed-step") | .paths[]] | index("requirements.txt") != null'
		is "$N: failed-step is on the COPY requirements.txt step" \
			'([.findings[] | select(.kind == "failed-step")][0].step) as $s |
			 [.steps[] | select(.id == $s) | .name | test("COPY requirements\\.txt")] == [true]' \
			'{findings: [.findings[] | select(.kind == "failed-step")], steps: [.steps[] | {id, name, status}]}'
		is "$N: no layer-order finding" '[.findings[] | select(.kind == "layer-order")] | length == 0'
		nreg=$(find "$dir" -type f | wc -l)
		is "$N: the evidence counts the context's $nreg regular files as find does, the symlink apart" \
			"[.findings[] | select(.kind == \"failed-step\") | .evidence[] | select(test(\"requirements.txt is not in the build context\"))] |
			 any(test(\"\\\\($nreg files and 1 other entry\"))" '[.findings[] | select(.kind == "failed-step") | .evidence]'
		is "$N: $NOIO_NAME" "$NOIO" "$NOIO_SHOW"
	fi
	end missing-file missing-file
fi

# ========================= multi-stage =========================
if want multi-stage; then
	begin multi-stage
	if prepare multi-stage && record multi-stage "$dir" lp-e2e/multi-stage; then
		N="multi-stage"
		STEPS='[.steps[] | select(.instruction != "") | {id, name, stage, instruction, cached, files_read, files_written, bytes_written, reads_from_context}]'
		rec_ok "$N: build recorded (exit 0)" "$N"
		is "$N: build.status is ok" '.build.status == "ok"' '.build'
		# (the FROM both stages share is printed once, labelled with either stage)
		is "$N: steps carry the stage name 'build' (WORKDIR, COPY, RUN)" \
			'[.steps[] | select(.stage == "build" and .instruction != "" and .instruction != "FROM") | .instruction] | sort == ["COPY", "RUN", "WORKDIR"]' \
			"$STEPS"
		is "$N: steps carry the stage name 'runtime' (COPY, COPY, RUN)" \
			'[.steps[] | select(.stage == "runtime" and .instruction != "" and .instruction != "FROM") | .instruction] | sort == ["COPY", "COPY", "RUN"]' \
			"$STEPS"
		is "$N: the shared FROM is labelled build or runtime" \
			'[.steps[] | select(.instruction == "FROM") | .stage] | length >= 1 and all(. == "build" or . == "runtime")' \
			"$STEPS"
		is "$N: the COPY --from=build step exists, in stage runtime" \
			'[.steps[] | select(.instruction == "COPY" and (.name | contains("COPY --from=build")) and .stage == "runtime")] | length == 1' \
			"$STEPS"
		is "$N: COPY --from=build wrote files or has reads attributed" \
			'(.steps[] | select(.name | contains("COPY --from=build"))) | .files_written > 0 or .files_read > 0' \
			"$STEPS"
		is "$N: COPY --from=build bytes_written counts the 222 B it copied (copy_file_range)" \
			'(.steps[] | select(.name | contains("COPY --from=build"))) | .bytes_written >= 222' \
			'[.steps[] | select(.name | contains("COPY --from=build")) | {id, name, files_read, bytes_read, files_written, bytes_written}]'
		is "$N: COPY main.c lib.c wrote the 2 files into its layer" \
			'(.steps[] | select(.name | contains("COPY main.c lib.c"))) | .files_written >= 2' "$STEPS"
		is "$N: the build RUN read main.c and lib.c from the context" \
			'(.steps[] | select(.stage == "build" and .instruction == "RUN")) | (.reads_from_context | sort) == ["lib.c", "main.c"]' \
			"$STEPS"
		is "$N: the exec-form RUN read config.ini from the context" \
			'(.steps[] | select(.stage == "runtime" and .instruction == "RUN")) | .reads_from_context == ["config.ini"]' \
			"$STEPS"
		is "$N: $NOIO_NAME" "$NOIO" "$NOIO_SHOW"
		is "$N: no layer-order, no failed-step" \
			'[.findings[] | select(.kind == "layer-order" or .kind == "failed-step")] | length == 0'
	fi
	end multi-stage multi-stage
fi

# ========================= two-daemons =========================
# `record` traces every dockerd on the host (by design); the report must keep
# to the daemon that ran THIS build. A second private daemon keeps building
# (and re-receiving) a context with the same file names, with RUN steps, while
# the bad-order rebuild is recorded on the first one.
if want two-daemons; then
	begin two-daemons
	D2=$work/d2
	daemons+=("$D2")
	if ! "$TOOLS/dockerd-private.sh" start "$D2" >"$work/d2-start.log" 2>&1 ||
		! "$TOOLS/mk-base-image.sh" "$D2/docker.sock" >>"$work/d2-start.log" 2>&1; then
		fail "two-daemons: second private dockerd" "$(tail -5 "$work/d2-start.log" | clip)"
	elif prepare bad-order two-daemons-noise && noise=$dir &&
		prepare bad-order two-daemons && plain_build two-daemons-1 "$dir" lp-e2e/two-daemons; then
		N="two-daemons"
		# The noise: a project with the SAME file names (a bad-order copy) whose
		# RUN reads other files; every file is touched (the whole context is
		# sent again) and it is rebuilt without cache, until told to stop.
		printf 'FROM layerprof/busybox\nWORKDIR /app\nCOPY . .\nRUN cat README.md src/util.js > /dev/null\n' >"$noise/Dockerfile"
		(
			i=0
			while [ ! -e "$work/stop-noise" ] && [ $i -lt 100 ]; do
				i=$((i + 1))
				echo "// noise $i" >>"$noise/src/util.js"
				find "$noise" -type f -exec touch {} +
				(cd "$noise" && timeout 120 "$DOCKER" -H "unix://$D2/docker.sock" build --no-cache --network=host \
					--progress=plain -t lp-e2e/noise . </dev/null >>"$work/two-daemons-noise.out" 2>&1)
				echo "=== noise build $i done at $(date +%T.%N)" >>"$work/two-daemons-noise.out"
			done
		) &
		bg_pids+=($!)
		for _ in $(seq 100); do grep -q '#6 transferring context' "$work/two-daemons-noise.out" 2>/dev/null && break; sleep 0.1; done
		# (not bad-order's edit: that rebuild's layers are in this daemon's cache)
		echo "// edited by the e2e test, two-daemons" >>"$dir/src/index.js"
		record two-daemons "$dir" lp-e2e/two-daemons
		ok=$?
		touch "$work/stop-noise"
		wait "${bg_pids[-1]}" 2>/dev/null
		nb=$(grep -c '^=== noise build' "$work/two-daemons-noise.out")
		echo "# two-daemons: $nb noise builds on the second daemon"
		if [ "$ok" = 0 ]; then
			rec_ok "$N: record exits 0" two-daemons
			"$LP_BIN" dump "$work/two-daemons.lprof" >"$work/two-daemons.dump.txt" 2>&1
			if grep -qF "$D2/data/overlay2" "$work/two-daemons.dump.txt"; then
				pass "$N: the trace holds the second daemon's work (the test is meaningful)"
			else
				fail "$N: the trace holds the second daemon's work (the test is meaningful)" \
					"no event under $D2/data in the trace ($nb noise builds)"
			fi
			is "$N: cache-miss names exactly src/index.js (not the other daemon's files)" \
				'[.findings[] | select(.kind == "cache-miss") | .paths] | any(. == ["src/index.js"])'
			is "$N: build.context_changed_files == 1, context_files == 5" \
				'.build.context_changed_files == 1 and .build.context_files == 5' '.build'
			is "$N: layer-order names package.json" \
				'[.findings[] | select(.kind == "layer-order")][0].paths == ["package.json"]'
			is "$N: the slow RUN read exactly package.json (not the other daemon's RUN's reads)" \
				"$SLOW.reads_from_context == [\"package.json\"]" "$SLOW"
			is "$N: cache-miss/layer-order name only src/index.js and package.json" \
				'[.findings[] | select(.kind == "cache-miss" or .kind == "layer-order") | .paths[] | select(. != "src/index.js" and . != "package.json")] | length == 0' \
				'[.findings[] | {kind, paths}]'
		fi
	fi
	end two-daemons two-daemons two-daemons-1 two-daemons-noise
fi

# ========================= attach =========================
# `layerprof record` without a command traces the running daemons; a build
# started meanwhile by someone else leaves no progress stream in the trace,
# so the report infers the steps from kernel evidence and says so.
if want attach; then
	begin attach
	if prepare bad-order attach; then
		printf 'API_TOKEN=not-a-real-token-0123456789\n' >"$dir/.env" # a secret, 38 B
		N="attach"
		J=$work/attach.json
		"$LP_BIN" record -v -o "$work/attach.lprof" --duration 120 >"$work/attach.out" 2>&1 </dev/null &
		rec_pid=$!
		bg_pids+=("$rec_pid")
		for _ in $(seq 300); do
			grep -q 'tracing dockerd' "$work/attach.out" 2>/dev/null && break
			kill -0 "$rec_pid" 2>/dev/null || break
			sleep 0.1
		done
		if ! grep -q 'tracing dockerd' "$work/attach.out" 2>/dev/null; then
			fail "$N: record (no command) attaches to the daemons" "$(tail -5 "$work/attach.out" | clip)"
		else
			t=$SECONDS
			(cd "$dir" && timeout --foreground 300 "$DOCKER" -H "$HOST" build --no-cache --network=host \
				--progress=plain -t lp-e2e/attach . >"$work/attach-build.out" 2>&1 </dev/null)
			brc=$?
			sleep 1 # the export's last writes
			kill -TERM "$rec_pid" 2>/dev/null # (a background job ignores SIGINT)
			wait "$rec_pid"
			REC_RC=$?
			echo "# $N: built in $((SECONDS - t)) s (build exit $brc, record exit $REC_RC)"
			if [ "$brc" != 0 ]; then
				fail "$N: the build (not recorded by a command) succeeds" "$(tail -5 "$work/attach-build.out" | clip)"
			fi
			rec_ok "$N: record with no command exits 0 (SIGTERM)" attach
			"$LP_BIN" report "$work/attach.lprof" >"$work/attach.txt" 2>"$work/attach.report.err"
			rc=$?
			if [ "$rc" = 0 ] && grep -q 'steps inferred from kernel evidence: no BuildKit progress stream' "$work/attach.txt"; then
				pass "$N: report exits 0 and says the steps were inferred"
			else
				fail "$N: report exits 0 and says the steps were inferred" \
					"exit $rc; $(grep -A3 Summary "$work/attach.txt" | clip) $(clip <"$work/attach.report.err")"
			fi
			if "$LP_BIN" report --json "$work/attach.lprof" >"$J" 2>>"$work/attach.report.err" &&
				jq -e '.schema == "layerprof.report/1"' "$J" >/dev/null 2>&1; then
				pass "$N: report --json exits 0 (layerprof.report/1)"
				ASTEPS='[.steps[] | {id, name, instruction, status, start_ms, wall_ms, inferred, reads_from_context}]'
				ARUN='(.steps[] | select(.instruction == "RUN" and (.name | contains("cat package.json > /dev/null && sleep 3 && sha256sum package.json"))))'
				is "$N: build.steps_inferred is true" '.build.steps_inferred == true' '.build'
				is "$N: a RUN step named after the fixture's RUN text" "[$ARUN] | length == 1" "$ASTEPS"
				is "$N: that RUN took the sleep's 3 s (2.8-4.5 s)" "$ARUN | .wall_ms >= 2800 and .wall_ms <= 4500" "$ASTEPS"
				is "$N: that RUN read exactly package.json from the context" \
					"$ARUN | .reads_from_context == [\"package.json\"]" "$ASTEPS"
				is "$N: the COPY step is found (COPY -> /app)" \
					'[.steps[] | select(.instruction == "COPY" and .name == "COPY -> /app")] | length == 1' "$ASTEPS"
				is "$N: every step is marked inferred" '[.steps[] | .inferred] | all' "$ASTEPS"
				is "$N: cache hit rate unknown (no cacheable step, cache_hit_rate_known false)" \
					'.build.cache_hit_rate_known == false and .build.cacheable_steps == 0' '.build'
				is "$N: no layer-order or cache-miss on inferred steps" \
					'[.findings[] | select(.kind == "layer-order" or .kind == "cache-miss")] | length == 0'
				# attach mode knows the context only by what the transfer wrote: all
				# of it on a daemon's first sync, the new and changed files on a
				# later one (BuildKit sends only those): here .env is new
				is "$N: the context is what the transfer wrote, .env (new) among it" \
					'.build.context_source == "transfer" and .build.context_files == .build.context_sent_files and
					 .build.context_files >= 1 and .build.context_bytes == .build.context_sent_bytes and
					 .build.context_added_files >= 1' '.build'
				is "$N: secret-in-context names .env with its real size (38 B)" \
					'[.findings[] | select(.kind == "secret-in-context") | .evidence[] | select(startswith(".env (38 B)"))] | length == 1' \
					'[.findings[] | select(.kind == "secret-in-context")]'
			else
				fail "$N: report --json exits 0 (layerprof.report/1)" "$(clip <"$work/attach.report.err")"
			fi
		fi
	fi
	end attach attach attach-build
fi

echo "# e2e took $((SECONDS - T0)) s"
finish

#!/usr/bin/env bash
# The end-to-end fixtures on every engine users run (issue 10): each engine of
# tools/engine.sh is started in a fresh state directory, the fixtures are
# built and recorded with `layerprof record -- $DOCKER build ...`, and the SAME
# assertions on `layerprof report --json` are checked on each (and that
# `layerprof check` names the engine, its storage, builder and support):
#   bad-order     cold build (recorded): 0 % hit rate, no layer-order; rebuild
#                 after editing src/index.js: cache-miss names exactly
#                 src/index.js, layer-order names package.json on the slow RUN,
#                 the slow RUN re-ran and read exactly package.json, 1 changed
#                 context file of 5
#   good-order    first build: no layer-order; rebuild after the same edit: the
#                 slow RUN is cached, no layer-order, cache-miss names src/index.js
#   bloated       context-bloat (.git, node_modules), secret-in-context (.env,
#                 id_rsa), the RUN read exactly app.sh
#   missing-file  record exits with the build's failure, failed-step names
#                 requirements.txt on the COPY requirements.txt step
#   multi-stage   stage names, COPY --from=build in stage runtime wrote the
#                 222 B it copied, the build RUN read main.c and lib.c
#   attach        record with no command while the bad-order fixture is built
#                 --no-cache: steps inferred, the slow RUN by its text and time
#   real-node     (docker-29) the real-world npm project: cold, then one file edited
#   warnings      (no assertions) transcripts of builds with Dockerfile lint
#                 warnings, one succeeding and one failing
# Also kept (outside the repository unless asked):
#   - the progress transcripts of every build (--progress=plain; rawjson,
#     --metadata-file and --iidfile where the CLI has them) in
#     tests/artifacts/engines/<engine>/progress/; LP_ENGINES_SAVE_PROGRESS=1
#     copies them to tests/data/progress/<engine>/ (parser test data);
#   - with LP_ENGINES_RECORDINGS=DIR, the bad-order cold and rebuild traces in
#     DIR/<engine>/ (for debugging attribution).
# Prints per engine which assertions pass, then a table (engine x fixture) and
# the line "N passed, N failed, N skipped". Needs root, jq, ./layerprof and the
# engines (tools/engine-build.sh builds them on first use: see README).
# Environment: LP_ENGINES="docker-29 buildkitd-0.24" (default: all five),
# LP_ENGINES_ONLY="bad-order bloated" (fixtures), LP_ENGINES_KEEP=1 (keep the
# work dir and stop, not delete, the engines' state).
set -uo pipefail
. "$(dirname "$0")/../lib.sh"

TOOLS=$LP_ROOT/tools
FIXTURES=$LP_ROOT/tests/fixtures
ART=$LP_ARTIFACTS/engines
ENGINES=${LP_ENGINES:-docker-20.10 docker-28.4 docker-28.4-containerd docker-29 buildkitd-0.24}
ONLY=${LP_ENGINES_ONLY:-}
T0=$SECONDS

if ! is_root; then
	skip "engines" "needs root"
	finish
	exit 0
fi
require_tool engines jq
require_built engines

work=$(mktemp -d /tmp/lp-eng.XXXX)
export LP_ENGINE_DIR=$work/st
rm -rf "$ART"
mkdir -p "$ART"
cleaned=0 bg_pids=() up=()
cleanup() {
	local p e
	[ "$cleaned" = 1 ] && return 0
	cleaned=1
	trap '' INT TERM
	for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${bg_pids[@]}"; do wait "$p" 2>/dev/null; done
	for e in "${up[@]}"; do
		"$TOOLS/engine.sh" down "$e" >>"$work/engines.log" 2>&1 ||
			echo "engines: could not stop $e cleanly (see $LP_ENGINE_DIR/$e)" >&2
	done
	if [ "${LP_ENGINES_KEEP:-0}" = 1 ]; then
		echo "engines: kept $work (LP_ENGINES_KEEP=1)" >&2
	elif ! rm -rf "$work" 2>/dev/null; then
		echo "engines: could not remove $work (still mounted?)" >&2
	fi
}
trap cleanup EXIT
trap 'echo "engines: interrupted" >&2; cleanup; exit 130' INT
trap 'echo "engines: terminated" >&2; cleanup; exit 143' TERM

want() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }
clip() { local s; s=$(tr '\n' ' ' | tr -s ' '); [ ${#s} -le 800 ] && printf '%s' "$s" || printf '%s...' "${s:0:800}"; }

# Per engine x fixture counts, for the table at the end.
declare -A CP CF
FX=
tally_pass() { pass "$ENG: $1"; CP[$ENG/$FX]=$((${CP[$ENG/$FX]:-0} + 1)); }
tally_fail() { fail "$ENG: $1" "${2:-}"; CF[$ENG/$FX]=$((${CF[$ENG/$FX]:-0} + 1)); FAILED+=("$ENG|$1"); }
FAILED=()

# is NAME JQ_TEST [JQ_SHOW]: on the report $J.
is() {
	local name=$1 test=$2 show=${3:-'{build: {status: .build.status, steps: .build.steps, cached_steps: .build.cached_steps, context_files: .build.context_files, context_changed_files: .build.context_changed_files}, findings: [.findings[] | {kind, step, paths}]}'}
	local rc
	jq -e "$test" "$J" >/dev/null 2>"$work/jq.err"
	rc=$?
	if [ "$rc" = 0 ]; then
		tally_pass "$name"
	elif [ "$rc" = 1 ]; then
		tally_fail "$name" "got: $(jq -c "$show" "$J" 2>&1 | clip)"
	else
		tally_fail "$name" "jq error (exit $rc): $(clip <"$work/jq.err")"
	fi
}

# prepare FIXTURE NAME: a fresh copy in $work/src/$ENG/NAME, path in $dir.
dir=
prepare() {
	dir=$work/src/$ENG/$2
	"$FIXTURES/prepare.sh" "$1" "$dir" >"$work/prepare.log" 2>&1 ||
		{ tally_fail "$2: prepare.sh" "$(clip <"$work/prepare.log")"; return 1; }
}

# progress transcripts of ENG: plain output of the recorded builds (without
# layerprof's own lines) and the extra rawjson builds.
PROG=
save_plain() { grep -v '^layerprof[:[]' "$1" >"$PROG/$2.plain.txt" 2>/dev/null || true; }

# record NAME TAG [BUILD ARGS...]: `layerprof record` of a build of $dir.
REC_RC=0 J=
record() {
	local name=$1 tag=$2 t=$SECONDS
	shift 2
	# shellcheck disable=SC2086 # $DOCKER is a command with options
	(cd "$dir" && timeout --foreground -k 10 300 "$LP_BIN" record -o "$EW/$name.lprof" -- \
		$DOCKER build --network=host -t "$tag" "$@" . >"$EW/$name.out" 2>&1 </dev/null)
	REC_RC=$?
	echo "# $ENG $name: recorded in $((SECONDS - t)) s (record exit $REC_RC)"
	save_plain "$EW/$name.out" "$name"
	J=$EW/$name.json
	if [ ! -s "$EW/$name.lprof" ]; then
		tally_fail "$name: record writes a trace" "exit $REC_RC; $(tail -5 "$EW/$name.out" | clip)"
		return 1
	fi
	"$LP_BIN" report "$EW/$name.lprof" >"$EW/$name.txt" 2>"$EW/$name.report.err"
	if ! "$LP_BIN" report --json "$EW/$name.lprof" >"$J" 2>>"$EW/$name.report.err" ||
		! jq -e '.schema == "layerprof.report/1"' "$J" >/dev/null 2>&1; then
		tally_fail "$name: report --json" "$(clip <"$EW/$name.report.err")"
		return 1
	fi
	return 0
}
rec_ok() { if [ "$REC_RC" = 0 ]; then tally_pass "$1"; else tally_fail "$1" "exit $REC_RC: $(tail -3 "$EW/$2.out" | clip)"; fi; }

# plain_build NAME TAG [ARGS]: an unrecorded build, its transcript kept.
plain_build() {
	local name=$1 tag=$2
	shift 2
	# shellcheck disable=SC2086
	if (cd "$dir" && timeout --foreground 300 $DOCKER build --network=host --progress=plain -t "$tag" "$@" . \
		>"$EW/$name.out" 2>&1 </dev/null); then
		save_plain "$EW/$name.out" "$name"
		return 0
	fi
	save_plain "$EW/$name.out" "$name"
	tally_fail "$name: unrecorded build" "$(tail -5 "$EW/$name.out" | clip)"
	return 1
}

# rawjson NAME TAG [ARGS]: an unrecorded build with --progress=rawjson,
# --metadata-file and --iidfile where this CLI has them (the buildx engines).
rawjson() {
	local name=$1 tag=$2 args
	shift 2
	args=(--iidfile "$PROG/$name.iid")
	[ "$ENG" = docker-20.10 ] || args+=(--progress=rawjson --metadata-file "$PROG/$name.metadata.json")
	# shellcheck disable=SC2086
	(cd "$dir" && timeout --foreground 300 $DOCKER build --network=host -t "$tag" "${args[@]}" "$@" . \
		>"$PROG/$name.rawjson.tmp" 2>&1 </dev/null)
	if [ "$ENG" = docker-20.10 ]; then
		rm -f "$PROG/$name.rawjson.tmp" # (the 20.10 CLI has no rawjson)
	else
		mv "$PROG/$name.rawjson.tmp" "$PROG/$name.rawjson"
	fi
	[ -s "$PROG/$name.iid" ] || rm -f "$PROG/$name.iid"
}

SLOW='(.steps[] | select(.instruction == "RUN" and (.name | contains("sleep 3"))))'
# (as in tests/e2e) the Dockerfile and context transfers belong to [internal] steps
NOIO_NAME="FROM and WORKDIR steps wrote no file data"
NOIO='[.steps[] | select(.instruction == "FROM" or .instruction == "WORKDIR") | .bytes_written] | all(. == 0)'
NOIO_SHOW='[.steps[] | select(.instruction == "FROM" or .instruction == "WORKDIR") | {id, name, files_written, bytes_written}]'

# set_up_ok RC SOURCE WHAT LOG: a set-up command's exit (3: SOURCE is
# unreachable, a skip with the reason, returns 2; another failure is a
# failed check, returns 1).
set_up_ok() {
	case $1 in
	0) return 0 ;;
	3) skip "$ENG: $FX" "$2 is unreachable: $(tail -1 "$4")"; return 2 ;;
	*) tally_fail "$FX: $3" "$(tail -3 "$4" | clip)"; return 1 ;;
	esac
}

# real_node: the npm project, cold then one source file edited (docker-29).
real_node() {
	local args nm
	dir=$work/src/$ENG/real-node
	mkdir -p "$(dirname "$dir")"
	args=$("$LP_ROOT/tests/realworld/prepare.sh" node "$dir" 2>"$EW/real-node.prep")
	set_up_ok $? "the npm registry" "prepare.sh" "$EW/real-node.prep" || return "$(( $? == 2 ? 0 : 1 ))"
	LP_DOCKER=${DOCKER%% *} "$TOOLS/mk-debian-image.sh" "${DOCKER_HOST#unix://}" node >"$EW/real-node.image" 2>&1
	set_up_ok $? "the Debian mirror" "the base image (mk-debian-image.sh)" "$EW/real-node.image" ||
		return "$(( $? == 2 ? 0 : 1 ))"
	nm=$(cd "$dir" && find node_modules -type f | wc -l)
	local CTX='(.steps[] | select(.name == "[internal] load build context"))'
	local COPY='(.steps[] | select(.instruction == "COPY"))'
	local WIN='.start_ms + 20 >= .engine_time.start_ms and .start_ms + .wall_ms <= .engine_time.end_ms + 20'
	# shellcheck disable=SC2086 # one --build-arg a line
	if record real-node-cold lp-eng/real-node -f Dockerfile.bad $args; then
		rec_ok "real-node cold: record exits 0" real-node-cold
		is "real-node cold: the context is find's ($(cd "$dir" && find . -type f | wc -l) files), all sent" \
			".build.context_files == $(cd "$dir" && find . -type f | wc -l) and .build.context_sent_files == .build.context_files" \
			'.build | {context_files, context_sent_files}'
		is "real-node cold: the context step is the engine's set-up, the walk, transfer and commit, in the engine's window (+-20 ms)" \
			"$CTX as \$c | .build as \$b | ((\$c.wall_ms - \$b.context_walk_ms - \$b.context_transfer_ms - \$b.context_commit_ms - \$b.context_engine_ms) | fabs) <= 3 and (\$c | $WIN)" \
			"{build: (.build | {context_walk_ms, context_transfer_ms, context_commit_ms, context_engine_ms}), step: [$CTX | {start_ms, wall_ms, engine_time}]}"
		is "real-node cold: COPY . . ends at its layer's commit, in the engine's window, >= 60 % of its active time" \
			"$COPY | ($WIN) and .wall_ms >= 0.6 * .engine_time.active_ms" "[$COPY | {start_ms, wall_ms, engine_time}]"
		is "real-node cold: wasted-layer-bytes names the host's node_modules files ($nm), no symbolic link" \
			"[.findings[] | select(.kind == \"wasted-layer-bytes\")][0].paths_total == $nm" \
			'[.findings[] | select(.kind == "wasted-layer-bytes") | {paths_total, message}]'
		is "real-node cold: the image size is the engine's inspect" '.build.image_bytes > 0 and .build.image_bytes_source == "image inspect"' \
			'.build | {image_bytes, image_bytes_source, image_bytes_note}'
	fi
	echo "// edited by the engines test" >>"$dir/src/server.js"
	# shellcheck disable=SC2086
	if record real-node-edit lp-eng/real-node -f Dockerfile.bad $args; then
		rec_ok "real-node edit: record exits 0" real-node-edit
		is "real-node edit: one file sent, src/server.js, the cache miss's" \
			'.build.context_sent_files == 1 and .build.context_changed_files == 1 and ([.findings[] | select(.kind == "cache-miss") | .paths] | any(. == ["src/server.js"]))' \
			'{build: (.build | {context_sent_files, context_changed_files}), findings: [.findings[] | {kind, paths}]}'
		is "real-node edit: the context step starts with the client's walk (> 0), in the engine's window (+-20 ms)" \
			"$CTX as \$c | .build as \$b | \$b.context_walk_ms > 0 and ((\$c.wall_ms - \$b.context_walk_ms - \$b.context_transfer_ms - \$b.context_commit_ms - \$b.context_engine_ms) | fabs) <= 3 and (\$c | $WIN)" \
			"{build: (.build | {context_walk_ms, context_transfer_ms, context_commit_ms, context_engine_ms}), step: [$CTX | {start_ms, wall_ms, engine_time}]}"
		is "real-node edit: the context step read the edited file, its bytes, and nothing else (no Dockerfile, no empty directory: $(cd "$dir" && find . -type d -empty | wc -l) here)" \
			"$CTX | .files_read == 1 and .bytes_read == $(wc -c <"$dir/src/server.js")" "[$CTX | {files_read, bytes_read}]"
		is "real-node edit: context-bloat counts the walk as time to save" \
			'[.findings[] | select(.kind == "context-bloat")][0] | .estimated_savings_ms > 0 and (.evidence | any(test("walk of the context")))' \
			'[.findings[] | select(.kind == "context-bloat") | {estimated_savings_ms, evidence}]'
		is "real-node edit: no git the CLI ran is in the context step (its reads are no step's)" \
			"$CTX | .bytes_read < 2048" "[$CTX | {files_read, bytes_read}]"
	fi
}

run_engine() {
	local out
	EW=$work/$ENG
	PROG=$ART/$ENG/progress
	mkdir -p "$EW" "$PROG"
	FX=up
	echo "# === $ENG ($((SECONDS - T0)) s)"
	if ! out=$("$TOOLS/engine.sh" up "$ENG" 2>"$EW/up.log"); then
		tally_fail "engine.sh up" "$(tail -5 "$EW/up.log" | clip)"
		return 1
	fi
	up+=("$ENG")
	eval "$out"
	tally_pass "engine.sh up ($(grep -o 'is up (.*) in' "$EW/up.log" | sed 's/^is up (//; s/) in$//'))"
	"$LP_BIN" check >"$EW/check.txt" 2>&1 || true
	local want_check
	case "$ENG" in
	docker-20.10) want_check="dockerd 20.10.*storage overlay2 \\(graphdriver\\).*supported" ;;
	docker-28.4) want_check="dockerd 28.4.0 .*storage overlay2 \\(graphdriver\\).*docker driver.*supported" ;;
	docker-28.4-containerd) want_check="dockerd 28.4.0 .*containerd image store.*partly supported" ;;
	docker-29) want_check="dockerd 29\\..*containerd image store.*partly supported" ;;
	buildkitd-0.24) want_check="builder lp-buildkitd-0.24 \\(remote driver.*partly supported" ;;
	esac
	if "$LP_BIN" check --json 2>/dev/null | jq -e --arg re "$want_check" '[.checks[] | select(.name == "engine") | .detail | test($re)] == [true]' >/dev/null; then
		tally_pass "layerprof check names the engine, its storage, builder and support"
	else
		tally_fail "layerprof check names the engine, its storage, builder and support" "$(grep -E '^  engine' "$EW/check.txt" | clip)"
	fi
	{
		echo "engine: $ENG"
		$DOCKER version 2>&1 | sed 's/^/  /'
		$DOCKER buildx version 2>&1 | sed 's/^/  buildx: /'
		[ "$ENG" = buildkitd-0.24 ] && $DOCKER buildx inspect 2>&1 | sed 's/^/  /'
	} >"$PROG/versions.txt" 2>&1

	# ---------------- bad-order ----------------
	FX=bad-order
	if want bad-order && prepare bad-order bad-order; then
		if record bad-order-cold lp-eng/bad-order; then
			rec_ok "bad-order cold: record exits 0" bad-order-cold
			is "bad-order cold: build.status ok, 0 cached steps" '.build.status == "ok" and .build.cached_steps == 0'
			is "bad-order cold: cache hit rate 0" '.build.cache_hit_rate == 0'
			is "bad-order cold: 5 Dockerfile steps (FROM WORKDIR COPY RUN RUN)" \
				'[.steps[] | select(.instruction != "") | .instruction] | sort == ["COPY", "FROM", "RUN", "RUN", "WORKDIR"]' \
				'[.steps[] | {id, name, instruction}]'
			is "bad-order cold: the slow RUN read exactly package.json" "$SLOW.reads_from_context == [\"package.json\"]" "[$SLOW]"
			case "$ENG" in
			docker-20.10) want_ver="20[.]10[.]" ;;
			docker-28.4*) want_ver="28[.]4[.]0" ;;
			docker-29) want_ver="29[.]" ;;
			buildkitd-0.24) want_ver="v0[.]24[.]0" ;;
			esac
			is "bad-order cold: the engine's version (its --version, asked at the end)" \
				".build.engine_version | test(\"$want_ver\")" '.build | {engine_version}'
			if [ "$ENG" = docker-20.10 ]; then
				is "bad-order cold: 20.10's CLI prints plain progress" '.build.progress_format == "plain"'
			else
				# record asked buildx for rawjson: the engine's own times for
				# the steps the kernel cannot time, and its account of every
				# step, whose window must hold the kernel's (the clock mapping)
				is "bad-order cold: rawjson recorded, builder named by buildx inspect" \
					'.build.progress_format == "rawjson" and (.build.builder | length > 0)' \
					'.build | {progress_format, builder, builder_driver}'
				is "bad-order cold: FROM/WORKDIR that ran and the Dockerfile's load are timed by the engine" \
					'[.steps[] | select(.cached | not) | select(.instruction == "FROM" or .instruction == "WORKDIR" or (.name | startswith("[internal] load build definition"))) | .time_source] | (length > 1 and all(. == "engine"))' \
					'[.steps[] | {id, name, cached, wall_ms, time_source, engine_time}]'
				if [ "$ENG" = buildkitd-0.24 ]; then
					is "bad-order cold: no --output (remote builder): no image size, the note says nothing was exported" \
						'.build.image_bytes == null and (.build.image_bytes_note | test("no step exported"))' \
						'.build | {image_bytes, image_bytes_source, image_bytes_note}'
				fi
				is "bad-order cold: the slow RUN's kernel time lies in the engine's window (+-20 ms)" \
					"$SLOW | .engine_time.active_ms >= 3000 and .engine_time.start_ms <= .start_ms + 20 and .start_ms + .wall_ms <= .engine_time.end_ms + 20" \
					"[$SLOW | {start_ms, wall_ms, engine_time}]"
			fi
		fi
		echo "// edited by the engines test" >>"$dir/src/index.js"
		if record bad-order-edit lp-eng/bad-order; then
			rec_ok "bad-order rebuild: record exits 0" bad-order-edit
			is "bad-order rebuild: build.status ok" '.build.status == "ok"'
			is "bad-order rebuild: cache-miss names exactly src/index.js" \
				'[.findings[] | select(.kind == "cache-miss") | .paths] | any(. == ["src/index.js"])'
			is "bad-order rebuild: layer-order names package.json, only that" \
				'[.findings[] | select(.kind == "layer-order")][0].paths == ["package.json"]'
			is "bad-order rebuild: layer-order is on the slow RUN" \
				"[.findings[] | select(.kind == \"layer-order\")][0].step == $SLOW.id"
			is "bad-order rebuild: the slow RUN re-ran and took >= 2.5 s" \
				"$SLOW | .cached == false and .wall_ms >= 2500" "[$SLOW]"
			is "bad-order rebuild: the slow RUN read exactly package.json" \
				"$SLOW.reads_from_context == [\"package.json\"]" "[$SLOW]"
			is "bad-order rebuild: WORKDIR cached; COPY . . and both RUNs not" \
				'[.steps[] | select(.instruction != "" and .instruction != "FROM")] | sort_by(.dockerfile_line) | map({i: .instruction, c: .cached}) ==
				 [{i: "WORKDIR", c: true}, {i: "COPY", c: false}, {i: "RUN", c: false}, {i: "RUN", c: false}]' \
				'[.steps[] | {id, name, instruction, cached}]'
			is "bad-order rebuild: context_changed_files == 1, context_files == 5" \
				'.build.context_changed_files == 1 and .build.context_files == 5'
			is "bad-order rebuild: COPY . . wrote the 5 context files" \
				'(.steps[] | select(.instruction == "COPY")) | .files_written >= 5' \
				'[.steps[] | select(.instruction != "") | {id, name, files_read, files_written, bytes_written}]'
			is "bad-order rebuild: $NOIO_NAME" "$NOIO" "$NOIO_SHOW"
			is "bad-order rebuild: every step that ran is timed by the kernel (its work was seen)" \
				'[.steps[] | select(.instruction == "COPY" or .instruction == "RUN") | select(.cached | not) | .time_source] | all(. == "kernel")' \
				'[.steps[] | {id, name, cached, wall_ms, time_source}]'
			if [ "$ENG" != docker-20.10 ]; then
				# the client walks the whole context before it sends the one
				# edited file: the step is the engine's set-up, the walk, the
				# transfer and the commit, inside the engine's own account of it
				CTX='(.steps[] | select(.name == "[internal] load build context"))'
				is "bad-order rebuild: the context step is the engine's set-up, the walk, transfer and commit, in the engine's window (+-20 ms)" \
					"$CTX as \$c | .build as \$b | \$c.time_source == \"kernel\" and ((\$c.wall_ms - \$b.context_walk_ms - \$b.context_transfer_ms - \$b.context_commit_ms - \$b.context_engine_ms) | fabs) <= 3 and \$c.start_ms + 20 >= \$c.engine_time.start_ms and \$c.start_ms + \$c.wall_ms <= \$c.engine_time.end_ms + 20" \
					"{build: (.build | {context_walk_ms, context_transfer_ms, context_commit_ms, context_engine_ms}), step: [$CTX | {start_ms, wall_ms, time_source, engine_time}]}"
			fi
			if [ "$ENG" != buildkitd-0.24 ]; then
				# dockerd's export: in dockerd (graphdriver), or in the containerd
				# it uses (containerd image store): either way the build's
				is "bad-order rebuild: the export's writes are the build's (image store, kernel-timed)" \
					'(.steps[] | select(.name == "exporting to image")) | .bytes_written > 0 and .time_source == "kernel"' \
					'[.steps[] | select(.name | test("export")) | {id, name, files_written, bytes_written, wall_ms, time_source}]'
			fi
		fi
		if [ -n "${LP_ENGINES_RECORDINGS:-}" ]; then
			mkdir -p "$LP_ENGINES_RECORDINGS/$ENG"
			cp "$EW"/bad-order-cold.* "$EW"/bad-order-edit.* "$LP_ENGINES_RECORDINGS/$ENG/" 2>/dev/null
		fi
		# rawjson/metadata of a rebuild with one more edit, and of a cached rebuild.
		echo "// edited again by the engines test" >>"$dir/src/index.js"
		rawjson bad-order-edit2 lp-eng/bad-order
		rawjson bad-order-cached lp-eng/bad-order
		# an untagged build: the image is found by the id its progress lines
		# give ("writing image", or the containerd store's "exporting manifest")
		if [ "$ENG" != buildkitd-0.24 ]; then
			# shellcheck disable=SC2086
			(cd "$dir" && timeout --foreground -k 10 300 "$LP_BIN" record -o "$EW/untagged.lprof" -- \
				$DOCKER build --network=host . >"$EW/untagged.out" 2>&1 </dev/null)
			J=$EW/untagged.json
			"$LP_BIN" report --json "$EW/untagged.lprof" >"$J" 2>"$EW/untagged.report.err"
			is "untagged build: the image is measured by the id in its progress lines" \
				'.build.image_bytes > 0 and .build.image_bytes_source == "image inspect"' \
				'.build | {image_bytes, image_bytes_source, image_bytes_note}'
		fi
	fi

	# ---------------- good-order ----------------
	FX=good-order
	if want good-order && prepare good-order good-order; then
		if record good-order-first lp-eng/good-order; then
			rec_ok "good-order first: record exits 0" good-order-first
			is "good-order first: no layer-order finding" '[.findings[] | select(.kind == "layer-order")] | length == 0'
		fi
		echo "// edited by the engines test" >>"$dir/src/index.js"
		if record good-order-edit lp-eng/good-order; then
			rec_ok "good-order rebuild: record exits 0" good-order-edit
			is "good-order rebuild: no layer-order finding" '[.findings[] | select(.kind == "layer-order")] | length == 0'
			is "good-order rebuild: the slow RUN is cached" "$SLOW.cached == true" '[.steps[] | {id, name, cached}]'
			is "good-order rebuild: cache-miss names exactly src/index.js" \
				'[.findings[] | select(.kind == "cache-miss") | .paths] | any(. == ["src/index.js"])'
		fi
	fi

	# ---------------- bloated ----------------
	FX=bloated
	if want bloated && prepare bloated bloated; then
		if record bloated lp-eng/bloated; then
			rec_ok "bloated: record exits 0" bloated
			is "bloated: build.status ok, no failed-step (buildx's git warnings are not an error)" \
				'.build.status == "ok" and ([.findings[] | select(.kind == "failed-step")] | length == 0)' \
				'{status: .build.status, failed: [.findings[] | select(.kind == "failed-step") | .message]}'
			B='[.findings[] | select(.kind == "context-bloat")][0]'
			is "bloated: context-bloat suggests .git and node_modules" \
				"$B.suggestion | split(\"\\n\") as \$l | (\$l | any(test(\"^(\\\\*\\\\*/|/)?\\\\.git/?\$\"))) and (\$l | any(test(\"^(\\\\*\\\\*/|/)?node_modules/?\$\")))" \
				"[.findings[] | {kind, paths, suggestion}]"
			is "bloated: secret-in-context names .env and id_rsa" \
				'[.findings[] | select(.kind == "secret-in-context") | .paths[]] as $p | ($p | index(".env")) != null and ($p | index("id_rsa")) != null'
			is "bloated: context is 34 files, 405225 bytes" \
				'.build.context_files == 34 and .build.context_bytes == 405225' '.build | {context_files, context_bytes}'
			is "bloated: the RUN read exactly app.sh" \
				'(.steps[] | select(.instruction == "RUN")) | .reads_from_context == ["app.sh"]' \
				'[.steps[] | select(.instruction == "RUN") | {id, name, reads_from_context}]'
		fi
		rawjson bloated-nocache lp-eng/bloated --no-cache
	fi

	# ---------------- missing-file ----------------
	FX=missing-file
	if want missing-file && prepare missing-file missing-file; then
		if record missing-file lp-eng/missing-file; then
			if [ "$REC_RC" != 0 ] && [ "$REC_RC" -lt 128 ]; then
				tally_pass "missing-file: record exits non-zero with the build's status ($REC_RC)"
			else
				tally_fail "missing-file: record exits non-zero with the build's status" "exit $REC_RC"
			fi
			is "missing-file: build.status is failed" '.build.status == "failed"'
			is "missing-file: failed-step names requirements.txt" \
				'[.findings[] | select(.kind == "failed-step") | .paths[]] | index("requirements.txt") != null'
			is "missing-file: failed-step is on the COPY requirements.txt step" \
				'([.findings[] | select(.kind == "failed-step")][0].step) as $s | [.steps[] | select(.id == $s) | .name | test("COPY requirements\\.txt")] == [true]' \
				'{findings: [.findings[] | select(.kind == "failed-step") | {step, paths, message}], steps: [.steps[] | {id, name}]}'
		fi
		rawjson missing-file lp-eng/missing-file
	fi

	# ---------------- multi-stage ----------------
	FX=multi-stage
	if want multi-stage && prepare multi-stage multi-stage; then
		ST='[.steps[] | select(.instruction != "") | {id, name, stage, instruction, files_written, bytes_written, reads_from_context}]'
		if record multi-stage lp-eng/multi-stage; then
			rec_ok "multi-stage: record exits 0" multi-stage
			is "multi-stage: steps of stage build (WORKDIR COPY RUN) and runtime (COPY COPY RUN)" \
				'([.steps[] | select(.stage == "build" and .instruction != "" and .instruction != "FROM") | .instruction] | sort == ["COPY", "RUN", "WORKDIR"]) and
				 ([.steps[] | select(.stage == "runtime" and .instruction != "" and .instruction != "FROM") | .instruction] | sort == ["COPY", "COPY", "RUN"])' "$ST"
			is "multi-stage: COPY --from=build (stage runtime) wrote >= 222 B" \
				'[.steps[] | select(.instruction == "COPY" and (.name | contains("COPY --from=build")) and .stage == "runtime" and .bytes_written >= 222)] | length == 1' "$ST"
			is "multi-stage: the build RUN read main.c and lib.c" \
				'(.steps[] | select(.stage == "build" and .instruction == "RUN")) | (.reads_from_context | sort) == ["lib.c", "main.c"]' "$ST"
			is "multi-stage: $NOIO_NAME" "$NOIO" "$NOIO_SHOW"
			is "multi-stage: no layer-order, no failed-step" \
				'[.findings[] | select(.kind == "layer-order" or .kind == "failed-step")] | length == 0'
		fi
		rawjson multi-stage-nocache lp-eng/multi-stage --no-cache
	fi

	# ---------------- bake ----------------
	# `docker buildx bake` builds three targets in one buildx process, in one
	# stream: the docker shim of `record` hands layerprof that stream, and
	# `bake --print` names the targets; each becomes a build of its own
	FX=bake
	if want bake && [ "$ENG" != docker-20.10 ] && prepare compose bake; then
		bx_args=${DOCKER#* } # the engine's docker options (--config DIR), without the binary
		[ "$bx_args" = "$DOCKER" ] && bx_args=
		bake_load=--load
		[ "$ENG" = buildkitd-0.24 ] && bake_load= # no image store behind the remote driver
		# shellcheck disable=SC2086
		(cd "$dir" && PATH=$(dirname "${DOCKER%% *}"):$PATH timeout --foreground -k 10 300 "$LP_BIN" record \
			-o "$EW/bake.lprof" -- docker $bx_args buildx bake --allow=network.host --no-cache $bake_load \
			>"$EW/bake.out" 2>&1 </dev/null)
		REC_RC=$?
		J=$EW/bake.json
		"$LP_BIN" report --json "$EW/bake.lprof" >"$J" 2>"$EW/bake.report.err"
		rec_ok "bake: record -- docker buildx bake exits 0" bake
		is "bake: three builds, one per target, all ok" \
			'.session.builds == 3 and .session.failed == 0 and ([.builds[].tag] | sort) == ["bake/api", "bake/web", "bake/worker"]' \
			'{session, builds: [.builds[] | {index, tag, status, error}]}'
		is "bake: each target's RUN reads its own .conf, in its own container" \
			'[.builds[] as $b | .steps[] | select(.build == $b.index and .instruction == "RUN") |
			  (.reads_from_context == [($b.tag | sub("bake/"; "")) + ".conf"]) and .execs >= 3 and .execs <= 8] | (length == 3 and all)' \
			'[.steps[] | select(.instruction == "RUN") | {build, name, execs, reads_from_context}]'
		is "bake: each target's COPY wrote exactly its own .conf (its layer, not its siblings')" \
			"[.builds[] as \$b | .steps[] | select(.build == \$b.index and .instruction == \"COPY\") |
			  [(\$b.tag | sub(\"bake/\"; \"\")), .files_written, .bytes_written]] | sort ==
			 [[\"api\", 1, $(wc -c <"$dir/api/api.conf")], [\"web\", 1, $(wc -c <"$dir/web/web.conf")], [\"worker\", 1, $(wc -c <"$dir/worker/worker.conf")]]" \
			'[.steps[] | select(.instruction == "COPY") | {build, name, files_written, bytes_written}]'
		is "bake: each target's context is its own directory" \
			'[.builds[] | .tag as $t | .context | endswith("/" + ($t | sub("bake/"; "")))] | all' '[.builds[] | {tag, context}]'
		if [ -n "$bake_load" ]; then
			# the size the engine's `docker image inspect` gives (the containerd
			# store counts differently from overlay2: compare with it, not a constant)
			sizes=$(for t in api web worker; do $DOCKER image inspect --format '{{.Size}}' "bake/$t" 2>/dev/null || echo 0; done | paste -sd, -)
			is "bake: each target's image is the engine's own inspect ($sizes)" \
				"([.builds[] | {(.tag): .image_bytes}] | add) as \$m | [\$m[\"bake/api\"], \$m[\"bake/web\"], \$m[\"bake/worker\"]] == [$sizes] and ([$sizes] | all(. > 0))" \
				'[.builds[] | {tag, image_bytes}]'
		fi
	fi

	# ---------------- attach ----------------
	FX=attach
	if want attach && prepare bad-order attach; then
		"$LP_BIN" record -v -o "$EW/attach.lprof" --duration 120 >"$EW/attach.out" 2>&1 </dev/null &
		local rec_pid=$! brc
		bg_pids+=("$rec_pid")
		for _ in $(seq 300); do
			grep -q '^layerprof: tracing ' "$EW/attach.out" 2>/dev/null && break
			kill -0 "$rec_pid" 2>/dev/null || break
			sleep 0.1
		done
		# shellcheck disable=SC2086
		(cd "$dir" && timeout --foreground 300 $DOCKER build --no-cache --network=host --progress=plain \
			-t lp-eng/attach . >"$EW/attach-build.out" 2>&1 </dev/null)
		brc=$?
		sleep 1
		kill -TERM "$rec_pid" 2>/dev/null
		wait "$rec_pid"
		REC_RC=$?
		save_plain "$EW/attach-build.out" attach-nocache
		J=$EW/attach.json
		if [ "$brc" = 0 ] && [ "$REC_RC" = 0 ] && "$LP_BIN" report --json "$EW/attach.lprof" >"$J" 2>"$EW/attach.report.err"; then
			tally_pass "attach: build, record (no command) and report exit 0"
			AR='(.steps[] | select(.instruction == "RUN" and (.name | contains("sleep 3 && sha256sum package.json"))))'
			is "attach: steps inferred" '.build.steps_inferred == true'
			is "attach: the slow RUN found by its text, 2.8-4.5 s" "[$AR | select(.wall_ms >= 2800 and .wall_ms <= 4500)] | length == 1" \
				'[.steps[] | {id, name, instruction, wall_ms}]'
			is "attach: the slow RUN read exactly package.json" "[$AR][0].reads_from_context == [\"package.json\"]" \
				'[.steps[] | {id, name, reads_from_context}]'
		else
			tally_fail "attach: build, record (no command) and report exit 0" \
				"build $brc, record $REC_RC; $(tail -3 "$EW/attach.out" "$EW/attach-build.out" 2>/dev/null | clip)"
		fi
	fi

	# ---------------- real-node (docker-29) ----------------
	# The real-world suite's npm project (tests/realworld/node: a git
	# repository, node_modules/ on the host, `npm ci` from the registry) on the
	# engine most users run now: buildx, the containerd store. Its truths, as
	# there, derived without layerprof: find(1) in the context, BuildKit's own
	# times (rawjson) for the windows, the engine's image inspect.
	FX=real-node
	if want real-node && [ "$ENG" = docker-29 ]; then
		real_node
	fi

	# ---------------- warnings (transcripts only) ----------------
	# Dockerfile lint warnings (buildx prints "#N WARN:" lines and "N warnings
	# found"), on a successful and on a failing build: parser test data.
	if want warnings; then
		dir=$work/src/$ENG/warnings
		mkdir -p "$dir"
		printf 'FROM layerprof/busybox as base\nENV API_TOKEN=not-a-secret\nRUN echo hello > /hello.txt\nCMD cat /hello.txt\n' >"$dir/Dockerfile"
		plain_build warnings-ok lp-eng/warnings >/dev/null 2>&1 || true
		printf 'FROM layerprof/busybox as base\nRUN echo hello\nRUN exit 3\nCMD cat /hello.txt\n' >"$dir/Dockerfile"
		# shellcheck disable=SC2086
		(cd "$dir" && timeout --foreground 300 $DOCKER build --network=host --progress=plain -t lp-eng/warnings-fail . \
			>"$EW/warnings-fail.out" 2>&1 </dev/null)
		save_plain "$EW/warnings-fail.out" warnings-fail
		[ "$ENG" = docker-20.10 ] || rawjson warnings-fail lp-eng/warnings-fail
	fi

	FX=down
	if "$TOOLS/engine.sh" down "$ENG" >"$EW/down.log" 2>&1; then
		local left
		left=$(ps -eo pid=,args= | grep -F "$LP_ENGINE_DIR/$ENG/" | grep -v grep)
		if [ -z "$left" ] && ! grep -qF "$LP_ENGINE_DIR/$ENG/" /proc/self/mountinfo; then
			tally_pass "engine.sh down: no process or mount left"
		else
			tally_fail "engine.sh down: no process or mount left" "$(printf '%s\n' "$left" | clip) $(grep -F "$LP_ENGINE_DIR/$ENG/" /proc/self/mountinfo | clip)"
		fi
	else
		tally_fail "engine.sh down" "$(tail -3 "$EW/down.log" | clip)"
	fi
	local keep=()
	for e in "${up[@]}"; do [ "$e" = "$ENG" ] || keep+=("$e"); done
	up=("${keep[@]}")
	cp "$EW"/*.txt "$EW"/*.json "$EW"/*.out "$EW"/*.log "$ART/$ENG/" 2>/dev/null
	if [ "${LP_ENGINES_SAVE_PROGRESS:-0}" = 1 ]; then
		mkdir -p "$LP_ROOT/tests/data/progress/$ENG"
		cp "$PROG"/* "$LP_ROOT/tests/data/progress/$ENG/"
	fi
	echo "# $ENG done ($((SECONDS - T0)) s)"
}

for ENG in $ENGINES; do
	if [[ " docker-20.10 docker-28.4 docker-28.4-containerd docker-29 buildkitd-0.24 " == *" $ENG "* ]]; then
		run_engine
	else
		FX=up
		tally_fail "unknown engine" "$ENG"
	fi
	# (no assignment of one engine may leak into the next)
	unset DOCKER DOCKER_HOST BUILDKIT_HOST BUILDX_BUILDER REGISTRY LP_ENGINE LP_ENGINE_STATE
done

echo
echo "# engine x fixture: passed/failed assertions (artifacts: $ART)"
printf '# %-24s' engine
FXS="up bad-order good-order bloated missing-file multi-stage bake attach real-node down"
for f in $FXS; do printf ' %-12s' "$f"; done
echo
for ENG in $ENGINES; do
	printf '# %-24s' "$ENG"
	for f in $FXS; do
		if [ -z "${CP[$ENG/$f]:-}${CF[$ENG/$f]:-}" ]; then printf ' %-12s' -; else printf ' %-12s' "${CP[$ENG/$f]:-0}/${CF[$ENG/$f]:-0}"; fi
	done
	echo
done
echo "# engines took $((SECONDS - T0)) s"

# The same, as the Markdown of the README's support matrix.
{
	echo "| engine | $(echo "$FXS" | sed 's/ / | /g') |"
	echo "|---|$(for _ in $FXS; do printf -- '---|'; done)"
	for ENG in $ENGINES; do
		printf '| %s |' "$ENG"
		for f in $FXS; do
			if [ -z "${CP[$ENG/$f]:-}${CF[$ENG/$f]:-}" ]; then printf ' - |'
			elif [ "${CF[$ENG/$f]:-0}" = 0 ]; then printf ' %s/%s |' "${CP[$ENG/$f]}" "${CP[$ENG/$f]}"
			else printf ' **%s/%s** |' "${CP[$ENG/$f]:-0}" "$((${CP[$ENG/$f]:-0} + ${CF[$ENG/$f]:-0}))"; fi
		done
		echo
	done
	echo
	echo "Failing assertions:"
	echo
	for x in "${FAILED[@]}"; do echo "- ${x%%|*}: ${x#*|}"; done
} >"$ART/matrix.md"
echo "# matrix: $ART/matrix.md"
finish

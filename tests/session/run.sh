#!/usr/bin/env bash
# Sessions: one recording of a build script, one report over several
# recordings (src/session.c, src/report_session.c, the docker shim).
#   - `layerprof record -- ./build-all.sh` (tests/fixtures/session: five
#     builds, two naming a missing stage, one a missing file), after an
#     unrecorded warm-up run and an edit of src/app.js: five builds apart,
#     in start order, with their statuses, targets and tags; per build the
#     cached steps equal the CACHED lines of that build's own progress
#     stream; the session hit rate is the sum over them; the failures carry
#     their cause (the stages the Dockerfile has, requirements.txt); images
#     match `docker image inspect`; every step and finding names its build
#   - `report ONE.lprof SESSION.lprof`: six builds; a one-build recording
#     keeps the one-build JSON shape
#   - --target per build and overall: image_size exits 3 (failed builds
#     have no image), cache_hit_rate=1% met where measured
#   - diff of two sessions, build by build; make; docker-compose build
#     --parallel (three services at once: each keeps its container and layer)
# Needs root, Debian's dockerd and its 20.10 client (like tests/e2e).
set -uo pipefail
. "$(dirname "$0")/../lib.sh"

DOCKERD=${LP_DOCKERD:-/usr/sbin/dockerd}
TOOLS=$LP_ROOT/tools
ART=$LP_ARTIFACTS/session

if ! is_root; then
	skip "session" "needs root"
	finish
	exit 0
fi
if [ ! -x "$DOCKERD" ] || [ ! -x /usr/bin/docker ]; then
	skip "session" "needs Debian's dockerd and /usr/bin/docker (apt-get install docker.io)"
	finish
	exit 0
fi
require_tool session jq
require_built session

work=$(mktemp -d /tmp/lp-session.XXXX)
D=$work/d
cleanup() {
	trap '' INT TERM
	"$TOOLS/dockerd-private.sh" stop "$D" >/dev/null 2>&1 ||
		echo "session: could not stop the private dockerd in $D cleanly" >&2
	if [ "$LP_FAIL" != 0 ]; then
		mkdir -p "$ART" && cp "$work"/*.json "$work"/*.out "$work"/*.txt "$work"/*.lprof "$ART/" 2>/dev/null
		echo "# session: reports and outputs kept in $ART/"
	fi
	rm -rf "$work" 2>/dev/null || echo "session: could not remove $work" >&2
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

if ! "$TOOLS/dockerd-private.sh" start "$D" >"$work/dockerd.log" 2>&1 ||
	! "$TOOLS/mk-base-image.sh" "$D/docker.sock" >"$work/base.log" 2>&1; then
	fail "session: private dockerd and base image" "$(tail -3 "$work/dockerd.log" "$work/base.log" | tr '\n' ' ')"
	finish
	exit 1
fi
export DOCKER_HOST=unix://$D/docker.sock DOCKER_BUILDKIT=1
# the script's `docker` is Debian's 20.10 client (the 28.x CLI in
# /usr/local/bin cannot build on dockerd 20.10 without buildx)
export PATH=/usr/bin:$PATH

J=
is() {
	local name=$1 test=$2 show=${3:-'{session, builds: [.builds[] | {index, status, target, tag, cached_steps, error}]}'}
	if jq -e "$test" "$J" >/dev/null 2>&1; then
		pass "$name"
	else
		fail "$name" "got: $(jq -c "$show" "$J" 2>&1 | head -c 1500)"
	fi
}

src=$work/src
"$LP_ROOT/tests/fixtures/prepare.sh" session "$src" >/dev/null 2>&1 || cp -r "$LP_ROOT/tests/fixtures/session" "$src"
(cd "$src" && ./build-all.sh >"$work/warmup.out" 2>&1)
echo "console.log(2) // edited" >>"$src/src/app.js"

# --- the recorded session, while someone else builds on the same daemon ---
mkdir -p "$work/foreign"
# three short containers a build, one build after another: one starts
# while dev's 2 s RUN runs, whatever the timing
printf 'FROM layerprof/busybox\nRUN sleep 0.2 && echo foreign-build > /f.txt\nRUN sleep 0.2 && echo foreign-build-2 > /g.txt\nRUN sleep 0.2 && echo foreign-build-3 > /h.txt\n' >"$work/foreign/Dockerfile"
(while [ ! -e "$work/foreign.stop" ]; do
	/usr/bin/docker build --network=host --no-cache -q -t foreign/x "$work/foreign" >/dev/null 2>&1
done) &
foreign_pid=$!
sleep 1
# -v: record says "build N (pid P)" as each build's stream begins, which
# splits the output below
(cd "$src" && timeout -k 10 300 "$LP_BIN" record -v -o "$work/session.lprof" -- ./build-all.sh \
	>"$work/session.out" 2>&1 </dev/null)
rc=$?
touch "$work/foreign.stop"
wait "$foreign_pid" 2>/dev/null
if [ "$rc" = 0 ] && [ -s "$work/session.lprof" ]; then
	pass "record -- ./build-all.sh exits with the script's status (0)"
else
	fail "record -- ./build-all.sh exits with the script's status (0)" "exit $rc: $(tail -5 "$work/session.out" | tr '\n' ' ')"
fi
J=$work/session.json
"$LP_BIN" report "$work/session.lprof" >"$work/session.txt" 2>&1
"$LP_BIN" report --json "$work/session.lprof" >"$J" 2>"$work/session.err"
is "five builds, three failed" '.session.builds == 5 and .session.failed == 3 and (.builds | length) == 5'
is "statuses in start order: ok failed ok failed failed" \
	'[.builds[].status] == ["ok", "failed", "ok", "failed", "failed"]'
is "targets and tags of each build" \
	'[.builds[] | [.target, .tag]] == [["dev", "sess/dev"], ["production", "sess/prod"], ["test", "sess/test"], [null, "sess/backend"], ["optimized", "sess/opt"]]'
is "each build names its context and command" \
	'[.builds[] | (.context | endswith("/src") or endswith("/src/backend")) and (.command | startswith("docker build"))] | all'
is "missing stages: the cause lists the Dockerfile's stages" \
	'[.builds[1, 4].error | test("target stage \"?(production|optimized)\"? could not be found") and test("base \\(line 1\\), dev \\(line 6\\), test \\(line 10\\)")] | all'
is "missing file: the cause names requirements.txt, on the COPY" \
	'.builds[3].error | test("COPY requirements.txt") and test("requirements.txt\":? not found")'
is "the successful builds have no error and an image" \
	'[.builds[0, 2] | .error == null and .image_bytes > 0] | all'

# Per build, the cached steps are the CACHED lines of that build's own
# stream: split the recorded output where record says a build's stream
# begins, and count Dockerfile steps (not FROM) and their CACHED. (A
# vertex the other user's build shares, its FROM, may show in a stream
# under that build's name: BuildKit shares identical vertices.)
awk '
	/^layerprof: build [0-9]+ \(pid / { b++ }
	/^#[0-9]+ \[[^]]*[0-9]+\/[0-9]+\] / {
		id = $1; if ($0 !~ /\] FROM /) { if (!((b, id) in step)) { step[b, id] = 1; n[b]++ } }
	}
	/^#[0-9]+ CACHED$/ { if ((b, $1) in step && !((b, $1) in hit)) { hit[b, $1] = 1; c[b]++ } }
	END { for (i = 1; i <= b; i++) printf "%d %d\n", c[i] + 0, n[i] + 0 }
' "$work/session.out" >"$work/cached.txt"
want_cached=$(awk '{ printf "%s%d", (NR > 1 ? "," : ""), $1 }' "$work/cached.txt")
want_cacheable=$(awk '{ s += $2 } END { print s + 0 }' "$work/cached.txt")
want_sum=$(awk '{ s += $1 } END { print s + 0 }' "$work/cached.txt")
is "per build cached steps = its stream's CACHED lines ($want_cached)" \
	"[.builds[].cached_steps] == [$want_cached]"
is "session hit rate = $want_sum of $want_cacheable cacheable steps" \
	".session.cached_steps == $want_sum and .session.cacheable_steps == $want_cacheable and
	 (.session.cache_hit_rate - ($want_sum / $want_cacheable) | fabs) < 1e-9"
# dev re-runs COPY src and its RUN (3 of 5 cached); test's COPY src is
# then the same layer as dev's (same parent, same files): only its RUN runs
is "the edit: dev hits 3 of 5, test 4 of 5 (its COPY src is dev's layer)" \
	'[.builds[0, 2].cache_hit_rate] == [0.6, 0.8]'
# dev's new layers: COPY src (src/app.js) and a RUN that writes nothing to
# its layer (cat > /dev/null); test's COPY src is dev's, its RUN writes none
appjs=$(wc -c <"$src/src/app.js")
is "what the builds added to the build cache: dev's COPY src, $appjs B" \
	".builds[0].cache_added_bytes == $appjs and .builds[2].cache_added_bytes == 0 and
	 .session.cache_added_bytes == $appjs" '[.builds[] | {tag, cache_added_bytes}]'
is "the cache's growth step by step: dev's COPY src and RUN, test's RUN (3 new layers)" \
	'.session.cache_added_layers == 3 and
	 [.builds[0, 2] | [.cache_added_layers[].name]] == [["[dev 1/2] COPY src ./src", "[dev 2/2] RUN cat src/app.js > /dev/null && sleep 2"],
	                                                    ["[test 2/2] RUN cat src/app.js > /dev/null && echo tested"]]' \
	'[.builds[] | {tag, cache_added_layers}]'
for i in 0 2; do
	tag=$(jq -r ".builds[$i].tag" "$J")
	size=$(/usr/bin/docker image inspect --format '{{.Size}}' "$tag" 2>/dev/null)
	is "build $i: image size = docker image inspect $tag ($size B)" ".builds[$i].image_bytes == ${size:-0}"
done
is "every step and finding carries its build" \
	'([.steps[] | .build] | unique) == [0, 1, 2, 3, 4] and ([.findings[] | .build] | all(. >= 0 and . < 5))'
is "failed-step findings for builds 1, 3, 4" \
	'[.findings[] | select(.kind == "failed-step") | .build] | unique == [1, 3, 4]'
# a RUN's own container: runc's 3 execs and its command's 1-3; the other
# user's container would add 4 more (seen: 10 before containers were kept
# to their build's time and command)
is "the other user's build is in no step, and is counted as foreign" \
	'([.steps[] | select(.name | test("foreign-build"))] | length == 0) and .session.foreign_containers >= 1 and
	 ([.steps[] | select(.instruction == "RUN" and (.cached | not)) | .execs] | all(. <= 7))' \
	'{session, runs: [.steps[] | select(.instruction == "RUN") | {build, name, cached, execs}]}'
is "no build holds another's steps (each RUN once, in its own build)" \
	'[.steps[] | select(.instruction == "RUN") | [.build, .name]] | length == (unique | length)'
if grep -q "a session of 5 builds" "$work/session.txt" && grep -q "== Builds" "$work/session.txt"; then
	pass "text report: the session table"
else
	fail "text report: the session table" "$(head -20 "$work/session.txt" | tr '\n' ' ')"
fi

# --- --target, per build and overall ---
"$LP_BIN" report "$work/session.lprof" --json --target image_size=200MB >"$work/target.json" 2>&1
trc=$?
J=$work/target.json
if [ "$trc" = 3 ]; then pass "--target image_size: exit 3 (failed builds have no image)"; else fail "--target image_size: exit 3" "exit $trc"; fi
is "--target judged per build: ok builds pass, failed ones fail" \
	'[.builds[] | .targets[0].pass] == [true, false, true, false, false]' '[.builds[] | .targets]'
is "--target judged overall" '.session.targets[0].pass == false' '.session'
"$LP_BIN" report "$work/session.lprof" --json --target cache_hit_rate=1% >"$work/target2.json" 2>&1
J=$work/target2.json
# the builds that failed before any step have no hit rate to measure
is "--target cache_hit_rate=1%: met where measured, and overall" \
	'[.builds[] | .targets[0].pass] == [true, false, true, true, false] and .session.targets[0].pass' \
	'{s: .session.targets, b: [.builds[] | .targets]}'

# --- several recordings ---
(cd "$src" && timeout -k 10 300 "$LP_BIN" record -o "$work/one.lprof" -- docker build --network=host -t sess/one --target dev . \
	>"$work/one.out" 2>&1 </dev/null)
J=$work/one.json
"$LP_BIN" report --json "$work/one.lprof" >"$J" 2>&1
is "a one-build recording keeps the one-build shape" '.build.status == "ok" and (has("session") | not)' '.build'
J=$work/two.json
"$LP_BIN" report --json "$work/one.lprof" "$work/session.lprof" >"$J" 2>"$work/two.err"
is "report ONE SESSION: six builds, in the order given" \
	'.session.builds == 6 and [.builds[].tag] == ["sess/one", "sess/dev", "sess/prod", "sess/test", "sess/backend", "sess/opt"]'
is "report ONE SESSION: the first build is fully cached" '.builds[0].cache_hit_rate == 1'

# --- diff, build by build: the script again, nothing edited ---
(cd "$src" && timeout -k 10 300 "$LP_BIN" record -o "$work/session2.lprof" -- ./build-all.sh \
	>"$work/session2.out" 2>&1 </dev/null)
J=$work/diff.json
"$LP_BIN" diff --json "$work/session.lprof" "$work/session2.lprof" >"$J" 2>"$work/diff.err"
is "diff of two sessions: five pairs, matched by tag" \
	'.session and ([.pairs[] | [.a_build, .b_build, .build]] == [[0,0,"sess/dev"],[1,1,"sess/prod"],[2,2,"sess/test"],[3,3,"sess/backend"],[4,4,"sess/opt"]]) and .only_a == [] and .only_b == []' \
	'{pairs: [.pairs[] | {a_build, b_build, build}], only_a, only_b}'
# what the edit made run in the first session is cached in the second
is "diff: dev's COPY src and RUN are now cached, test's RUN; nothing else changed" \
	'[.pairs[].diff.summary | [.now_cached, .new_misses, .failed, .fixed]] == [[2,0,0,0],[0,0,0,0],[1,0,0,0],[0,0,0,0],[0,0,0,0]]' \
	'[.pairs[] | {build, s: .diff.summary, c: [.diff.steps[] | select(.change != "unchanged") | {key, change}]}]'
"$LP_BIN" diff "$work/session.lprof" "$work/session2.lprof" >"$work/diff.txt" 2>&1
if grep -q "build by build" "$work/diff.txt" && [ "$(grep -c '^======== sess/' "$work/diff.txt")" = 5 ]; then
	pass "diff text: one section per build"
else
	fail "diff text: one section per build" "$(head -5 "$work/diff.txt" | tr '\n' ' ')"
fi

# --- make: the same builds from a Makefile ---
(cd "$src" && timeout -k 10 300 "$LP_BIN" record -o "$work/make.lprof" -- make -s all \
	>"$work/make.out" 2>&1 </dev/null)
J=$work/make.json
"$LP_BIN" report --json "$work/make.lprof" >"$J" 2>"$work/make.err"
is "make: its two docker builds, apart, both ok" \
	'.session.builds == 2 and [.builds[] | [.tag, .target, .status]] == [["sess/dev", "dev", "ok"], ["sess/test", "test", "ok"]]'

# --- docker-compose: three services built at the same time ---
if command -v docker-compose >/dev/null 2>&1; then
	cdir=$work/compose
	cp -r "$LP_ROOT/tests/fixtures/compose" "$cdir"
	(cd "$cdir" && COMPOSE_DOCKER_CLI_BUILD=1 timeout -k 10 300 "$LP_BIN" record -o "$work/compose.lprof" -- \
		docker-compose build --parallel >"$work/compose.out" 2>&1 </dev/null)
	rc=$?
	J=$work/compose.json
	"$LP_BIN" report --json "$work/compose.lprof" >"$J" 2>"$work/compose.err"
	if [ "$rc" = 0 ]; then pass "compose: record -- docker-compose build --parallel exits 0"; else fail "compose: record exits 0" "exit $rc: $(tail -3 "$work/compose.out" | tr '\n' ' ')"; fi
	is "compose: three builds, all ok, one per service" \
		'.session.builds == 3 and .session.failed == 0 and ([.builds[].tag] | sort) == ["compose/api", "compose/web", "compose/worker"]'
	is "compose: they ran at the same time, and the report says so" '[.builds[].overlaps] | all'
	# each RUN is its own service's: its own 6 execs (sh, cat, sleep, echo
	# and runc's), reading its own file, not its siblings' (run in parallel)
	is "compose: each RUN holds only its own container (6 execs) and reads its own .conf" \
		'[.builds[] as $b | .steps[] | select(.build == $b.index and .instruction == "RUN") |
		  .execs == 6 and .reads_from_context == [($b.tag | sub("compose/"; "")) + ".conf"]] | (length == 3 and all)' \
		'[.steps[] | select(.instruction == "RUN") | {build, execs, reads_from_context}]'
	is "compose: each build's image was inspected" '[.builds[].image_bytes > 0] | all'
	# each COPY wrote its own .conf into its layer, not its siblings' (they
	# ran at the same time, into their own snapshots)
	is "compose: each COPY wrote exactly its own .conf (1 file, its size)" \
		"[.builds[] as \$b | .steps[] | select(.build == \$b.index and .instruction == \"COPY\") |
		  [(\$b.tag | sub(\"compose/\"; \"\")), .files_written, .bytes_written]] | sort ==
		 [[\"api\", 1, $(wc -c <"$cdir/api/api.conf")], [\"web\", 1, $(wc -c <"$cdir/web/web.conf")], [\"worker\", 1, $(wc -c <"$cdir/worker/worker.conf")]]" \
		'[.steps[] | select(.instruction == "COPY") | {build, name, files_written, bytes_written}]'
else
	skip "compose: three services in parallel" "needs docker-compose (apt-get install docker-compose)"
fi

finish

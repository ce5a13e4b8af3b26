#!/usr/bin/env bash
# Fleet outputs: OpenTelemetry traces into a real Jaeger, and OpenMetrics for
# Prometheus (README, "Fleet"). Parts, each skipped with its reason when the
# host lacks what it needs:
#   metrics    `export -o metrics.prom` of the bad-order rebuild
#              (tests/data/traces/bad-order-edit.lptrace): `promtool check
#              metrics` (Debian's prometheus) and the exact values of that
#              recording; a failed build's status and failed-step finding
#   otlp-json  `-o x.otlp.json` is the same document `--otlp-format json`
#              sends; gzip, Content-Type, --otlp-header, the /v1/traces path
#              (a stand-in collector, tests/fleet/collector.py)
#   failures   an unreachable collector (nothing listening), a refusing one
#              (HTTP 400), a slow one (--otlp-timeout): a clear error, exit 1,
#              the trace file unchanged; a 503 is retried and then delivered;
#              a partial success is a warning
#   jaeger     tools/jaeger.sh up (Jaeger v1.75.0 built with Go on first use,
#              cached in /var/cache/layerprof), the recording exported as
#              protobuf and (a failed build) as JSON, read back from Jaeger's
#              query API (/api/traces?service=...) by check_jaeger.py: the span
#              tree build -> steps -> processes, step attributes, finding
#              events with evidence, the resource, wall-clock times; a
#              screenshot of Jaeger's UI when the binary serves one
#   record     (root, dockerd, docker.io) `record --otlp-endpoint` of a
#              bad-order build on a private dockerd: the build arrives in
#              Jaeger; a failed build too, with its exit status; a script of
#              five builds (tests/fixtures/session) is five traces and its
#              metrics are labelled by build; with an unreachable endpoint the
#              error is reported, the exit status stays the build's and the
#              trace is complete
# Artifacts: tests/artifacts/fleet/ (metrics.prom, the OTLP JSON, Jaeger's
# answers, the screenshot). Environment: LP_BIN, LP_JAEGER_CACHE,
# LP_FLEET_NO_JAEGER=1 (skip the parts that need Jaeger).
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
require_built fleet
here=$LP_ROOT/tests/fleet
ART=$LP_ARTIFACTS/fleet
TRACE=$LP_ROOT/tests/data/traces/bad-order-edit.lptrace
FAILED=$LP_ROOT/tests/data/traces/missing-file.lptrace
rm -rf "$ART"
mkdir -p "$ART"
work=$(mktemp -d /tmp/lp-fleet.XXXX)
export LP_JAEGER_DIR=$work/jaeger LP_JAEGER_OTLP_PORT=${LP_FLEET_OTLP_PORT:-24318}
export LP_JAEGER_QUERY_PORT=${LP_FLEET_QUERY_PORT:-26696} LP_JAEGER_GRPC_PORT=${LP_FLEET_GRPC_PORT:-26695}
export LP_JAEGER_HEALTH_PORT=${LP_FLEET_HEALTH_PORT:-23144}
servers=() jaeger_up=0 dockerd_up=0
D=$work/d
cleanup() {
	local p
	for p in "${servers[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	[ "$jaeger_up" = 1 ] && "$LP_ROOT/tools/jaeger.sh" down >/dev/null 2>&1
	[ "$dockerd_up" = 1 ] && "$LP_ROOT/tools/dockerd-private.sh" stop "$D" >/dev/null 2>&1
	rm -rf "$work" 2>/dev/null || echo "fleet: could not remove $work" >&2
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
clip() { local s; s=$(tr '\n' ' ' | tr -s ' '); printf '%s' "${s:0:600}"; }
sum() { sha256sum "$1" | cut -d' ' -f1; }

if [ ! -f "$TRACE" ]; then
	fail "fleet: fixture" "$TRACE is missing"
	finish
	exit
fi
trace_sum=$(sum "$TRACE")

# ------------------------------------------------------------------ metrics
prom=$ART/bad-order-edit.prom
if "$LP_BIN" export "$TRACE" -o "$prom" 2>"$work/prom.err"; then
	pass "metrics: export -o bad-order-edit.prom"
	if command -v promtool >/dev/null; then
		if out=$(promtool check metrics <"$prom" 2>&1); then
			pass "metrics: promtool check metrics accepts it${out:+ ($out)}"
		else
			fail "metrics: promtool check metrics" "$(clip <<<"$out")"
		fi
	else
		skip "metrics: promtool check metrics" "promtool is not installed (apt-get install prometheus)"
	fi
	# the exact values of this recording (report: 3.77 s, 5 steps, 1 cached, 25 %...)
	want=(
		'layerprof_build_info{host="vm",kernel="6.18.44-fc-v595",engine="dockerd",image="lp-bad",builder="",layerprof_version="0.1.0"} 1'
		'layerprof_build_start_timestamp_seconds 1795511734.187149588'
		'layerprof_build_duration_seconds 3.767593186'
		'layerprof_build_success 1'
		'layerprof_build_steps 5'
		'layerprof_build_cached_steps 1'
		'layerprof_build_cacheable_steps 4'
		'layerprof_build_cache_hit_ratio 0.25'
		'layerprof_build_context_bytes 1122'
		'layerprof_build_context_files 5'
		'layerprof_build_context_sent_bytes 168'
		'layerprof_build_context_sent_files 1'
		'layerprof_build_image_bytes 1985733'
		'layerprof_build_events 3580'
		'layerprof_build_lost_events{reason="ringbuf"} 0'
		'layerprof_step_duration_seconds{step="#7",stage="",line="5",instruction="COPY",name="[3/5] COPY . .",cached="false"} 0.000782382'
		'layerprof_step_duration_seconds{step="#8",stage="",line="7",instruction="RUN",name="[4/5] RUN cat package.json > /dev/null && sleep 3 && sha256sum package.json > /deps.txt",cached="false"} 3.091906113'
		'layerprof_step_duration_seconds{step="#5",stage="",line="4",instruction="WORKDIR",name="[2/5] WORKDIR /app",cached="true"} 0'
		'layerprof_findings{kind="layer-order"} 1'
		'layerprof_findings{kind="cache-miss"} 1'
		'layerprof_findings{kind="context-bloat"} 0'
		'# EOF'
	)
	missing=()
	for w in "${want[@]}"; do grep -qxF "$w" "$prom" || missing+=("$w"); done
	if [ ${#missing[@]} = 0 ]; then
		pass "metrics: the ${#want[@]} exact values of bad-order-edit"
	else
		fail "metrics: exact values" "missing: ${missing[*]:0:3}"
	fi
	# the same numbers as the report
	if command -v jq >/dev/null; then
		rj=$("$LP_BIN" report --json "$TRACE" | jq -r '[.build.steps, .build.cached_steps, .build.context_bytes, (.steps|length)] | @tsv')
		mj=$(printf '%s\t%s\t%s\t%s' "$(awk '$1=="layerprof_build_steps"{print $2}' "$prom")" \
			"$(awk '$1=="layerprof_build_cached_steps"{print $2}' "$prom")" \
			"$(awk '$1=="layerprof_build_context_bytes"{print $2}' "$prom")" \
			"$(grep -c '^layerprof_step_duration_seconds{' "$prom")")
		if [ "$rj" = "$mj" ]; then pass "metrics: steps, cached, context bytes and step count match report --json"; else fail "metrics: match report --json" "report $rj, metrics $mj"; fi
	fi
	[ "$(sum "$TRACE")" = "$trace_sum" ] && pass "metrics: the trace file is unchanged" || fail "metrics: the trace file is unchanged" "its sha256 changed"
else
	fail "metrics: export -o .prom" "$(clip <"$work/prom.err")"
fi
if [ -f "$FAILED" ] && "$LP_BIN" export "$FAILED" -o "$ART/missing-file.prom" 2>"$work/prom2.err"; then
	if grep -qx 'layerprof_build_success 0' "$ART/missing-file.prom" &&
		grep -qx 'layerprof_findings{kind="failed-step"} 1' "$ART/missing-file.prom" &&
		! grep -q '^layerprof_build_image_bytes' "$ART/missing-file.prom"; then
		pass "metrics: a failed build: success 0, failed-step 1, no image size"
	else
		fail "metrics: a failed build" "$(grep -E 'success|failed-step|image' "$ART/missing-file.prom" | clip)"
	fi
	if command -v promtool >/dev/null; then
		check "metrics: promtool accepts the failed build's metrics" promtool check metrics <"$ART/missing-file.prom"
	fi
fi

# count_py OUT: show check_jaeger.py's lines and count them; no line at all
# (it crashed) is a failure
count_py() {
	local st rest
	cat "$1"
	while read -r st rest; do
		case "$st" in PASS) LP_PASS=$((LP_PASS + 1)) ;; FAIL) LP_FAIL=$((LP_FAIL + 1)) ;; esac
	done < <(grep -E '^(PASS|FAIL) ' "$1")
	grep -qE '^(PASS|FAIL) ' "$1" || fail "jaeger: check_jaeger.py $(basename "$1")" "$(clip <"$1")"
}

# ---------------------------------------------------------------- otlp-json
# collector MODE: start tests/fleet/collector.py; sets CPORT, CDIR
collector() {
	CDIR=$work/collector-$1
	mkdir -p "$CDIR"
	python3 "$here/collector.py" "$CDIR/port" "$CDIR" "$1" 2>"$CDIR/log" &
	servers+=($!)
	for _ in $(seq 50); do [ -s "$CDIR/port" ] && break; sleep 0.1; done
	CPORT=$(cat "$CDIR/port" 2>/dev/null)
	[ -n "$CPORT" ]
}
have_py=0
command -v python3 >/dev/null && have_py=1
json=$ART/bad-order-edit.otlp.json
t0=$(date +%s%N)
if "$LP_BIN" export "$TRACE" -o "$json" 2>"$work/j.err"; then
	ms=$((($(date +%s%N) - t0) / 1000000))
	pass "otlp-json: export -o bad-order-edit.otlp.json ($(wc -c <"$json") bytes in $ms ms)"
	if command -v jq >/dev/null; then
		n=$(jq '[.resourceSpans[0].scopeSpans[0].spans[]] | length' "$json" 2>/dev/null)
		roots=$(jq '[.resourceSpans[0].scopeSpans[0].spans[] | select(.parentSpanId == null)] | length' "$json" 2>/dev/null)
		ids=$(jq -r '[.resourceSpans[0].scopeSpans[0].spans[].traceId] | unique | .[0] | length' "$json" 2>/dev/null)
		if [ "${n:-0}" -gt 11 ] && [ "$roots" = 1 ] && [ "$ids" = 32 ]; then
			pass "otlp-json: $n spans, one root, one 32-hex-digit trace id"
		else
			fail "otlp-json: structure" "spans $n, roots $roots, trace id length $ids"
		fi
	fi
else
	fail "otlp-json: export -o .otlp.json" "$(clip <"$work/j.err")"
fi
if [ "$have_py" = 0 ]; then
	skip "otlp-json: what a collector receives" "needs python3"
elif collector ok; then
	if "$LP_BIN" export "$TRACE" --otlp-endpoint "http://127.0.0.1:$CPORT/" --otlp-format json \
		--otlp-header "authorization=Bearer fleet-t0ken" --otlp-header "x-scope-orgid=ci" 2>"$work/send.err"; then
		pass "otlp-json: --otlp-format json delivered ($(clip <"$work/send.err"))"
		h=$CDIR/req-1.headers
		if cmp -s "$CDIR/req-1.body" "$json"; then
			pass "otlp-json: the collector got the same document as -o x.otlp.json"
		else
			fail "otlp-json: same document" "$(wc -c <"$CDIR/req-1.body") bytes received vs $(wc -c <"$json")"
		fi
		if grep -qx 'path: /v1/traces' "$h" && grep -qx 'content-encoding: gzip' "$h" &&
			grep -qx 'content-type: application/json' "$h" && grep -qx 'authorization: Bearer fleet-t0ken' "$h" &&
			grep -qx 'x-scope-orgid: ci' "$h"; then
			pass "otlp-json: POST /v1/traces, gzip, application/json, both --otlp-header"
		else
			fail "otlp-json: request headers" "$(clip <"$h")"
		fi
	else
		fail "otlp-json: send" "$(clip <"$work/send.err")"
	fi
	if "$LP_BIN" export "$TRACE" --otlp-endpoint "http://127.0.0.1:$CPORT/v1/traces" --otlp-compression none 2>"$work/send2.err" &&
		grep -qx 'content-type: application/x-protobuf' "$CDIR/req-2.headers" && ! grep -q '^content-encoding' "$CDIR/req-2.headers" &&
		grep -qx 'path: /v1/traces' "$CDIR/req-2.headers"; then
		pass "otlp-json: protobuf by default, --otlp-compression none, a URL ending in /v1/traces kept ($(wc -c <"$CDIR/req-2.body") bytes)"
	else
		fail "otlp-json: protobuf request" "$(clip <"$work/send2.err") $(clip <"$CDIR/req-2.headers" 2>/dev/null)"
	fi
	if "$LP_BIN" export "$TRACE" --otlp-endpoint "http://127.0.0.1:$CPORT" --otlp-format json --otlp-max-spans 5 \
		2>"$work/send3.err" && [ -f "$CDIR/req-7.body" ] && [ ! -f "$CDIR/req-8.body" ] &&
		[ "$(cat "$CDIR"/req-{3,4,5,6,7}.body | jq -s '[.[].resourceSpans[0].scopeSpans[0].spans[]] | length')" = \
			"$(jq '[.resourceSpans[0].scopeSpans[0].spans[]] | length' "$json")" ]; then
		pass "otlp-json: --otlp-max-spans 5: the trace in 5 requests, every span once"
	else
		fail "otlp-json: --otlp-max-spans" "$(clip <"$work/send3.err"); requests: $(ls "$CDIR" | grep -c body)"
	fi
else
	fail "otlp-json: stand-in collector starts" "$(clip <"$CDIR/log")"
fi

# ----------------------------------------------------------------- failures
# sendfail NAME WANT ARGS...: export must exit 1, say WANT, keep the trace
sendfail() {
	local name=$1 want=$2 rc
	shift 2
	"$LP_BIN" export "$TRACE" "$@" >"$work/f.out" 2>"$work/f.err"
	rc=$?
	if [ "$rc" = 1 ] && grep -q -- "$want" "$work/f.err" && grep -q "is unchanged" "$work/f.err" &&
		[ "$(sum "$TRACE")" = "$trace_sum" ]; then
		pass "failures: $name: exit 1, '$want', trace unchanged"
		echo "    $(head -1 "$work/f.err" | cut -c1-220)"
	else
		fail "failures: $name" "exit $rc: $(clip <"$work/f.err")"
	fi
}
# a port nothing listens on: bind one, then close it
dead=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 9)
sendfail "unreachable collector (3 attempts)" "cannot reach the collector" --otlp-endpoint "http://127.0.0.1:$dead" \
	--otlp-retries 2 --otlp-timeout 2s
grep -q "(3 attempts)" "$work/f.err" && pass "failures: unreachable: retried twice with backoff" ||
	fail "failures: unreachable: retries" "$(clip <"$work/f.err")"
if [ "$have_py" = 1 ] && collector refuse; then
	sendfail "refusing collector (HTTP 400)" "refused the trace: HTTP 400" --otlp-endpoint "http://127.0.0.1:$CPORT"
	if grep -q "test collector refuses everything" "$work/f.err" && grep -q "(1 attempt)" "$work/f.err"; then
		pass "failures: refused: the collector's message, not retried"
	else
		fail "failures: refused: message and attempts" "$(clip <"$work/f.err")"
	fi
else
	skip "failures: refusing collector" "needs python3"
fi
if [ "$have_py" = 1 ] && collector slow; then
	sendfail "slow collector (--otlp-timeout 500ms)" "timed out" --otlp-endpoint "http://127.0.0.1:$CPORT" \
		--otlp-timeout 500ms --otlp-retries 0
fi
if [ "$have_py" = 1 ] && collector flaky; then
	if "$LP_BIN" export "$TRACE" --otlp-endpoint "http://127.0.0.1:$CPORT" 2>"$work/flaky.err" &&
		[ -f "$CDIR/req-2.body" ] && [ ! -f "$CDIR/req-3.body" ]; then
		pass "failures: HTTP 503 (Retry-After: 0) retried once, then delivered"
	else
		fail "failures: 503 retried" "$(clip <"$work/flaky.err"); requests: $(ls "$CDIR" | grep -c body)"
	fi
fi
if [ "$have_py" = 1 ] && collector partial; then
	for f in protobuf json; do
		if "$LP_BIN" export "$TRACE" --otlp-endpoint "http://127.0.0.1:$CPORT" --otlp-format $f 2>"$work/p.err" &&
			grep -q "rejected 2 spans: 2 spans too old" "$work/p.err"; then
			pass "failures: a partial success ($f) is a warning with the collector's count and message"
		else
			fail "failures: partial success ($f)" "$(clip <"$work/p.err")"
		fi
	done
fi
# libcurl is opened when a trace is sent: without it, that one option fails
# with what to install (the library hidden by /dev/null mounted over it in a
# private mount namespace; everything else still runs)
curl_so=$(ldconfig -p 2>/dev/null | awk '$1 == "libcurl.so.4" && /x86-64/ { print $NF; exit }')
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null; then
	skip "failures: no libcurl" "needs root and unshare (a private mount namespace)"
elif [ -z "$curl_so" ]; then
	skip "failures: no libcurl" "libcurl.so.4 is not installed, so the test is the real case: see the send tests above"
else
	nocurl() { unshare -m sh -c 'mount --bind /dev/null "$1" && shift && exec "$@"' sh "$curl_so" "$@"; }
	nocurl "$LP_BIN" export "$TRACE" --otlp-endpoint "http://127.0.0.1:9" >"$work/nc.out" 2>"$work/nc.err"
	rc=$?
	if [ "$rc" = 1 ] && grep -q "needs libcurl: .*(install libcurl4)" "$work/nc.err" &&
		[ "$(sum "$TRACE")" = "$trace_sum" ]; then
		pass "failures: no libcurl.so.4: export exits 1, 'needs libcurl ... (install libcurl4)', trace unchanged"
		echo "    $(head -1 "$work/nc.err" | cut -c1-220)"
	else
		fail "failures: no libcurl (export)" "exit $rc: $(clip <"$work/nc.err")"
	fi
	# record says so before it runs the command, not once the build is over
	rm -f "$work/nc.lprof" "$work/nc.ran"
	nocurl "$LP_BIN" record --no-daemons -o "$work/nc.lprof" --otlp-endpoint "http://127.0.0.1:9" -- \
		touch "$work/nc.ran" >"$work/nc.out" 2>"$work/nc.err"
	rc=$?
	if [ "$rc" = 1 ] && grep -q "record: --otlp-endpoint: .*needs libcurl" "$work/nc.err" &&
		[ ! -e "$work/nc.ran" ] && [ ! -e "$work/nc.lprof" ]; then
		pass "failures: no libcurl.so.4: record exits 1 before running the command, nothing written"
	else
		fail "failures: no libcurl (record)" "exit $rc, ran: $([ -e "$work/nc.ran" ] && echo yes || echo no): $(clip <"$work/nc.err")"
	fi
fi
"$LP_BIN" export "$TRACE" --otlp-endpoint "ftp://127.0.0.1/" >/dev/null 2>"$work/u.err"
[ $? = 2 ] && pass "failures: a non-http URL is a usage error (exit 2)" || fail "failures: ftp URL" "$(clip <"$work/u.err")"

# ------------------------------------------------------------------- jaeger
jaeger_ok=0
if [ "${LP_FLEET_NO_JAEGER:-0}" = 1 ]; then
	skip "jaeger" "LP_FLEET_NO_JAEGER=1"
elif [ "$have_py" = 0 ]; then
	skip "jaeger" "needs python3 (check_jaeger.py)"
elif ! "$LP_ROOT/tools/jaeger.sh" build >/dev/null 2>"$work/jbuild.err"; then
	if grep -q "needs Go" "$work/jbuild.err"; then
		skip "jaeger" "$(clip <"$work/jbuild.err")"
	else
		fail "jaeger: tools/jaeger.sh build" "$(tail -5 "$work/jbuild.err" | clip)"
	fi
else
	t0=$SECONDS
	if "$LP_ROOT/tools/jaeger.sh" up >"$work/jaeger.env" 2>"$work/jaeger.err"; then
		jaeger_up=1
		jaeger_ok=1
		eval "$(cat "$work/jaeger.env")"
		pass "jaeger: tools/jaeger.sh up in $((SECONDS - t0)) s ($OTLP_ENDPOINT, $JAEGER_QUERY; $(grep -o 'cached in.*\|built .*' "$work/jaeger.err" | head -1 | cut -c1-120))"
	else
		fail "jaeger: tools/jaeger.sh up" "$(clip <"$work/jaeger.err")"
	fi
fi
start_us=$(awk '$1=="layerprof_build_start_timestamp_seconds"{split($2,a,"."); printf "%s%s", a[1], substr(a[2]"000000",1,6)}' "$prom" 2>/dev/null)
if [ "$jaeger_ok" = 1 ]; then
	t0=$(date +%s%N)
	if "$LP_BIN" export "$TRACE" --otlp-endpoint "$OTLP_ENDPOINT" 2>"$work/je.err"; then
		pass "jaeger: export --otlp-endpoint (protobuf, gzip) in $((($(date +%s%N) - t0) / 1000000)) ms: $(clip <"$work/je.err")"
	else
		fail "jaeger: export --otlp-endpoint" "$(clip <"$work/je.err")"
	fi
	nspans=$(jq '[.resourceSpans[0].scopeSpans[0].spans[]] | length' "$json")
	"$LP_BIN" report --json "$TRACE" | jq --argjson n "$nspans" --argjson start "${start_us:-0}" '{
		root: "build lp-bad", spans: $n, start_us: $start, failed: false,
		steps: [.steps[].name],
		step_attrs: {
			"[3/5] COPY . .": {"layerprof.step.dockerfile_line": 5, "layerprof.step.cached": false,
				"layerprof.step.instruction": "COPY", "layerprof.step.id": "#7", "layerprof.step.files_written": 5,
				"layerprof.step.bytes_written": 1122},
			"[2/5] WORKDIR /app": {"layerprof.step.cached": true, "layerprof.step.dockerfile_line": 4},
			"[4/5] RUN cat package.json > /dev/null && sleep 3 && sha256sum package.json > /deps.txt":
				{"layerprof.step.context_files_read": 1, "layerprof.step.context_paths_read": ["package.json"],
				 "layerprof.step.execs": 6, "layerprof.step.stage": ""}
		},
		events: {
			"[4/5] RUN cat package.json > /dev/null && sleep 3 && sha256sum package.json > /deps.txt": ["layer-order"],
			"[3/5] COPY . .": ["cache-miss"]
		},
		process_args: {
			"[4/5] RUN cat package.json > /dev/null && sleep 3 && sha256sum package.json > /deps.txt": ["sleep 3", "cat package.json"],
			"[5/5] RUN cat src/index.js src/util.js > bundle.js && wc -c bundle.js": ["wc -c bundle.js"]
		},
		root_attrs: {"layerprof.build.status": "ok", "layerprof.build.steps": 5, "layerprof.build.cached_steps": 1,
			"layerprof.build.cache_hit_rate": 0.25, "layerprof.build.image_bytes": 1985733},
		resource: {"host.name": "vm", "os.version": "6.18.44-fc-v595", "layerprof.engine": "dockerd", "os.type": "linux"}
	}' >"$work/expect.json"
	python3 "$here/check_jaeger.py" "$JAEGER_QUERY" layerprof "$work/expect.json" >"$work/jc.out" 2>&1
	count_py "$work/jc.out"
	# the same build again, as OTLP/JSON: the same ids and the same content as
	# the protobuf, so Jaeger still shows one trace of the same spans
	if "$LP_BIN" export "$TRACE" --otlp-endpoint "$OTLP_ENDPOINT" --otlp-format json 2>"$work/je2.err"; then
		sleep 1
		python3 "$here/check_jaeger.py" "$JAEGER_QUERY" layerprof "$work/expect.json" >"$work/jc1b.out" 2>&1
		if grep -q '^FAIL' "$work/jc1b.out" || ! grep -q "^PASS jaeger: $nspans spans stored" "$work/jc1b.out"; then
			fail "jaeger: re-sent as OTLP/JSON: still one trace of $nspans spans" "$(grep -E '^FAIL|spans' "$work/jc1b.out" | clip)"
		else
			pass "jaeger: re-sent as OTLP/JSON: still one trace of $nspans spans (the protobuf and JSON encodings agree, span for span)"
		fi
	else
		fail "jaeger: re-send as JSON" "$(clip <"$work/je2.err")"
	fi
	curl -s "$JAEGER_QUERY/api/traces?service=layerprof&start=0&end=$(($(date +%s) + 1000))000000" >"$ART/jaeger-bad-order-edit.json"

	# a failed build, sent as JSON under another service name
	if [ -f "$FAILED" ] && "$LP_BIN" export "$FAILED" --otlp-endpoint "$OTLP_ENDPOINT" --otlp-format json \
		--otlp-service fleet-failed --otlp-max-spans 3 2>"$work/jf.err"; then
		pass "jaeger: a failed build sent as OTLP/JSON in requests of 3 spans (--otlp-service fleet-failed)"
		"$LP_BIN" report --json "$FAILED" | jq '. as $r | {root: "build lp-missing-file", spans: 8, failed: true, procs: false, steps: [.steps[].name],
			events: {([$r.steps[] | select(.id == ($r.findings[] | select(.kind == "failed-step") | .step))][0].name):
				["failed-step"]}}' >"$work/expect2.json"
		python3 "$here/check_jaeger.py" "$JAEGER_QUERY" fleet-failed "$work/expect2.json" >"$work/jc2.out" 2>&1
		count_py "$work/jc2.out"
	else
		fail "jaeger: failed build as JSON" "$(clip <"$work/jf.err")"
	fi

	# Jaeger's UI: only when this binary has one
	tid=$(jq -r '.data[0].traceID // empty' "$ART/jaeger-bad-order-edit.json")
	home=$(curl -s "$JAEGER_QUERY/")
	if grep -q "This is not the Jaeger UI" <<<"$home"; then
		skip "jaeger: screenshot of the trace in Jaeger's UI" "this Jaeger (built from the Go module) has no UI assets and serves its placeholder page; set LP_JAEGER_UI_ASSETS to a built jaeger-ui"
	elif ! command -v chromium >/dev/null; then
		skip "jaeger: screenshot" "chromium is not installed"
	else
		timeout 60 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1600,1000 \
			--virtual-time-budget=8000 --screenshot="$ART/jaeger-trace.png" "$JAEGER_QUERY/trace/$tid" >"$work/chr.log" 2>&1
		if [ -s "$ART/jaeger-trace.png" ]; then pass "jaeger: screenshot $ART/jaeger-trace.png"; else fail "jaeger: screenshot" "$(tail -3 "$work/chr.log" | clip)"; fi
	fi
fi

# ------------------------------------------------------------------- record
if ! is_root; then
	skip "record --otlp-endpoint" "needs root"
elif [ ! -x /usr/sbin/dockerd ] || [ ! -x /usr/bin/docker ]; then
	skip "record --otlp-endpoint" "needs Debian's docker.io (/usr/sbin/dockerd, /usr/bin/docker)"
elif [ "$jaeger_ok" != 1 ]; then
	skip "record --otlp-endpoint" "needs the private Jaeger (see above)"
elif ! "$LP_ROOT/tools/dockerd-private.sh" start "$D" >"$work/dockerd.log" 2>&1; then
	fail "record: private dockerd starts" "$(clip <"$work/dockerd.log")"
else
	dockerd_up=1
	if ! "$LP_ROOT/tools/mk-base-image.sh" "$D/docker.sock" >"$work/base.log" 2>&1; then
		fail "record: base image" "$(tail -3 "$work/base.log" | clip)"
	else
		src=$work/src/bad-order
		"$LP_ROOT/tests/fixtures/prepare.sh" bad-order "$src" >/dev/null 2>&1
		t0=$SECONDS
		(cd "$src" && DOCKER_BUILDKIT=1 timeout -k 10 300 "$LP_BIN" record -o "$work/rec.lprof" \
			--otlp-endpoint "$OTLP_ENDPOINT" --otlp-service fleet-record -- \
			/usr/bin/docker -H "unix://$D/docker.sock" build --network=host -t lp-fleet/bad-order . \
			>"$work/rec.out" 2>"$work/rec.err" </dev/null)
		rc=$?
		if [ "$rc" = 0 ] && grep -q "layerprof: sent 1 trace ([0-9]* spans)" "$work/rec.err"; then
			pass "record: --otlp-endpoint: build recorded and sent in $((SECONDS - t0)) s ($(grep -o 'sent 1 trace ([0-9]* spans)' "$work/rec.err"))"
		else
			fail "record: --otlp-endpoint" "exit $rc: $(tail -5 "$work/rec.err" | clip)"
		fi
		"$LP_BIN" report --json "$work/rec.lprof" | jq '{root: "build lp-fleet/bad-order", failed: false, steps: [.steps[].name],
			process_args: {([.steps[] | select(.name | test("RUN cat package.json"))][0].name): ["sleep 3"]}}' >"$work/expect3.json"
		python3 "$here/check_jaeger.py" "$JAEGER_QUERY" fleet-record "$work/expect3.json" >"$work/jc3.out" 2>&1
		count_py "$work/jc3.out"
		curl -s "$JAEGER_QUERY/api/traces?service=fleet-record&start=0&end=$(($(date +%s) + 1000))000000" >"$ART/jaeger-record.json"
		cp "$work/rec.lprof" "$ART/record.lprof" 2>/dev/null
		# processes' CPU time: each process span's layerprof.process.on_cpu_ns is
		# its exit record's cpu_ns (layerprof dump), as Jaeger stored it
		"$LP_BIN" dump --json "$work/rec.lprof" >"$work/rec.ndjson" 2>/dev/null
		cpu=$(python3 - "$ART/jaeger-record.json" "$work/rec.ndjson" <<'PY'
import collections, json, sys
spans = [s for t in json.load(open(sys.argv[1])).get("data", []) for s in t["spans"]]
# a process's exit record is its last thread's (tid need not be the pid);
# cpu_ns null: not measured (no attribute then)
want = collections.defaultdict(set)
for l in open(sys.argv[2]):
    d = json.loads(l) if l.startswith("{") else {}
    if d.get("kind") == "exit":
        want[d["pid"]].add(d.get("cpu_ns"))
n, bad = 0, []
for s in spans:
    tags = {t["key"]: t["value"] for t in s.get("tags", [])}
    if "process.pid" not in tags or "process.exit_code" not in tags:
        continue
    got = tags.get("layerprof.process.on_cpu_ns")
    n += got is not None
    if (int(got) if got is not None else None) not in want.get(int(tags["process.pid"]), ()):
        bad.append("pid %s: %s, exits %s" % (tags["process.pid"], got, sorted(want.get(int(tags["process.pid"]), ()))))
print("%d exited process spans" % n if n and not bad else "%d spans; %s" % (n, "; ".join(bad[:3])))
sys.exit(0 if n and not bad else 1)
PY
)
		if [ $? = 0 ]; then
			pass "record: process spans carry their CPU time, layerprof.process.on_cpu_ns ($cpu)"
		else
			fail "record: process spans carry their CPU time" "$cpu"
		fi
		# the engine's version in the resource: dockerd's own --version line
		want_ver=$(/usr/sbin/dockerd --version 2>/dev/null)
		got_ver=$(jq -r '[.data[0].processes[].tags[]? | select(.key == "layerprof.engine.version") | .value] | first // empty' \
			"$ART/jaeger-record.json" 2>/dev/null)
		if [ -n "$want_ver" ] && [ "$got_ver" = "$want_ver" ]; then
			pass "record: the resource names the engine's version ($got_ver)"
		else
			fail "record: the resource names the engine's version" "want '$want_ver', got '$got_ver'"
		fi

		# a failed build is sent too, and record keeps the build's exit status
		msrc=$work/src/missing-file
		"$LP_ROOT/tests/fixtures/prepare.sh" missing-file "$msrc" >/dev/null 2>&1
		(cd "$msrc" && DOCKER_BUILDKIT=1 timeout -k 10 300 "$LP_BIN" record -o "$work/recf.lprof" \
			--otlp-endpoint "$OTLP_ENDPOINT" --otlp-service fleet-record-failed -- \
			/usr/bin/docker -H "unix://$D/docker.sock" build --network=host -t lp-fleet/missing-file . \
			>"$work/recf.out" 2>"$work/recf.err" </dev/null)
		rc=$?
		if [ "$rc" != 0 ] && grep -q "layerprof: sent 1 trace" "$work/recf.err"; then
			pass "record: a failed build: exit $rc (the build's) and sent"
			"$LP_BIN" report --json "$work/recf.lprof" | jq '. as $r | {root: "build lp-fleet/missing-file", failed: true,
				procs: false, steps: [.steps[].name],
				events: {([$r.steps[] | select(.id == ($r.findings[] | select(.kind == "failed-step") | .step))][0].name):
					["failed-step"]}}' >"$work/expect4.json"
			python3 "$here/check_jaeger.py" "$JAEGER_QUERY" fleet-record-failed "$work/expect4.json" >"$work/jc4.out" 2>&1
			count_py "$work/jc4.out"
		else
			fail "record: a failed build" "exit $rc: $(tail -3 "$work/recf.err" | clip)"
		fi

		# a script of five builds (tests/fixtures/session): five traces, and
		# metrics labelled by build
		ssrc=$work/src/session
		"$LP_ROOT/tests/fixtures/prepare.sh" session "$ssrc" >/dev/null 2>&1 || cp -r "$LP_ROOT/tests/fixtures/session" "$ssrc"
		t0=$SECONDS
		(cd "$ssrc" && PATH=/usr/bin:$PATH DOCKER_HOST="unix://$D/docker.sock" DOCKER_BUILDKIT=1 \
			timeout -k 10 600 "$LP_BIN" record -o "$work/session.lprof" --otlp-endpoint "$OTLP_ENDPOINT" \
			--otlp-service fleet-session -- ./build-all.sh >"$work/session.out" 2>"$work/session.err" </dev/null)
		rc=$?
		if [ "$rc" = 0 ] && grep -q "layerprof: sent 5 traces" "$work/session.err"; then
			pass "record: a script of five builds: $(grep -o 'sent 5 traces ([0-9]* spans)' "$work/session.err") in $((SECONDS - t0)) s"
		else
			fail "record: a script of five builds sent as five traces" "exit $rc: $(tail -3 "$work/session.err" | clip)"
		fi
		sleep 1
		curl -s "$JAEGER_QUERY/api/traces?service=fleet-session&start=0&end=$(($(date +%s) + 1000))000000&limit=20" \
			>"$ART/jaeger-session.json"
		roots=$(jq -r '[.data[] | .spans[] | select((.references | length) == 0) | .operationName] | sort | join(",")' \
			"$ART/jaeger-session.json" 2>/dev/null)
		want="build sess/backend,build sess/dev,build sess/opt,build sess/prod,build sess/test"
		if [ "$roots" = "$want" ] && [ "$(jq '.data | length' "$ART/jaeger-session.json")" = 5 ]; then
			pass "jaeger: the session is five traces, one per build ($want)"
		else
			fail "jaeger: five traces" "roots: $roots"
		fi
		warned=$(jq -r '[.data[] | .spans[] | select(.warnings) | .operationName + ": " + (.warnings | join("; "))] | .[:3] | join(" | ")' \
			"$ART/jaeger-session.json" 2>/dev/null)
		if [ -z "$warned" ]; then
			pass "jaeger: no warning about any span of the five traces"
		else
			fail "jaeger: warnings on the session's spans" "$warned"
		fi
		errs=$(jq -r '[.data[] | .spans[] | select((.references | length) == 0) |
			select(any(.tags[]; .key == "error" and .value == true)) | .operationName] | sort | join(",")' "$ART/jaeger-session.json" 2>/dev/null)
		if [ "$errs" = "build sess/backend,build sess/opt,build sess/prod" ]; then
			pass "jaeger: the three failed builds are error spans"
		else
			fail "jaeger: failed builds" "errors on: $errs"
		fi
		if "$LP_BIN" export "$work/session.lprof" -o "$ART/session.prom" 2>"$work/sp.err" &&
			{ ! command -v promtool >/dev/null || promtool check metrics <"$ART/session.prom" >/dev/null 2>&1; } &&
			[ "$(grep -c '^layerprof_build_success{build="[0-4]"} ' "$ART/session.prom")" = 5 ] &&
			[ "$(grep '^layerprof_build_success{' "$ART/session.prom" | awk '{print $2}' | tr -d '\n')" = 10100 ] &&
			grep -q '^layerprof_build_info{build="1",.*target="production"' "$ART/session.prom"; then
			pass "metrics: the session: five builds labelled build=\"0\"..\"4\", success 1 0 1 0 0, promtool accepts it"
		else
			fail "metrics: the session" "$(clip <"$work/sp.err") $(grep '^layerprof_build_success' "$ART/session.prom" | clip)"
		fi

		# an unreachable collector: reported, the build's status, a complete trace
		(cd "$src" && echo "// edit" >>src/index.js && DOCKER_BUILDKIT=1 timeout -k 10 300 "$LP_BIN" record -o "$work/rec2.lprof" \
			--otlp-endpoint "http://127.0.0.1:$dead" --otlp-retries 1 --otlp-timeout 1s -- \
			/usr/bin/docker -H "unix://$D/docker.sock" build --network=host -t lp-fleet/bad-order . \
			>"$work/rec2.out" 2>"$work/rec2.err" </dev/null)
		rc=$?
		tr=$("$LP_BIN" report --json "$work/rec2.lprof" 2>/dev/null | jq -r '[.build.status, .build.truncated, .build.steps] | @tsv')
		if [ "$rc" = 0 ] && grep -q "record: OTLP: .*cannot reach the collector.*is complete" "$work/rec2.err" &&
			[ "$tr" = "$(printf 'ok\tfalse\t5')" ]; then
			pass "record: unreachable collector: reported, exit 0 (the build's), trace complete ($tr)"
			echo "    $(grep 'record: OTLP' "$work/rec2.err" | cut -c1-200)"
		else
			fail "record: unreachable collector" "exit $rc, report [$tr]: $(tail -3 "$work/rec2.err" | clip)"
		fi
	fi
fi
finish

#!/usr/bin/env bash
# A private Jaeger for the OpenTelemetry tests and for trying `--otlp-endpoint`
# by hand: Jaeger v1.75.0's cmd/jaeger (the OTLP-native "v2" binary, an
# OpenTelemetry Collector build), in-memory storage, loopback ports only.
#
#   tools/jaeger.sh up       build (first time) and start it; prints shell assignments:
#                            eval "$(tools/jaeger.sh up)"
#                            layerprof export build.lprof --otlp-endpoint "$OTLP_ENDPOINT"
#                            curl "$JAEGER_QUERY/api/traces?service=layerprof"
#   tools/jaeger.sh down     stop it (the traces are in memory: gone)
#   tools/jaeger.sh status   exit 0 (and print the assignments) when it answers, else 3
#   tools/jaeger.sh build    only build (or find) the binary; prints its path
#   tools/jaeger.sh --help
#
# The assignments printed by up (each line `export NAME=value`):
#   OTLP_ENDPOINT   http://127.0.0.1:PORT, the OTLP/HTTP receiver (POST /v1/traces)
#   JAEGER_QUERY    http://127.0.0.1:PORT, the query service: /api/traces, /api/services
#                   and the UI at / (see "UI" below)
# Build: a scratch module outside the repository (`go mod init x; go get -tool
# github.com/jaegertracing/jaeger/cmd/jaeger@v1.75.0; go build`), through
# GOPROXY; the binary is cached in $LP_JAEGER_CACHE (default
# /var/cache/layerprof/jaeger-v1.75.0)/bin/jaeger with build.log and a stamp,
# never rebuilt once stamped (LP_JAEGER_REBUILD=1 forces it). 7 to 11 minutes
# on 2 cores the first time; the scratch module is removed afterwards.
# State: $LP_JAEGER_DIR (default /tmp/lp-jaeger): config.yaml (written by
# `up`), jaeger.pid, jaeger.log.
# Ports (loopback): LP_JAEGER_OTLP_PORT (default 14318), LP_JAEGER_QUERY_PORT
# (16696), LP_JAEGER_GRPC_PORT (16695, the query's gRPC), LP_JAEGER_HEALTH_PORT
# (13144). Nothing else listens (no gRPC OTLP, no Jaeger/Zipkin receivers, no
# pprof, no self-metrics).
# UI: the Go module holds no UI assets (they are built from jaeger-ui with
# npm by Jaeger's release process), so / serves Jaeger's own placeholder page.
# LP_JAEGER_UI_ASSETS=DIR (a built jaeger-ui: index.html and static/) makes
# `up` serve it (jaeger_query's ui.assets_path).
# Exit status: 0 ok, 1 failure, 2 usage, 3 (status) not running.
set -euo pipefail

prog=jaeger.sh
VERSION=v1.75.0
MODULE=github.com/jaegertracing/jaeger
CACHE=${LP_JAEGER_CACHE:-/var/cache/layerprof/jaeger-$VERSION}
STATE=${LP_JAEGER_DIR:-/tmp/lp-jaeger}
OTLP_PORT=${LP_JAEGER_OTLP_PORT:-14318}
QUERY_PORT=${LP_JAEGER_QUERY_PORT:-16696}
GRPC_PORT=${LP_JAEGER_GRPC_PORT:-16695}
HEALTH_PORT=${LP_JAEGER_HEALTH_PORT:-13144}
TIMEOUT=${LP_JAEGER_TIMEOUT:-60}
BIN=$CACHE/bin/jaeger

die() { echo "$prog: $*" >&2; exit 1; }
say() { echo "$prog: $*" >&2; }
usage() { sed -n '2,38p' "$0" | sed 's/^# \{0,1\}//'; }

alive() {
	[ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
	local st
	st=$(awk '{ sub(/^[0-9]+ \(.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "$st" != Z ] && [ "$st" != X ]
}
pid_in() { [ -s "$1" ] && tr -dc '0-9' <"$1" || true; }

assignments() {
	echo "export OTLP_ENDPOINT=http://127.0.0.1:$OTLP_PORT"
	echo "export JAEGER_QUERY=http://127.0.0.1:$QUERY_PORT"
}

answers() { curl -fsS -m 2 "http://127.0.0.1:$QUERY_PORT/api/services" >/dev/null 2>&1; }

build() {
	if [ -x "$BIN" ] && [ -f "$CACHE/stamp" ] && [ "${LP_JAEGER_REBUILD:-0}" != 1 ]; then
		say "jaeger $VERSION: cached in $CACHE ($(cat "$CACHE/stamp"))"
		return 0
	fi
	command -v go >/dev/null || die "needs Go >= 1.24 to build it (go is not installed; see README, Fleet)"
	local gv
	gv=$(go env GOVERSION 2>/dev/null | sed -n 's/^go\([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
	read -r gmaj gmin <<<"${gv:-0 0}"
	if [ "$gmaj" -lt 1 ] || { [ "$gmaj" = 1 ] && [ "$gmin" -lt 24 ]; }; then
		die "needs Go >= 1.24 to build it ($(go env GOVERSION 2>/dev/null) is too old; see README, Fleet)"
	fi
	local work=$CACHE/.work t0=$SECONDS secs gmaj gmin
	say "building $MODULE/cmd/jaeger@$VERSION into $CACHE (about 10 minutes on 2 cores; log: $CACHE/build.log)"
	mkdir -p "$CACHE/bin"
	rm -rf "$work" "$CACHE/stamp"
	mkdir -p "$work"
	: >"$CACHE/build.log"
	if ! (cd "$work" && go mod init x && go get -tool "$MODULE/cmd/jaeger@$VERSION" &&
		CGO_ENABLED=0 go build -trimpath -o "$BIN.new" "$MODULE/cmd/jaeger") >>"$CACHE/build.log" 2>&1; then
		tail -20 "$CACHE/build.log" >&2
		die "the build failed; see $CACHE/build.log"
	fi
	mv "$BIN.new" "$BIN"
	rm -rf "$work"
	secs=$((SECONDS - t0))
	"$BIN" --help >/dev/null 2>&1 || die "$BIN does not run"
	echo "jaeger $VERSION ($MODULE/cmd/jaeger), built in ${secs}s, $(du -h "$BIN" | cut -f1) binary" >"$CACHE/stamp"
	say "built $BIN in ${secs}s ($(du -h "$BIN" | cut -f1); module cache $(du -sh "$(go env GOMODCACHE)" 2>/dev/null | cut -f1))"
}

write_config() {
	local ui=""
	if [ -n "${LP_JAEGER_UI_ASSETS:-}" ]; then
		[ -f "$LP_JAEGER_UI_ASSETS/index.html" ] || die "LP_JAEGER_UI_ASSETS=$LP_JAEGER_UI_ASSETS has no index.html"
		ui="    ui:
      assets_path: $LP_JAEGER_UI_ASSETS"
	fi
	cat >"$STATE/config.yaml" <<EOF
# Written by tools/jaeger.sh up: a private Jaeger $VERSION, in-memory, loopback only.
service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: []
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    metrics:
      level: none
    logs:
      level: info

extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 127.0.0.1:$HEALTH_PORT
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:$QUERY_PORT
    grpc:
      endpoint: 127.0.0.1:$GRPC_PORT
$ui
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 10000

receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:$OTLP_PORT

exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
EOF
}

up() {
	local pid t0
	mkdir -p "$STATE"
	pid=$(pid_in "$STATE/jaeger.pid")
	if alive "$pid" && answers; then
		say "jaeger $pid already running"
		assignments
		return 0
	fi
	build
	for p in "$OTLP_PORT" "$QUERY_PORT" "$GRPC_PORT" "$HEALTH_PORT"; do
		if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			die "port $p on 127.0.0.1 is taken (set LP_JAEGER_*_PORT)"
		fi
	done
	write_config
	t0=$SECONDS
	echo "=== $(date '+%F %T') $prog: $BIN --config $STATE/config.yaml" >>"$STATE/jaeger.log"
	setsid "$BIN" --config "$STATE/config.yaml" </dev/null >>"$STATE/jaeger.log" 2>&1 9>&- &
	pid=$!
	disown "$pid" 2>/dev/null || true
	echo "$pid" >"$STATE/jaeger.pid"
	for ((i = 0; i < TIMEOUT * 5; i++)); do
		answers && break
		alive "$pid" || { tail -20 "$STATE/jaeger.log" >&2; die "jaeger exited at start; see $STATE/jaeger.log"; }
		sleep 0.2
	done
	answers || { down; die "jaeger did not answer in ${TIMEOUT}s; see $STATE/jaeger.log"; }
	say "jaeger $VERSION running (pid $pid, up in $((SECONDS - t0))s): OTLP/HTTP 127.0.0.1:$OTLP_PORT, query 127.0.0.1:$QUERY_PORT"
	assignments
}

down() {
	local pid i
	pid=$(pid_in "$STATE/jaeger.pid")
	if ! alive "$pid"; then
		rm -f "$STATE/jaeger.pid"
		say "jaeger is not running"
		return 0
	fi
	say "stopping jaeger $pid"
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 150; i++)); do alive "$pid" || break; sleep 0.1; done
	if alive "$pid"; then
		say "jaeger $pid did not exit in 15 s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$STATE/jaeger.pid"
}

case "${1:-}" in
up) up ;;
down) down ;;
status)
	if alive "$(pid_in "$STATE/jaeger.pid")" && answers; then assignments; else exit 3; fi
	;;
build) build && echo "$BIN" ;;
-h | --help) usage ;;
*) usage >&2; exit 2 ;;
esac

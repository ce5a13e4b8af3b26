#!/usr/bin/env bash
# Real-consumer test of `layerprof export`: the exported files open in the
# tools people use. speedscope (npm, served on 127.0.0.1) loads the folded
# stacks and the Chrome trace in headless Debian Chromium (playwright-core);
# the SVG flame graph is opened directly; speedscope also loads the
# .speedscope.json (with its unit); the HTML report is opened directly too
# (html.js: no network, no console error, every step and finding shown, the
# flame graph zooms and searches). Screenshots go to
# tests/artifacts/exports/; LP_DOCS_IMG=docs/img also copies the HTML
# report's two to the README's. Also checks the files themselves: JSON
# parses (node), the .json.gz is one gzip member with the same JSON, the SVG
# is well-formed XML (xmllint), the folded lines match the format; the time
# flame graphs' step widths are `report --json`'s step times
# (flame_check.py), and a runc waiting on its init's pipe shows as
# "waiting on pipe" (the synthetic trace: a recorder with fd kinds).
#
# The trace: $LP_EXPORT_TRACE, else the real recording
# tests/data/traces/bad-order-edit.lptrace (a docker build rebuilt after an
# edit, its steps expected by name), else a synthetic one (gen_trace.c).
# Needs: chromium (Debian), node + npm (speedscope, playwright-core from
# tests/exports/package-lock.json via `npm ci`), libxml2-utils (xmllint).
# Missing ones are installed when possible (root, apt, npm registry), and
# their checks are skipped with the reason otherwise.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
here="$LP_ROOT/tests/exports"
out="$LP_ARTIFACTS/exports"
rm -rf "$out"
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ ! -x "$LP_BIN" ]; then
	fail "layerprof binary" "$LP_BIN is not built (make)"
	finish
	exit
fi

# ----------------------------------------------------------------- trace
trace=${LP_EXPORT_TRACE:-}
expect=()
if [ -z "$trace" ]; then
	# a real recording: the bad-order rebuild (its slow RUN re-ran)
	trace=$LP_ROOT/tests/data/traces/bad-order-edit.lptrace
	if [ -f "$trace" ]; then
		expect=(--expect "[3/5] COPY . ." --expect "[4/5] RUN cat package.json > /dev/null && sleep 3 && sha256sum package.json > /deps.txt")
	else
		trace=
		for t in "$LP_ROOT"/tests/data/traces/*.lptrace "$LP_ROOT"/tests/data/traces/*.lprof; do
			[ -f "$t" ] && { trace=$t; break; }
		done
	fi
fi
if [ -z "$trace" ]; then
	lib=${LP_LIB:-$LP_ROOT/build/liblayerprof.a}
	if [ ! -f "$lib" ]; then
		fail "synthetic trace" "no tests/data/traces/*.lptrace and $lib is not built"
		finish
		exit
	fi
	# shellcheck disable=SC2046
	if ! cc -std=c11 -D_GNU_SOURCE -O1 -I"$LP_ROOT/include" -I"$LP_ROOT/src" $(pkg-config --cflags libcjson 2>/dev/null) \
		-o "$tmp/gen_trace" "$here/gen_trace.c" "$lib" -lz -ldeflate -lcjson -lpthread -lm 2>"$tmp/cc.err"; then
		fail "synthetic trace" "gen_trace.c does not build: $(head -3 "$tmp/cc.err" | tr '\n' ' ')"
		finish
		exit
	fi
	trace="$tmp/synthetic-build.lprof"
	"$tmp/gen_trace" "$trace" B --tiny 200
	expect=(--expect "[3/6] COPY package.json ." --expect "[4/6] RUN npm ci; echo done")
	echo "trace: synthetic (no real recording in tests/data/traces/)"
else
	echo "trace: $trace"
fi
name=$(basename "${trace%.lprof}" .lptrace)

# results NAME RC LOG: a checker's (node, python) "ok"/"not ok"/"skip" lines as PASS,
# FAIL, SKIP; a non-zero exit that says nothing is a failure too.
results() {
	while IFS= read -r line; do
		case "$line" in
		"ok "*) pass "${line#ok }" ;;
		"not ok "*) l=${line#not ok }; fail "${l%%: *}" "${l#*: }" ;;
		"skip "*) l=${line#skip }; skip "${l%%: *}" "${l#*: }" ;;
		esac
	done <"$3"
	if [ "$2" != 0 ] && ! grep -q '^not ok' "$3"; then
		fail "$1" "exit $2: $(tail -5 "$3" | tr '\n' ' ')"
	fi
}

# ------------------------------------------------------------ the files
check "export folded" "$LP_BIN" export "$trace" -o "$out/$name.folded"
check "export chrome json" "$LP_BIN" export "$trace" -o "$out/$name.json"
check "export chrome json.gz" "$LP_BIN" export "$trace" -o "$out/$name.json.gz"
check "export svg" "$LP_BIN" export "$trace" -o "$out/$name.svg"
check "export svg --metric bytes" "$LP_BIN" export "$trace" -o "$out/$name.bytes.svg" --metric bytes
# from the repository, so the page (and the README's screenshot) names the
# trace as tests/data/traces/..., not this checkout's path
check "export html" sh -c 'cd "$1" && "$2" export "$3" -o "$4"' sh "$LP_ROOT" "$LP_BIN" "${trace#"$LP_ROOT"/}" "$out/$name.html"
check "report --json (what the HTML report must show)" sh -c '"$1" report "$2" --json >"$3"' sh "$LP_BIN" "$trace" "$out/$name.report.json"
check "export speedscope" "$LP_BIN" export "$trace" -o "$out/$name.speedscope.json"
check "export speedscope --metric bytes" "$LP_BIN" export "$trace" -o "$out/$name.bytes.speedscope.json" --metric bytes

# ------------------------------------------------- the time flame graphs
if ! command -v python3 >/dev/null; then
	skip "flame graph widths = report's step times" "python3 is not installed"
elif ! "$LP_BIN" report --json "$trace" >"$tmp/report.json" 2>"$tmp/report.err"; then
	fail "report --json" "$(head -2 "$tmp/report.err" | tr '\n' ' ')"
else
	python3 "$here/flame_check.py" "$tmp/report.json" "$out/$name.folded" "$out/$name.speedscope.json" \
		"$out/$name.svg" >"$tmp/flame.log" 2>&1
	results flame_check.py $? "$tmp/flame.log"
	if python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["profiles"][0]; sys.exit(p["unit"] != "bytes")' \
		"$out/$name.bytes.speedscope.json"; then
		pass "speedscope --metric bytes has the unit bytes"
	else
		fail "speedscope --metric bytes has the unit bytes" "$(head -c 300 "$out/$name.bytes.speedscope.json")"
	fi
fi
# runc blocked reading its init's pipe: "waiting on pipe", in a trace whose
# fds have kinds (the synthetic one; the fixture predates fd kinds, its
# runc shows "waiting on fd N, kind unknown", never "(unknown)")
lib=${LP_LIB:-$LP_ROOT/build/liblayerprof.a}
if [ ! -f "$lib" ]; then
	skip "runc's pipe wait is 'waiting on pipe'" "$lib is not built (make)"
# shellcheck disable=SC2046
elif ! cc -std=c11 -D_GNU_SOURCE -O1 -I"$LP_ROOT/include" -I"$LP_ROOT/src" $(pkg-config --cflags libcjson 2>/dev/null) \
	-o "$tmp/gen_pipe" "$here/gen_trace.c" "$lib" -lz -ldeflate -lcjson -lpthread -lm 2>"$tmp/cc.err"; then
	fail "runc's pipe wait is 'waiting on pipe'" "gen_trace.c does not build: $(head -3 "$tmp/cc.err" | tr '\n' ' ')"
else
	"$tmp/gen_pipe" "$tmp/pipe.lprof" B --tiny 20
	"$LP_BIN" export "$tmp/pipe.lprof" -o "$out/synthetic-pipe.folded"
	if grep -qE '^build;\[4/6\] RUN [^;]*;runc\[300\];waiting on pipe;read [1-9][0-9]*$' "$out/synthetic-pipe.folded" &&
		! grep -q '(unknown)' "$out/synthetic-pipe.folded"; then
		pass "runc's pipe wait is 'waiting on pipe' ($(grep -m1 'runc\[300\];waiting on pipe' "$out/synthetic-pipe.folded"))"
	else
		fail "runc's pipe wait is 'waiting on pipe'" "$(grep 'runc\[300\]' "$out/synthetic-pipe.folded" | head -3 | tr '\n' ' ')"
	fi
fi

if grep -qvE '^[^ ]+( [^ ]+)* [1-9][0-9]*$' "$out/$name.folded"; then
	fail "folded lines" "$(grep -vE '^[^ ]+( [^ ]+)* [1-9][0-9]*$' "$out/$name.folded" | head -2 | tr '\n' ' ')"
else
	pass "folded lines match '^[^ ]+( [^ ]+)* [1-9][0-9]*\$' ($(wc -l <"$out/$name.folded") lines)"
fi
if gzip -dc "$out/$name.json.gz" >"$tmp/inflated.json" 2>"$tmp/gz.err" && cmp -s "$tmp/inflated.json" "$out/$name.json"; then
	# one member: a second member would make the stream longer than the first one's end
	if command -v python3 >/dev/null; then
		check "json.gz is one gzip member" python3 -c '
import sys, zlib
d = open(sys.argv[1], "rb").read()
z = zlib.decompressobj(31)
z.decompress(d)
sys.exit(0 if z.eof and not z.unused_data else 1)' "$out/$name.json.gz"
	else
		skip "json.gz is one gzip member" "python3 is not installed"
	fi
	pass "json.gz inflates to the same JSON"
else
	fail "json.gz inflates to the same JSON" "$(cat "$tmp/gz.err")"
fi
if command -v xmllint >/dev/null; then
	check "svg is well-formed XML (xmllint)" xmllint --noout "$out/$name.svg"
	check "bytes svg is well-formed XML (xmllint)" xmllint --noout "$out/$name.bytes.svg"
else
	skip "svg is well-formed XML (xmllint)" "xmllint is missing: apt-get install libxml2-utils"
fi

# -------------------------------------------------------- the consumers
have_node=1
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	have_node=0
	if is_root && command -v apt-get >/dev/null; then
		echo "installing Debian's nodejs and npm for the consumer test"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null 2>&1 && have_node=1
	fi
fi
if [ "$have_node" = 1 ]; then
	check "chrome json parses (node JSON.parse)" node -e '
const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
if (!Array.isArray(j.traceEvents) || j.displayTimeUnit !== "ms" || !j.otherData) process.exit(1);
for (const e of j.traceEvents) if (e.ph === "X" && typeof e.dur !== "number") process.exit(2);' "$out/$name.json"
fi

if ! command -v chromium >/dev/null; then
	if is_root && command -v apt-get >/dev/null; then
		echo "installing Debian's chromium for the consumer test (apt-get install chromium)"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 ||
			{ apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; }
	fi
fi
if [ "$have_node" != 1 ]; then
	skip "speedscope + svg + html in chromium" "node/npm are not installed (apt-get install nodejs npm)"
elif ! command -v chromium >/dev/null; then
	skip "speedscope + svg + html in chromium" "Debian's chromium is not installed and could not be (apt-get install chromium)"
else
	# speedscope and playwright-core, exactly as locked
	if [ ! -d "$here/node_modules/speedscope/dist/release" ] || [ ! -d "$here/node_modules/playwright-core" ] ||
		[ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
		echo "installing speedscope and playwright-core from npm (npm ci in tests/exports)"
		(cd "$here" && npm ci --no-audit --no-fund --loglevel=error >"$tmp/npm.log" 2>&1) || true
	fi
	if [ ! -d "$here/node_modules/speedscope/dist/release" ] || [ ! -d "$here/node_modules/playwright-core" ]; then
		skip "speedscope + svg + html in chromium" "npm ci failed (no npm registry?): $(grep -v nodedir "$tmp/npm.log" | tail -2 | tr '\n' ' ')"
	else
		CHROMIUM=$(command -v chromium) timeout 300 node "$here/consumers.js" --dir "$out" \
			--folded "$out/$name.folded" --json "$out/$name.json" --svg "$out/$name.svg" \
			--speedscope "$out/$name.speedscope.json" \
			--shots "$out" "${expect[@]}" >"$tmp/consumers.log" 2>&1
		results consumers.js $? "$tmp/consumers.log"
		CHROMIUM=$(command -v chromium) timeout 300 node "$here/html.js" --html "$out/$name.html" \
			--report "$out/$name.report.json" --shots "$out" >"$tmp/html.log" 2>&1
		results html.js $? "$tmp/html.log"
		if [ -n "${LP_DOCS_IMG:-}" ]; then
			for png in html-report.png html-flame-zoomed.png; do
				[ -f "$out/$png" ] && cp "$out/$png" "$LP_DOCS_IMG/$png"
			done
		fi
		echo "screenshots: $(cd "$out" && ls ./*.png 2>/dev/null | tr '\n' ' ')"
	fi
fi
finish

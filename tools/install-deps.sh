#!/usr/bin/env bash
# Install what layerprof needs from Debian's archive, only what is missing.
#   tools/install-deps.sh build|test|demo|bench|engines
set -euo pipefail
what=${1:-build}
build=(make gcc clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev libdeflate-dev libcjson-dev libcurl4-openssl-dev pkg-config)
docker=(docker.io busybox-static)
# tests/realworld: debootstrap for the base images; the host-side clients that
# make the developer contexts (lockfiles, node_modules, .venv, bin/, target/)
# come from Debian only when no such command is installed (a host's own Node,
# Go or rustup toolchain is left alone)
realworld=(debootstrap git curl ca-certificates)
command -v npm >/dev/null 2>&1 || realworld+=(nodejs npm)
python3 -m venv --help >/dev/null 2>&1 || realworld+=(python3-venv python3-pip)
command -v go >/dev/null 2>&1 || realworld+=(golang-go)
command -v cargo >/dev/null 2>&1 || realworld+=(cargo-web rustc-web)
case "$what" in
build) pkgs=("${build[@]}") ;;
# tests/fleet: promtool (prometheus), protoc --decode_raw (protobuf-compiler), curl (tools/jaeger.sh)
test) pkgs=("${build[@]}" "${docker[@]}" docker-compose libcriterion-dev libfuzzer-14-dev libclang-rt-14-dev python3 xz-utils jq chromium libxml2-utils
	prometheus protobuf-compiler curl
	"${realworld[@]}") ;;
demo) pkgs=("${build[@]}" "${docker[@]}") ;;
bench) pkgs=("${build[@]}" "${docker[@]}" strace bpftrace hyperfine jq) ;;
# tools/engine.sh and make test-engines (Go >= 1.25 and the 28.x docker CLI are not Debian's: see README)
engines) pkgs=("${build[@]}" "${docker[@]}" runc docker-registry curl iproute2 jq) ;;
-h|--help) sed -n '2,3p' "$0"; exit 0 ;;
*) echo "install-deps.sh: unknown set '$what' (build, test, demo, bench, engines)" >&2; exit 2 ;;
esac
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "install-deps.sh: missing packages: ${missing[*]}; run as root (or: sudo apt-get install ${missing[*]})" >&2
	exit 1
fi
echo "install-deps.sh: installing ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

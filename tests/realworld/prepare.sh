#!/usr/bin/env bash
# Make a build context of a real-world project the way it looks on a
# developer's machine, ready to `docker build`.
#
#   tests/realworld/prepare.sh ECOSYSTEM DEST
#
# ECOSYSTEM is a directory next to this script (node python go rust apt). DEST
# must not exist. Adds, with the real clients and the real registries:
#   - the lockfile the project's developers commit but this repository cannot
#     (it would name a registry host): node package-lock.json (npm install
#     --package-lock-only), rust Cargo.lock (cargo generate-lockfile);
#     cached in LP_RW_CACHE (default /var/cache/layerprof/realworld) by the
#     manifest's hash, so every run builds the same dependency versions;
#   - a .git history (git init and three commits, as the developer made them);
#   - a secret: .env with a fake API token and database password;
#   - the ecosystem's local artefacts: node_modules/ (npm ci on the host),
#     .venv/ (python3 -m venv + pip install -r requirements.txt), bin/server
#     (go build), target/ (cargo build --release), logs/ (sitecheck's logs).
# Prints the --build-arg options that pass the host client's registry
# configuration into the build (npm registry, GOPROXY, pip index), one a line.
# Downloads go through the clients' own caches (npm cache, pip cache,
# GOMODCACHE, CARGO_HOME). Exit 0 ok, 3 the registry is unreachable (the
# reason on stderr), 1 any other failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
prog=prepare.sh
CACHE=${LP_RW_CACHE:-/var/cache/layerprof/realworld}

case "${1:-}" in
-h | --help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
[ $# = 2 ] || { echo "usage: $prog ECOSYSTEM DEST" >&2; exit 2; }
eco=$1 dest=$2
[ -f "$here/$eco/Dockerfile.bad" ] || { echo "$prog: no project '$eco' in $here" >&2; exit 1; }
[ ! -e "$dest" ] || { echo "$prog: $dest exists; remove it first" >&2; exit 1; }

unreachable() { echo "$prog: $eco: registry unreachable: $*" >&2; exit 3; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# run WHAT CMD...: quiet unless it fails; a network-looking failure exits 3.
run() {
	local what=$1
	shift
	if "$@" >"$log" 2>&1; then return 0; fi
	if grep -qiE 'ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ECONNRESET|network|timed? ?out|Could not resolve|Failed to establish|Temporary failure|connection refused|dial tcp|no such host|failed to get|spurious network|unable to (get|access)' "$log"; then
		unreachable "$what failed: $(tail -3 "$log" | tr '\n' ' ')"
	fi
	echo "$prog: $eco: $what failed:" >&2
	tail -20 "$log" >&2
	exit 1
}

mkdir -p "$CACHE/lockfiles"
cp -a "$here/$eco" "$dest"
cd "$dest"

# need_lock MANIFEST LOCK: false (after copying it in) when the cache has the
# lockfile of this manifest; true when the real client must make it.
need_lock() {
	local manifest=$1 lock=$2 key
	key=$eco-$(sha256sum "$manifest" | cut -c1-16)-$lock
	if [ -s "$CACHE/lockfiles/$key" ]; then
		cp "$CACHE/lockfiles/$key" "$lock"
		return 1
	fi
	return 0
}
save_lock() {
	local manifest=$1 lock=$2 key
	key=$eco-$(sha256sum "$manifest" | cut -c1-16)-$lock
	cp "$lock" "$CACHE/lockfiles/$key.tmp" && mv "$CACHE/lockfiles/$key.tmp" "$CACHE/lockfiles/$key"
}

args=()
case "$eco" in
node)
	command -v npm >/dev/null || { echo "$prog: node: npm is not installed (apt-get install npm)" >&2; exit 1; }
	reg=$(npm config get registry)
	run "npm ping ($reg)" npm ping
	if need_lock package.json package-lock.json; then
		run "npm install --package-lock-only" npm install --package-lock-only --no-audit --no-fund
		save_lock package.json package-lock.json
	fi
	args+=("--build-arg=NPM_CONFIG_REGISTRY=$reg")
	;;
python)
	idx=${PIP_INDEX_URL:-$(python3 -m pip config get global.index-url 2>/dev/null || true)}
	[ -z "$idx" ] || args+=("--build-arg=PIP_INDEX_URL=$idx")
	pkg=$(sed -nE '1s/^([A-Za-z0-9_.-]+).*/\1/p' requirements.txt)
	run "pip index versions $pkg" python3 -m pip index versions "$pkg"
	;;
go)
	proxy=$(go env GOPROXY)
	args+=("--build-arg=GOPROXY=$proxy")
	run "go list -m -versions (GOPROXY=$proxy)" env GOFLAGS=-mod=mod go list -m -versions github.com/google/uuid
	;;
rust)
	# the index is revalidated even when the lockfile is cached
	if need_lock Cargo.toml Cargo.lock; then
		run "cargo generate-lockfile" cargo generate-lockfile
		save_lock Cargo.toml Cargo.lock
	else
		run "cargo fetch" cargo fetch
	fi
	;;
apt)
	mirror=$("$here/../../tools/mk-debian-image.sh" --mirror)
	run "the Debian mirror $mirror" curl -fsS -m 20 -o /dev/null "$mirror/dists/bookworm/Release"
	;;
esac

# The developer's history: three commits.
git init -q -b main .
git config user.name "Dana Developer"
git config user.email "dana@example.invalid"
git add -A .
git commit -q -m "Initial version"
git commit -q --allow-empty -m "CI: run the tests on every push"
echo "" >>README.md
echo "Maintainer: Dana Developer" >>README.md
git commit -q -am "README: maintainer"

# The secret every developer has lying around (fake values).
cat >.env <<'EOF'
API_TOKEN=lp_fake_9f3a1c2b7d4e5f60718293a4b5c6d7e8f9012345
DATABASE_URL=postgres://app:not-a-real-password@db.internal:5432/app
EOF
chmod 600 .env

# The ecosystem's local artefacts, made with the real tools.
case "$eco" in
node)
	run "npm ci (host node_modules)" npm ci --no-audit --no-fund
	;;
python)
	run "python3 -m venv .venv" python3 -m venv .venv
	run "pip install -r requirements.txt (host .venv)" .venv/bin/pip install -q -r requirements.txt
	;;
go)
	run "go build (host bin/server)" env GOFLAGS=-buildvcs=false go build -o bin/server ./cmd/server
	;;
rust)
	# target/ is cached by the inputs (compiling is not downloading, but it is slow)
	key=$(cat Cargo.toml Cargo.lock src/*.rs | sha256sum | cut -c1-16)
	if [ -d "$CACHE/rust-target-$key" ]; then
		cp -a "$CACHE/rust-target-$key" target
	else
		run "cargo build --release (host target/)" cargo build --release
		rm -rf "$CACHE/rust-target-$key.tmp"
		cp -a target "$CACHE/rust-target-$key.tmp" && mv "$CACHE/rust-target-$key.tmp" "$CACHE/rust-target-$key"
	fi
	;;
apt)
	# a month of the tool's daily logs, as its README says to keep them
	mkdir -p logs
	for d in $(seq -w 1 30); do
		for i in $(seq 1 40); do
			printf '{"name":"intranet","url":"http://intranet.example.invalid/healthz","status":200,"seconds":0.0%02d}\n' "$i"
			printf '{"name":"wiki","url":"http://wiki.example.invalid/","status":%d,"seconds":0.1%02d}\n' $((i % 7 ? 200 : 503)) "$i"
		done >"logs/2026-11-$d.log"
	done
	;;
esac
((${#args[@]} == 0)) || printf '%s\n' "${args[@]}"

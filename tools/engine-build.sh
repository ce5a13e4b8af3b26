#!/usr/bin/env bash
# Build the engines of tools/engines.versions from source with Go modules, and
# cache the binaries outside the repository, keyed by component and version.
#
#   tools/engine-build.sh [COMPONENT...]   build what is missing (default: all)
#   tools/engine-build.sh --list           the components, versions, cache state
#   tools/engine-build.sh --path COMPONENT print the cached bin directory (exit 3 if not built)
#   tools/engine-build.sh --help
#
# Components: containerd docker28 moby29 buildkit buildx.
# Cache: $LP_ENGINE_CACHE (default /var/cache/layerprof/engines)/<component>-<version>/bin,
# with build.log and a stamp file; a stamped directory is never rebuilt
# (LP_ENGINE_REBUILD=1 forces it). Scratch copies of the modules go to
# $LP_ENGINE_CACHE/.work and are removed after a successful build.
#
# How: `go mod download` fetches the module from GOPROXY; its directory is
# copied to scratch and built there (these modules carry `exclude`/`replace`
# directives, which `go install pkg@version` refuses). github.com/docker/docker
# (v28, +incompatible) keeps its dependencies in vendor.mod/vendor.sum: they
# become go.mod/go.sum and vendor/ is dropped. Binaries are static (CGO off,
# the build tags upstream's release scripts use), with the version ldflags
# upstream sets, and each is checked with its --version.
set -euo pipefail

prog=engine-build.sh
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=engines.versions
. "$here/engines.versions"
CACHE=${LP_ENGINE_CACHE:-/var/cache/layerprof/engines}
ALL=(containerd docker28 moby29 buildkit buildx)

die() { echo "$prog: $*" >&2; exit 1; }
say() { echo "$prog: $*" >&2; }

# component -> "module version"
module_of() {
	case "$1" in
	containerd) echo "$CONTAINERD_MODULE $CONTAINERD_VERSION" ;;
	docker28) echo "$DOCKER28_MODULE $DOCKER28_VERSION" ;;
	moby29) echo "$MOBY29_MODULE $MOBY29_VERSION" ;;
	buildkit) echo "$BUILDKIT_MODULE $BUILDKIT_VERSION" ;;
	buildx) echo "$BUILDX_MODULE $BUILDX_VERSION" ;;
	*) return 1 ;;
	esac
}

dir_of() {
	local m v
	read -r m v <<<"$(module_of "$1")"
	echo "$CACHE/$1-${v//+/_}"
}

built() { [ -f "$(dir_of "$1")/stamp" ]; }

# The binaries each component must produce.
bins_of() {
	case "$1" in
	containerd) echo "containerd containerd-shim-runc-v2 ctr" ;;
	docker28 | moby29) echo "dockerd" ;;
	buildkit) echo "buildkitd buildctl" ;;
	buildx) echo "docker-buildx" ;;
	esac
}

# Check a built binary by its own version output; prints that line.
verify() {
	local c=$1 bin=$2 out want
	case "$c" in
	containerd) want=${CONTAINERD_VERSION} ;;
	docker28) want=$DOCKER28_RELEASE ;;
	moby29) want=$MOBY29_RELEASE ;;
	buildkit) want=$BUILDKIT_VERSION ;;
	buildx) want=$BUILDX_VERSION ;;
	esac
	case "$(basename "$bin")" in
	containerd-shim-runc-v2) out=$("$bin" -v 2>&1 | tr '\n' ' ') ;;
	ctr) out=$("$bin" --version 2>&1) ;;
	docker-buildx) out=$("$bin" version 2>&1) ;;
	*) out=$("$bin" --version 2>&1) ;;
	esac
	case "$out" in
	*"$want"*) echo "$out" ;;
	*) say "$bin: version output '$out' does not name $want"; return 1 ;;
	esac
}

build_one() {
	local c=$1 m v dest work src t0 ld tags pkgs p b secs
	read -r m v <<<"$(module_of "$c")"
	dest=$(dir_of "$c")
	if built "$c" && [ "${LP_ENGINE_REBUILD:-0}" != 1 ]; then
		say "$c $v: cached in $dest"
		return 0
	fi
	t0=$SECONDS
	say "building $c ($m@$v) into $dest"
	mkdir -p "$CACHE/.work" "$dest"
	rm -rf "${dest:?}/bin" "${dest:?}/stamp"
	: >"$dest/build.log"
	src=$(cd "$CACHE/.work" && go mod download -json "$m@$v" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -d "$src" ] || die "go mod download $m@$v gave no directory (see go env GOPROXY)"
	work=$CACHE/.work/$c-${v//+/_}
	rm -rf "$work"
	cp -a "$src" "$work"
	chmod -R u+w "$work"
	# Module zips hold only vendor/modules.txt; build in module mode.
	rm -rf "$work/vendor"
	if [ -f "$work/vendor.mod" ]; then
		mv "$work/vendor.mod" "$work/go.mod"
		mv "$work/vendor.sum" "$work/go.sum"
	fi
	tags="netgo osusergo static_build"
	case "$c" in
	containerd)
		ld="-X $m/version.Version=$v -X $m/version.Revision=$v -X $m/version.Package=github.com/containerd/containerd"
		tags="$tags no_btrfs"
		pkgs="containerd:./cmd/containerd containerd-shim-runc-v2:./cmd/containerd-shim-runc-v2 ctr:./cmd/ctr"
		;;
	docker28)
		ld="-X $m/dockerversion.Version=$DOCKER28_RELEASE -X $m/dockerversion.GitCommit=$v -X $m/dockerversion.PlatformName=layerprof-engine-build"
		tags="$tags exclude_graphdriver_btrfs"
		pkgs="dockerd:./cmd/dockerd"
		;;
	moby29)
		ld="-X $m/dockerversion.Version=$MOBY29_RELEASE -X $m/dockerversion.GitCommit=${MOBY29_COMMIT:0:7} -X $m/dockerversion.PlatformName=layerprof-engine-build"
		tags="$tags exclude_graphdriver_btrfs"
		pkgs="dockerd:./cmd/dockerd"
		;;
	buildkit)
		ld="-X $m/version.Version=$v -X $m/version.Revision=$v -X $m/version.Package=$m"
		tags="$tags seccomp"
		pkgs="buildkitd:./cmd/buildkitd buildctl:./cmd/buildctl"
		;;
	buildx)
		ld="-X $m/version.Version=$v -X $m/version.Revision=$v -X $m/version.Package=$m"
		pkgs="docker-buildx:./cmd/buildx"
		;;
	esac
	mkdir -p "$dest/bin"
	for p in $pkgs; do
		b=${p%%:*}
		say "  go build $m@$v ${p#*:} -> bin/$b"
		if ! (cd "$work" && echo "+ go build -trimpath -tags '$tags' -ldflags '-s -w $ld' ${p#*:}" &&
			CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod nice -n 5 \
				go build -trimpath -tags "$tags" -ldflags "-s -w $ld" -o "$dest/bin/$b" "${p#*:}") \
			>>"$dest/build.log" 2>&1; then
			tail -n 30 "$dest/build.log" >&2
			die "building $c failed after $((SECONDS - t0)) s; full log: $dest/build.log"
		fi
	done
	for b in $(bins_of "$c"); do
		verify "$c" "$dest/bin/$b" | sed "s|^|$prog:   $b: |" >&2 || die "$c: $b does not report version $v"
	done
	secs=$((SECONDS - t0))
	{
		echo "module=$m"
		echo "version=$v"
		echo "built=$(date -u +%FT%TZ)"
		echo "seconds=$secs"
		echo "go=$(go env GOVERSION)"
	} >"$dest/stamp"
	rm -rf "$work"
	say "built $c $v in ${secs} s ($(du -sh "$dest/bin" | cut -f1) of binaries)"
}

case "${1:-}" in
-h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
--list)
	for c in "${ALL[@]}"; do
		read -r m v <<<"$(module_of "$c")"
		if built "$c"; then
			printf '%-11s %-40s built in %s s, %s\n' "$c" "$m@$v" "$(sed -n 's/^seconds=//p' "$(dir_of "$c")/stamp")" "$(dir_of "$c")/bin"
		else
			printf '%-11s %-40s not built\n' "$c" "$m@$v"
		fi
	done
	exit 0
	;;
--path)
	[ $# = 2 ] && module_of "$2" >/dev/null || { say "usage: $prog --path COMPONENT"; exit 2; }
	built "$2" || exit 3
	echo "$(dir_of "$2")/bin"
	exit 0
	;;
-*) say "unknown option $1"; exit 2 ;;
esac

command -v go >/dev/null || die "no go toolchain (Go >= 1.23 with GOPROXY set)"
want=("$@")
((${#want[@]})) || want=("${ALL[@]}")
for c in "${want[@]}"; do module_of "$c" >/dev/null || { say "unknown component '$c' (${ALL[*]})"; exit 2; }; done
T0=$SECONDS
for c in "${want[@]}"; do build_one "$c"; done
say "done in $((SECONDS - T0)) s; cache $CACHE: $(du -sh --exclude=.work "$CACHE" | cut -f1)"

#!/bin/sh
# Subproject test: lfpool used from another CMake project's source tree,
#   1. add_subdirectory(<lfpool checkout>)
#   2. FetchContent from a tarball of the checkout (URL file://..., no
#      network)
# with only Concurrency Kit visible to pkg-config (so no Criterion, no
# database libraries: as a subproject lfpool must not need them, nor build
# its tests, stress programs or examples). The consumer's programs (shared,
# static, C++) must print OK.
#
# usage: test_subproject.sh SRC_DIR CONSUMER_DIR [CMAKE] [CC] [CXX] [PKG_CONFIG]
set -eu

src=${1:?source dir}
consumer=${2:?consumer dir}
cmake=${3:-cmake}
cc=${4:-cc}
cxx=${5:-c++}
pkgconfig=${6:-pkg-config}

work=$(mktemp -d "${TMPDIR:-/tmp}/lfpool-subproject-test.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
log=$work/log

name=test_subproject
. "$(dirname "$0")/script_util.sh"

# pkg-config sees ck.pc and nothing else.
ckpc=$("$pkgconfig" --variable=pcfiledir ck)/ck.pc ||
	fail "ck.pc not found"
mkdir "$work/pkgconfig"
cp "$ckpc" "$work/pkgconfig/"
PKG_CONFIG_LIBDIR=$work/pkgconfig
PKG_CONFIG_PATH=
export PKG_CONFIG_LIBDIR PKG_CONFIG_PATH
if "$pkgconfig" --exists criterion; then
	fail "could not hide Criterion from pkg-config"
fi

# The checkout as a tarball: the files git would have (tracked and new),
# or the whole tree but build directories if this is not a git checkout.
mkdir "$work/tree"
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$src" && git ls-files -co --exclude-standard -z |
		tar --null -T - --ignore-failed-read -cf - 2>/dev/null) |
		tar -C "$work/tree" -xf -
else
	tar -C "$src" --exclude='./build*' -cf - . | tar -C "$work/tree" -xf -
fi
[ -f "$work/tree/CMakeLists.txt" ] || fail "could not copy $src"
tar -C "$work" -czf "$work/lfpool-src.tar.gz" tree

check_build() {
	# $1: mode, $2: build dir
	mode=$1
	dir=$2
	echo "test_subproject: $mode: configure + build"
	run_quiet "$cmake" -S "$consumer" -B "$dir" -DCMAKE_BUILD_TYPE=Release \
		-DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" \
		-DLFPOOL_CONSUMER_MODE="$mode" -DLFPOOL_SOURCE_DIR="$src" \
		-DLFPOOL_FETCH_URL="file://$work/lfpool-src.tar.gz" \
		-DLFPOOL_CONSUMER_CXX=ON -DCMAKE_POLICY_DEFAULT_CMP0135=NEW
	run_quiet "$cmake" --build "$dir" --parallel 2
	# lfpool's own tests/stress/examples are off in a subproject.
	for t in test_config stress_ownership sqlite_pool test_cpp_static; do
		if [ -n "$(find "$dir" -name $t -type f)" ]; then
			fail "$mode: lfpool built $t as a subproject"
		fi
	done
	if grep -q '^LFPOOL_BUILD_TESTS:BOOL=ON' "$dir/CMakeCache.txt"; then
		fail "$mode: LFPOOL_BUILD_TESTS is ON in a subproject"
	fi
	check_ok "$mode (lfpool::lfpool)" "$dir/app_shared"
	check_ok "$mode (lfpool::lfpool_static)" "$dir/app_static"
	check_ok "$mode (lfpool.hpp)" "$dir/app_cpp"
}

check_build subdirectory "$work/sub"
check_build fetchcontent "$work/fetch"
echo "test_subproject: all consumers OK"

#!/bin/sh
# Install test: build and install lfpool into a temporary prefix, check that
# the installed package names no path of this machine, move the prefix
# elsewhere (the package must be relocatable), then build and run small
# consumers against the moved copy:
#   1. a CMake project: find_package(lfpool) with lfpool::lfpool (shared),
#      lfpool::lfpool_static and lfpool.hpp (C++17)
#   2. `pkg-config --cflags --libs lfpool` (shared)
#   3. `pkg-config --static --cflags --libs lfpool` with -static
# Each consumer must print "OK".
#
# usage: test_install.sh SRC_DIR CONSUMER_DIR [CMAKE] [CC] [PKG_CONFIG] [CXX]
set -eu

src=${1:?source dir}
consumer=${2:?consumer dir}
cmake=${3:-cmake}
cc=${4:-cc}
pkgconfig=${5:-pkg-config}
cxx=${6:-c++}

work=$(mktemp -d "${TMPDIR:-/tmp}/lfpool-install-test.XXXXXX")
cleanup() { rm -rf "$work"; }
trap cleanup EXIT INT TERM

stage=$work/stage # where it is installed
prefix=$work/moved/prefix # where it is used
log=$work/log
# A two-level libdir, Debian's lib/<triplet> (which find_package searches),
# tests the depth of the pkg-config prefix.
triplet=$("$cc" -print-multiarch 2>/dev/null || true)
libdir_rel=lib${triplet:+/$triplet}

name=test_install
. "$(dirname "$0")/script_util.sh"

echo "test_install: building and installing $src into $stage"
run_quiet "$cmake" -S "$src" -B "$work/build" \
	-DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Release \
	-DLFPOOL_BUILD_TESTS=OFF -DLFPOOL_BUILD_STRESS=OFF \
	-DLFPOOL_BUILD_BENCH=OFF -DLFPOOL_BUILD_EXAMPLES=OFF \
	-DCMAKE_INSTALL_LIBDIR="$libdir_rel" -DCMAKE_INSTALL_PREFIX=/usr/local
run_quiet "$cmake" --build "$work/build" --parallel 2
run_quiet "$cmake" --install "$work/build" --prefix "$stage"

for f in include/lfpool.h include/lfpool.hpp $libdir_rel/liblfpool.a \
	$libdir_rel/liblfpool.so $libdir_rel/pkgconfig/lfpool.pc \
	$libdir_rel/cmake/lfpool/lfpoolConfig.cmake; do
	[ -e "$stage/$f" ] || fail "$f not installed"
done

# No absolute path of this machine in the CMake package or the .pc file.
for f in "$stage/$libdir_rel"/cmake/lfpool/*.cmake \
	"$stage/$libdir_rel/pkgconfig/lfpool.pc"; do
	for path in /usr/lib /usr/local "$work" "$src"; do
		if grep -n "$path" "$f" >"$log"; then
			cat "$log" >&2
			fail "$(basename "$f") contains the path $path"
		fi
	done
done
echo "test_install: no absolute paths in the installed package"

# Relocate: everything below must work from the new place only.
mkdir -p "$(dirname "$prefix")"
mv "$stage" "$prefix"
libdir=$prefix/$libdir_rel
echo "test_install: moved the prefix to $prefix"

# 1: CMake consumer (shared, static, C++).
run_quiet "$cmake" -S "$consumer" -B "$work/consumer" \
	-DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" \
	-DCMAKE_PREFIX_PATH="$prefix" -DLFPOOL_CONSUMER_MODE=package \
	-DLFPOOL_CONSUMER_CXX=ON
run_quiet "$cmake" --build "$work/consumer"
# The static consumer must run without the shared library in sight.
if command -v ldd >/dev/null 2>&1 &&
	ldd "$work/consumer/app_static" | grep -q liblfpool; then
	fail "static consumer depends on liblfpool.so"
fi
check_ok "cmake consumer (lfpool::lfpool_static)" "$work/consumer/app_static"
check_ok "cmake consumer (lfpool::lfpool)" \
	env LD_LIBRARY_PATH="$libdir" "$work/consumer/app_shared"
check_ok "cmake consumer (lfpool.hpp)" \
	env LD_LIBRARY_PATH="$libdir" "$work/consumer/app_cpp"

# 2: pkg-config consumer; the flags must point into the moved prefix.
PKG_CONFIG_PATH=$libdir/pkgconfig
export PKG_CONFIG_PATH
cflags=$("$pkgconfig" --cflags lfpool) || fail "pkg-config --cflags lfpool"
incdir=$(echo "$cflags" | sed -n 's/^ *-I\([^ ]*\).*/\1/p')
if [ -z "$incdir" ] ||
	[ "$(cd "$incdir" && pwd -P)" != "$(cd "$prefix/include" && pwd -P)" ]; then
	fail "pkg-config --cflags gives '$cflags', not -I$prefix/include"
fi
flags=$("$pkgconfig" --cflags --libs lfpool) ||
	fail "pkg-config --cflags --libs lfpool failed"
echo "test_install: pkg-config flags: $flags"
# shellcheck disable=SC2086 # word splitting of $flags is intended
run_quiet "$cc" -std=c11 -o "$work/app-pc" "$consumer/main.c" $flags
check_ok "pkg-config consumer" env LD_LIBRARY_PATH="$libdir" "$work/app-pc"

# 3: fully static through pkg-config --static (Requires.private: ck).
sflags=$("$pkgconfig" --static --cflags --libs lfpool) ||
	fail "pkg-config --static --cflags --libs lfpool failed"
echo "test_install: pkg-config --static flags: $sflags"
# shellcheck disable=SC2086
run_quiet "$cc" -std=c11 -static -o "$work/app-pc-static" \
	"$consumer/main.c" $sflags
check_ok "pkg-config --static consumer" "$work/app-pc-static"

echo "test_install: all consumers OK"

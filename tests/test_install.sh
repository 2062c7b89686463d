#!/bin/sh
# Install test: build and install lfpool into a temporary prefix, then build
# and run small consumers against the installed copy:
#   1. a CMake project: find_package(lfpool) + lfpool::lfpool (shared)
#   2. the same project linking lfpool::lfpool_static
#   3. a plain compiler line from `pkg-config --cflags --libs lfpool`
# Each consumer must print "OK".
#
# usage: test_install.sh SRC_DIR CONSUMER_DIR [CMAKE] [CC] [PKG_CONFIG]
set -eu

src=${1:?source dir}
consumer=${2:?consumer dir}
cmake=${3:-cmake}
cc=${4:-cc}
pkgconfig=${5:-pkg-config}

work=$(mktemp -d "${TMPDIR:-/tmp}/lfpool-install-test.XXXXXX")
cleanup() { rm -rf "$work"; }
trap cleanup EXIT INT TERM

prefix=$work/prefix
log=$work/log

fail() {
	echo "test_install: FAIL: $*" >&2
	exit 1
}

run_quiet() {
	# Run a command, showing its output only if it fails.
	if ! "$@" >"$log" 2>&1; then
		cat "$log" >&2
		fail "command failed: $*"
	fi
}

check_ok() {
	# $1: a description; the rest: the command to run.
	what=$1
	shift
	out=$("$@" 2>&1) || fail "$what exited with $?: $out"
	case $out in
	OK*) echo "test_install: $what: $out" ;;
	*) fail "$what printed '$out', not OK" ;;
	esac
}

echo "test_install: building and installing $src into $prefix"
run_quiet "$cmake" -S "$src" -B "$work/build" \
	-DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Release \
	-DLFPOOL_BUILD_TESTS=OFF -DLFPOOL_BUILD_STRESS=OFF \
	-DLFPOOL_BUILD_BENCH=OFF -DCMAKE_INSTALL_PREFIX="$prefix"
run_quiet "$cmake" --build "$work/build" --parallel 2
run_quiet "$cmake" --install "$work/build" --prefix "$prefix"

[ -f "$prefix/include/lfpool.h" ] || fail "lfpool.h not installed"
shared=$(find "$prefix" -name 'liblfpool.so*' | head -n 1)
static=$(find "$prefix" -name 'liblfpool.a' | head -n 1)
pcfile=$(find "$prefix" -name 'lfpool.pc' | head -n 1)
config=$(find "$prefix" -name 'lfpoolConfig.cmake' | head -n 1)
[ -n "$shared" ] || fail "liblfpool.so not installed"
[ -n "$static" ] || fail "liblfpool.a not installed"
[ -n "$pcfile" ] || fail "lfpool.pc not installed"
[ -n "$config" ] || fail "lfpoolConfig.cmake not installed"
libdir=$(dirname "$shared")

# The shared library exports the API and nothing of the internals.
if command -v nm >/dev/null 2>&1; then
	nm -D --defined-only "$shared" | grep -q ' lfp_create$' ||
		fail "lfp_create not exported from $shared"
fi

# 1 + 2: CMake consumers.
for kind in shared static; do
	if [ $kind = static ]; then flag=ON; else flag=OFF; fi
	run_quiet "$cmake" -S "$consumer" -B "$work/consumer-$kind" \
		-DCMAKE_C_COMPILER="$cc" -DCMAKE_PREFIX_PATH="$prefix" \
		-DLFPOOL_CONSUMER_STATIC=$flag
	run_quiet "$cmake" --build "$work/consumer-$kind"
	app=$work/consumer-$kind/app
	[ -x "$app" ] || fail "consumer ($kind) not built"
	if [ $kind = static ]; then
		# Must run without the shared library anywhere in sight.
		if command -v ldd >/dev/null 2>&1 &&
			ldd "$app" | grep -q liblfpool; then
			fail "static consumer depends on liblfpool.so"
		fi
		check_ok "cmake consumer (lfpool::lfpool_static)" "$app"
	else
		check_ok "cmake consumer (lfpool::lfpool)" \
			env LD_LIBRARY_PATH="$libdir" "$app"
	fi
done

# 3: pkg-config consumer.
PKG_CONFIG_PATH=$(dirname "$pcfile")
export PKG_CONFIG_PATH
flags=$("$pkgconfig" --cflags --libs lfpool) ||
	fail "pkg-config --cflags --libs lfpool failed"
echo "test_install: pkg-config flags: $flags"
# shellcheck disable=SC2086 # word splitting of $flags is intended
run_quiet "$cc" -std=c11 -o "$work/app-pc" "$consumer/main.c" $flags
check_ok "pkg-config consumer" env LD_LIBRARY_PATH="$libdir" "$work/app-pc"

echo "test_install: all consumers OK"

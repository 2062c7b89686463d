#!/usr/bin/env bash
# Builds lfpool_bench alone (Release; tests, stress programs and examples
# off) from a source tree into a build directory, with extra C flags; the
# log goes to DIR/build.log. Used by the A/B scripts (oversub_ab.sh,
# handoff_compare.sh), which build one variant each.
#
#   scripts/build_bench_variant.sh SRC DIR [CFLAGS]   # -> DIR/bench/lfpool_bench
set -euo pipefail
[ $# -ge 2 ] && [ $# -le 3 ] || { echo "usage: $0 SRC DIR [CFLAGS]" >&2; exit 2; }
src="$1" dir="$2" cflags="${3:-}"
mkdir -p "$dir"
cmake -S "$src" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DLFPOOL_BUILD_BENCH=ON \
	-DLFPOOL_BUILD_TESTS=OFF -DLFPOOL_BUILD_STRESS=OFF -DLFPOOL_BUILD_EXAMPLES=OFF \
	-DCMAKE_C_FLAGS="$cflags" >"$dir/build.log" 2>&1 &&
	cmake --build "$dir" --target lfpool_bench -j "$(nproc)" >>"$dir/build.log" 2>&1 ||
	{ echo "build failed: $dir/build.log" >&2; exit 2; }

#!/usr/bin/env bash
# Build lfpool and run all of its tests: Criterion unit tests, the
# install-and-link test, and short runs of the stress scenarios (ctest).
# On a fresh Debian 12 machine (root) it installs its own dependencies.
#
#   scripts/test.sh                      # normal build, in build/
#   scripts/test.sh --sanitize address   # ASan+UBSan build, in build-address/
#   scripts/test.sh --sanitize thread    # TSan build, in build-thread/
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize=""
while [ $# -gt 0 ]; do
	case "$1" in
	--sanitize) sanitize="$2"; shift 2 ;;
	*) echo "usage: $0 [--sanitize address|thread]" >&2; exit 2 ;;
	esac
done

bash scripts/deps.sh test stress
dir=build${sanitize:+-$sanitize}
# Criterion 2.4.1 aborts at start-up under ThreadSanitizer ("Could not
# initialize inheritable arena", upstream Snaipe/Criterion#274): the TSan
# build runs the stress scenarios (which cover the threaded paths) instead.
unit=ON
[ "$sanitize" = thread ] && unit=OFF
cmake -S . -B "$dir" -DLFPOOL_WERROR=ON -DLFPOOL_SANITIZE="$sanitize" \
	-DLFPOOL_BUILD_TESTS=$unit -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$dir" -j"$(nproc)"
# Test programs use many threads; keep two at a time on small machines.
ctest --test-dir "$dir" --output-on-failure -j2

#!/bin/sh
# Symbol test: liblfpool.a and liblfpool.so must define, as global symbols,
# exactly the functions lfpool.h declares LFP_API, nothing of the internals
# (lfp_notify, lfp_registry_lock, ...): `nm -g --defined-only` of each
# library is compared with the names taken from the header.
#
# usage: check_symbols.sh NM HEADER LIBRARY...
set -eu

nm=${1:?nm}
header=${2:?header}
shift 2

work=$(mktemp -d "${TMPDIR:-/tmp}/lfpool-symbols.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

# The public API: every lfp_* name declared on an LFP_API line.
grep '^LFP_API' "$header" | grep -o 'lfp_[a-z_]*(' | tr -d '(' |
	sort -u >"$work/api"
[ -s "$work/api" ] || { echo "check_symbols: no LFP_API in $header" >&2; exit 1; }
echo "check_symbols: $(wc -l <"$work/api") functions declared LFP_API"

status=0
for lib in "$@"; do
	case $lib in
	*.so*) dyn=-D ;; # what the dynamic linker can bind
	*) dyn= ;;
	esac
	# Sanitizer runtimes add their own globals (ODR indicators, module
	# constructors): they are not the library's.
	"$nm" -g $dyn --defined-only "$lib" | awk 'NF == 3 { print $3 }' |
		grep -v -e '^__odr_asan' -e '^__asan' -e '^__ubsan' \
			-e '^__tsan' -e '^__sanitizer' -e '^___asan' |
		sort -u >"$work/defined"
	extra=$(comm -23 "$work/defined" "$work/api" | tr '\n' ' ')
	missing=$(comm -13 "$work/defined" "$work/api" | tr '\n' ' ')
	if [ -n "$extra" ]; then
		echo "check_symbols: FAIL: $lib defines non-API globals:" "$extra" >&2
		status=1
	fi
	if [ -n "$missing" ]; then
		echo "check_symbols: FAIL: $lib lacks API functions:" "$missing" >&2
		status=1
	fi
	[ -n "$extra$missing" ] ||
		echo "check_symbols: $lib: $(wc -l <"$work/defined") globals, all API"
done
exit $status

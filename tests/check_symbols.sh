#!/bin/sh
# Symbol test: liblfpool.a and liblfpool.so must define, as global symbols,
# exactly what the public headers declare LFP_API, nothing of the internals
# (lfp_notify, lfp_registry_lock, ...): `nm -g --defined-only` of each
# library is compared with the names taken from the headers (on an LFP_API
# line, the first lfp_* name followed by "(", else the last lfp_* name).
#
# usage: check_symbols.sh NM INCLUDE_DIR LIBRARY...
set -eu

nm=${1:?nm}
inc=${2:?include dir}
shift 2

work=$(mktemp -d "${TMPDIR:-/tmp}/lfpool-symbols.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

# The public API: the name declared on each LFP_API line.
cat "$inc"/*.h | grep '^LFP_API' | while IFS= read -r line; do
	name=$(printf '%s\n' "$line" | grep -o 'lfp_[a-z0-9_]*[[:space:]]*(' |
		head -n 1 | tr -d '( \t')
	[ -n "$name" ] ||
		name=$(printf '%s\n' "$line" | grep -o 'lfp_[a-z0-9_]*' | tail -n 1)
	echo "$name"
done | sort -u >"$work/api"
[ -s "$work/api" ] || { echo "check_symbols: no LFP_API in $inc" >&2; exit 1; }
echo "check_symbols: $(wc -l <"$work/api") names declared LFP_API in $inc"

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

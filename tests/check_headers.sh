#!/bin/sh
# shellcheck disable=SC2086 # $warn is a list of flags, split on purpose
# Header test: every public header compiles on its own, warning-free, as
# strict C11 and as strict C++17 (lfpool.hpp: C++17 only), and
# LFP_CONFIG_INIT is a valid initialiser in both languages. A header that
# another public header includes (a part of it, not meant to be included
# alone) is checked through that one.
#
# usage: check_headers.sh INCLUDE_DIR CC CXX
set -eu

inc=${1:?include dir}
cc=${2:?C compiler}
cxx=${3:?C++ compiler}

work=$(mktemp -d "${TMPDIR:-/tmp}/lfpool-headers.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
warn="-Wall -Wextra -Werror -Wshadow -Wconversion -Wsign-conversion -Wundef"
status=0

compile() {
	# $1: what; $2: file; the rest: the compiler line.
	what=$1
	src=$2
	shift 2
	if "$@" -fsyntax-only "$src" >"$work/log" 2>&1; then
		echo "check_headers: $what: OK"
	else
		echo "check_headers: FAIL: $what" >&2
		cat "$work/log" >&2
		status=1
	fi
}

check_all() {
	cc=$1
	cxx=$2
	echo "check_headers: with $cc and $cxx"
	for h in "$inc"/*.h "$inc"/*.hpp; do
		name=$(basename "$h")
		parent=$(grep -l "^#include [<\"]${name}[>\"]" "$inc"/*.h "$inc"/*.hpp |
			head -n 1)
		if [ -n "$parent" ] && [ "$name" != lfpool.h ]; then
			echo "check_headers: $name: part of $(basename "$parent")"
			continue
		fi
		case $name in
		*.hpp) langs=cxx ;;
		*) langs="c cxx" ;;
		esac
		{
			echo "#include <$name>"
			echo "#include <$name> /* include guard */"
			case $name in
			lfpool.hpp)
				# Instantiate the templates, so their bodies are checked.
				echo "template class lfpool::pool<int>;"
				echo "template class lfpool::lease<int>;"
				echo "template class lfpool::result<int>;"
				echo "int lfpool_header_check();"
				echo "int lfpool_header_check()"
				echo "{ lfpool::pool<int> p;"
				echo "  auto r = p.acquire(std::chrono::milliseconds(1));"
				echo "  return r.has_value() ? 1 : 0; }"
				;;
			lfpool.h)
				echo "int lfpool_header_check(void);"
				echo "int lfpool_header_check(void)"
				echo "{ lfp_config cfg = LFP_CONFIG_INIT;"
				echo "  return (int)cfg.cache_size + (int)sizeof(lfp_stats); }"
				;;
			esac
		} >"$work/tu.in"
		for lang in $langs; do
			if [ "$lang" = c ]; then
				cp "$work/tu.in" "$work/tu.c"
				compile "$name as C11" "$work/tu.c" "$cc" -std=c11 \
					-pedantic-errors $warn -Wstrict-prototypes \
					-Wmissing-prototypes -I"$inc"
			else
				cp "$work/tu.in" "$work/tu.cpp"
				compile "$name as C++17" "$work/tu.cpp" "$cxx" -std=c++17 \
					-pedantic-errors $warn -I"$inc"
				compile "$name as C++17 without exceptions" "$work/tu.cpp" \
					"$cxx" -std=c++17 -pedantic-errors -fno-exceptions \
					-fno-rtti $warn -I"$inc"
			fi
		done
	done
}

check_all "$cc" "$cxx"
# Clang too, where it is installed (CI has it).
if command -v clang >/dev/null 2>&1 && command -v clang++ >/dev/null 2>&1; then
	case $cc in *clang*) ;; *) check_all clang clang++ ;; esac
fi
exit $status

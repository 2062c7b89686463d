#!/usr/bin/env bash
# Connection-pool rows of several lfpool revisions, interleaved in one run:
# builds lfpool_bench at each REV (a git worktree per revision under
# build-ab/, Release, bench only) and runs scripts/oversub_compare.py over
# them, with the condvar pool and the no-pool ceiling from the last REV.
#
#   scripts/oversub_ab.sh [--reps N] [--workload oversub8|oversub64]
#                         [--cflags FLAGS] REV...
#
# --cflags: C flags for every build, e.g. -DLFP_HANDOFF_NS=10000000u.
#
# results/ab/ keeps the output of the runs that docs/design.md quotes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPS=7
WL=oversub8
CFLAGS_AB=""
while [ $# -gt 0 ]; do
	case "$1" in
	--reps) REPS="$2"; shift 2 ;;
	--workload) WL="$2"; shift 2 ;;
	--cflags) CFLAGS_AB="$2"; shift 2 ;;
	-h | --help) sed -n '2,12p' "$0"; exit 0 ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || { echo "usage: $0 [--reps N] [--workload W] REV..." >&2; exit 2; }
specs=()
bin=""
for rev in "$@"; do
	sha="$(git -C "$ROOT" rev-parse --short "$rev^{commit}")"
	src="$ROOT/build-ab/src-$sha"
	dir="$ROOT/build-ab/build-$sha"
	[ -z "$CFLAGS_AB" ] || dir="$dir-$(printf '%s' "$CFLAGS_AB" | cksum | cut -d' ' -f1)"
	if [ ! -d "$src" ]; then
		git -C "$ROOT" worktree add --detach "$src" "$sha" >/dev/null 2>&1 ||
			{ echo "git worktree add failed for $rev" >&2; exit 2; }
	fi
	"$ROOT/scripts/build_bench_variant.sh" "$src" "$dir" "$CFLAGS_AB"
	bin="$dir/bench/lfpool_bench"
	specs+=("$sha=$bin:lfpool")
done
echo "revisions: $*${CFLAGS_AB:+ (C flags: $CFLAGS_AB)}"
exec python3 "$ROOT/scripts/oversub_compare.py" --reps "$REPS" --workload "$WL" \
	"condvar=$bin:condvar" "${specs[@]}" "ceiling=$bin:tls_array"

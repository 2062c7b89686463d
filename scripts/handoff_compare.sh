#!/usr/bin/env bash
# Builds lfpool_bench once per hand-off threshold (LFP_HANDOFF_NS, lib/src/
# wait.h) and compares their connection-pool rows, interleaved, with the
# condvar pool and the no-pool ceiling (scripts/oversub_compare.py).
#
#   scripts/handoff_compare.sh [--reps N] [--threads L] [--workload W] [NS ...]
#
# NS defaults to 1000000 2000000 5000000 10000000 (1, 2, 5 and 10 ms).
# Builds go to build-handoff-<NS>/ (Release, bench only). docs/design.md
# ("Waiting") quotes a run of it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPS=5
THREADS=""
WL=oversub8
while [ $# -gt 0 ]; do
	case "$1" in
	--reps) REPS="$2"; shift 2 ;;
	--threads) THREADS="$2"; shift 2 ;;
	--workload) WL="$2"; shift 2 ;;
	-h | --help) sed -n '2,11p' "$0"; exit 0 ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || set -- 1000000 2000000 5000000 10000000
specs=()
for ns in "$@"; do
	case "$ns" in '' | *[!0-9]*) echo "bad NS '$ns'" >&2; exit 2 ;; esac
	dir="$ROOT/build-handoff-$ns"
	"$ROOT/scripts/build_bench_variant.sh" "$ROOT" "$dir" "-DLFP_HANDOFF_NS=${ns}u"
	specs+=("h$((ns / 1000))us=$dir/bench/lfpool_bench:lfpool")
done
bin="$dir/bench/lfpool_bench"
exec python3 "$ROOT/scripts/oversub_compare.py" --reps "$REPS" --workload "$WL" \
	${THREADS:+--threads "$THREADS"} \
	"condvar=$bin:condvar" "${specs[@]}" "ceiling=$bin:tls_array"

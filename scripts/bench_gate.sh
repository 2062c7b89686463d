#!/usr/bin/env bash
# Performance regression gate for lfpool. Two checks:
#
#  1. Instruction count (deterministic): bench/icount.c does N and 2N
#     cache-hit lfp_acquire+lfp_release pairs under valgrind --tool=callgrind;
#     the difference / N is the cost of one pair. Fails when it exceeds
#     budget_per_pair in bench/icount_budget.txt.
#  2. Timing smoke (seconds): lfpool_bench on one thread, 5 repetitions,
#     compared with results/baseline/bench_smoke.json by
#     scripts/compare_bench.py, each lfpool row normalised by the mutex pool
#     of the same run so that the machine's speed cancels out.
#
#   scripts/bench_gate.sh                     # both checks; exit 1 on regression
#   scripts/bench_gate.sh --update-baseline   # re-measure, rewrite baseline + budget
#   LFPOOL_GATE_INJECT_SLOWDOWN=1 scripts/bench_gate.sh   # must FAIL: proves the gate
#
# Environment: LFPOOL_GATE_THREADS (default 1), LFPOOL_GATE_MIN_TIME (0.05),
# LFPOOL_GATE_REPS (5), LFPOOL_GATE_PAIRS (100000), LFPOOL_GATE_INJECT_ITERS (256).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NPROC="$(nproc 2>/dev/null || echo 1)"
INJECT="${LFPOOL_GATE_INJECT_SLOWDOWN:-0}"
THREADS="${LFPOOL_GATE_THREADS:-1}"
MIN_TIME="${LFPOOL_GATE_MIN_TIME:-0.05}"
REPS="${LFPOOL_GATE_REPS:-5}"
PAIRS="${LFPOOL_GATE_PAIRS:-100000}"
INJECT_ITERS="${LFPOOL_GATE_INJECT_ITERS:-256}"
FILTER='^(lfpool|lfpool_nocache|mutex)/(pair|burst16|work)/'
BASELINE="$ROOT/results/baseline/bench_smoke.json"
bash "$ROOT/scripts/deps.sh" bench
BUDGET="$ROOT/bench/icount_budget.txt"
UPDATE=0
DO_TIMING=1
DO_ICOUNT=1
BUILD_DIR=""
OUT=""

usage() {
	sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	cat <<EOF
options: --update-baseline  --skip-timing  --skip-icount  --build-dir DIR
         --out DIR (default BUILD_DIR/gate)  --baseline FILE  --budget FILE
EOF
}

while [ $# -gt 0 ]; do
	case "$1" in
	--update-baseline) UPDATE=1 ;;
	--skip-timing) DO_TIMING=0 ;;
	--skip-icount) DO_ICOUNT=0 ;;
	--build-dir) BUILD_DIR="$2"; shift ;;
	--out) OUT="$2"; shift ;;
	--baseline) BASELINE="$2"; shift ;;
	--budget) BUDGET="$2"; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "bench_gate.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done

log() { printf '[gate] %s\n' "$*"; }
die() { echo "bench_gate.sh: $*" >&2; exit 2; }

if [ "$INJECT" != 0 ]; then
	[ "$UPDATE" = 0 ] || die "refusing to write a baseline from an injected-slowdown build"
	: "${BUILD_DIR:=$ROOT/build-gate-inject}"
	SLOWDOWN="$INJECT_ITERS"
	ICOUNT_BIN=lfpool_icount_inject
	log "LFPOOL_GATE_INJECT_SLOWDOWN: bench wrapper delayed by $SLOWDOWN loop iterations" \
		"per acquire, icount probe built with extra work per pair (expect FAIL)"
else
	: "${BUILD_DIR:=$ROOT/build-gate}"
	SLOWDOWN=0
	ICOUNT_BIN=lfpool_icount
fi
: "${OUT:=$BUILD_DIR/gate}"
mkdir -p "$OUT"

# ---- build --------------------------------------------------------------------
log "building in $BUILD_DIR (Release)"
cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release \
	-DLFPOOL_BUILD_BENCH=ON -DLFPOOL_BUILD_TESTS=OFF -DLFPOOL_BUILD_STRESS=OFF \
	-DLFPOOL_BENCH_INJECT_SLOWDOWN="$SLOWDOWN" >"$OUT/configure.log" 2>&1 ||
	{ cat "$OUT/configure.log" >&2; die "cmake configure failed"; }
cmake --build "$BUILD_DIR" -j "$NPROC" --target lfpool_bench lfpool_icount lfpool_icount_inject \
	>"$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log" >&2; die "build failed"; }

STATUS=0
SUMMARY=()

# ---- 1. instruction count -----------------------------------------------------------
callgrind_total() { # PAIRS OUTFILE -> prints the Ir total
	valgrind --tool=callgrind --callgrind-out-file="$2" \
		"$BUILD_DIR/bench/$ICOUNT_BIN" "$1" >"$2.stdout" 2>"$2.stderr" ||
		{ cat "$2.stderr" >&2; die "valgrind run failed"; }
	grep -q " cache_hits=$1 " "$2.stdout" ||
		log "warning: cache hits != pairs: $(cat "$2.stdout")" >&2
	sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$2.stderr"
}

# Per-function instructions per pair (informational): difference of the two
# profiles' self costs.
breakdown() {
	command -v callgrind_annotate >/dev/null 2>&1 || return 0
	callgrind_annotate "$1" 2>/dev/null | sed -n 's/^ *\([0-9,]*\) ([^)]*) *[^:]*:\([^ ]*\).*/\2 \1/p' | tr -d , | sort >"$1.fn"
	callgrind_annotate "$2" 2>/dev/null | sed -n 's/^ *\([0-9,]*\) ([^)]*) *[^:]*:\([^ ]*\).*/\2 \1/p' | tr -d , | sort >"$2.fn"
	join "$1.fn" "$2.fn" | awk -v n="$PAIRS" '{ d = ($3 - $2) / n; if (d >= 0.5) printf "    %-28s %6.1f\n", $1, d }' | sort -k2 -nr
}

if [ "$DO_ICOUNT" = 1 ]; then
	command -v valgrind >/dev/null 2>&1 || die "valgrind not found (apt-get install valgrind)"
	log "instruction count: $ICOUNT_BIN, $PAIRS and $((2 * PAIRS)) pairs under callgrind"
	I1="$(callgrind_total "$PAIRS" "$OUT/cg.1")"
	I2="$(callgrind_total "$((2 * PAIRS))" "$OUT/cg.2")"
	if [ -z "$I1" ] || [ -z "$I2" ]; then die "could not read callgrind totals"; fi
	PER_PAIR="$(awk -v a="$I1" -v b="$I2" -v n="$PAIRS" 'BEGIN { printf "%.1f", (b - a) / n }')"
	log "instructions per acquire+release pair: $PER_PAIR (totals $I1 / $I2)"
	BREAKDOWN="$(breakdown "$OUT/cg.1" "$OUT/cg.2")"
	[ -z "$BREAKDOWN" ] || printf '  per pair, by function (self):\n%s\n' "$BREAKDOWN"
	if [ "$UPDATE" = 1 ]; then
		REV="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "no commit")"
		if [ -n "$(git -C "$ROOT" status --porcelain -- lib 2>/dev/null | sed -n 1p || true)" ]; then
			REV="$REV (lib/ had uncommitted changes)"
		fi
		NEW_BUDGET="$(awk -v p="$PER_PAIR" 'BEGIN { b = p * 1.10; printf "%d", (b == int(b)) ? b : int(b) + 1 }')"
		mkdir -p "$(dirname "$BUDGET")"
		cat >"$BUDGET" <<EOF
# Instruction budget for one cache-hit lfp_acquire + lfp_release pair,
# checked by scripts/bench_gate.sh (bench/icount.c under valgrind callgrind,
# N and 2N pairs, difference / N; includes the caller's loop and error checks).
# Written by 'scripts/bench_gate.sh --update-baseline' -- do not edit by hand
# unless you mean to move the budget: budget = measured + 10% headroom.
# measured on: $(uname -m), $(cc --version | sed -n 1p), $(date -u +%Y-%m-%d), lfpool $REV
# goal: <= 25 instructions per pair
measured_per_pair=$PER_PAIR
budget_per_pair=$NEW_BUDGET
goal_per_pair=25
EOF
		mkdir -p "$(dirname "$BASELINE")"
		printf 'measured_per_pair=%s\ncallgrind_totals=%s,%s pairs=%s,%s\nper pair by function (self):\n%s\n' \
			"$PER_PAIR" "$I1" "$I2" "$PAIRS" "$((2 * PAIRS))" "$BREAKDOWN" \
			>"$(dirname "$BASELINE")/icount.txt"
		log "wrote $BUDGET: budget_per_pair=$NEW_BUDGET"
		SUMMARY+=("icount: measured $PER_PAIR instructions/pair, budget set to $NEW_BUDGET")
	else
		[ -r "$BUDGET" ] || die "no budget file $BUDGET (run with --update-baseline)"
		LIMIT="$(sed -n 's/^budget_per_pair=\([0-9.]*\).*/\1/p' "$BUDGET")"
		GOAL="$(sed -n 's/^goal_per_pair=\([0-9.]*\).*/\1/p' "$BUDGET")"
		[ -n "$LIMIT" ] || die "no budget_per_pair= line in $BUDGET"
		if awk -v p="$PER_PAIR" -v l="$LIMIT" 'BEGIN { exit !(p > l) }'; then
			SUMMARY+=("icount: FAIL $PER_PAIR instructions/pair > budget $LIMIT")
			STATUS=1
		else
			SUMMARY+=("icount: PASS $PER_PAIR instructions/pair <= budget $LIMIT (goal ${GOAL:-?})")
		fi
	fi
fi

# ---- 2. timing smoke ------------------------------------------------------------------
if [ "$DO_TIMING" = 1 ]; then
	log "timing smoke: threads $THREADS, min time ${MIN_TIME}s, $REPS repetitions"
	"$BUILD_DIR/bench/lfpool_bench" --lfpool_threads="$THREADS" \
		--benchmark_filter="$FILTER" --benchmark_min_time="$MIN_TIME" \
		--benchmark_repetitions="$REPS" --benchmark_report_aggregates_only=false \
		--benchmark_display_aggregates_only=true --benchmark_enable_random_interleaving=true \
		--benchmark_out="$OUT/bench_smoke.json" --benchmark_out_format=json ||
		die "lfpool_bench failed"
	PY=python3
	command -v "$PY" >/dev/null 2>&1 || die "python3 not found"
	if [ "$UPDATE" = 1 ]; then
		mkdir -p "$(dirname "$BASELINE")"
		cp "$OUT/bench_smoke.json" "$BASELINE"
		log "wrote $BASELINE"
		SUMMARY+=("timing: baseline written to ${BASELINE#"$ROOT"/}")
	else
		[ -r "$BASELINE" ] || die "no baseline $BASELINE (run with --update-baseline)"
		if "$PY" "$ROOT/scripts/compare_bench.py" "$BASELINE" "$OUT/bench_smoke.json"; then
			SUMMARY+=("timing: PASS (vs ${BASELINE#"$ROOT"/})")
		else
			rc=$?
			[ "$rc" = 1 ] || die "compare_bench.py failed ($rc)"
			SUMMARY+=("timing: FAIL, see the table above")
			STATUS=1
		fi
	fi
fi

echo
for s in "${SUMMARY[@]}"; do log "$s"; done
if [ "$STATUS" = 0 ]; then log "gate PASSED"; else log "gate FAILED"; fi
exit "$STATUS"

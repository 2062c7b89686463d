#!/usr/bin/env bash
# Performance regression gate for lfpool; docs/regression-gate.md explains
# the checks, the exit codes and how to wire it into another CI.
# `scripts/bench_gate.sh --help` prints the usage below.
set -Eeuo pipefail

usage() {
	cat <<'EOF'
usage: scripts/bench_gate.sh [options]

Performance regression gate for lfpool. Builds build-gate/ (Release) and runs:

 1. Instruction counts (deterministic; these may fail CI): bench/icount.c under
    valgrind --tool=callgrind with N and 2N objects, (I(2N) - I(N)) / N:
      pair    one cache-hit lfp_acquire + lfp_release
      bulk16  one object of lfp_acquire_bulk(16) + lfp_release_bulk(16)
    each against its budget in bench/icount_budget.txt.
 2. Timing (seconds): lfpool_bench rows of lfpool and lfpool_nocache
    (pair, burst16, work on 1 thread; burst16 on 2 threads; oversub on 16
    threads), each divided by the mutex pool of the same run, compared with
    results/baseline/bench_smoke.json by scripts/compare_bench.py. A row that
    drops beyond its noise-based threshold is re-run (with its mutex row,
    interleaved) --rechecks more times; it fails only if the drop repeats
    beyond the noise measured over all runs, otherwise it is a warning.

options:
  --no-deps            never install packages; exit 2 naming any that are missing
  --timing-warn-only   a timing regression only warns: only the instruction
                       counts can fail (what .ci/run uses)
  --update-baseline    re-measure and rewrite bench/icount_budget.txt and all of
                       results/baseline/: the timing baseline (3 x the repetitions),
                       icount.txt and two proof logs, gate_check.log (the gate
                       with --timing-warn-only, must exit 0) and
                       gate_inject_slowdown.log (injected slowdown, must exit 1)
  --rechecks N         re-runs of a flagged timing row (default 2)
  --skip-timing        instruction counts only
  --skip-icount        timing only
  --build-dir DIR      (default build-gate, or build-gate-inject)
  --out DIR            working files (default BUILD_DIR/gate)
  --baseline FILE      (default results/baseline/bench_smoke.json)
  --budget FILE        (default bench/icount_budget.txt)
  -h, --help           this text (installs and builds nothing)

exit status: 0 pass (timing warnings possible), 1 a measured regression
(instruction budget exceeded, or a repeated timing regression), 2 anything else:
bad option, missing package, configure/build failure, valgrind failure, missing
baseline or budget, unreadable results.

packages (Debian/Ubuntu; installed when missing if run as root without
--no-deps, through scripts/deps.sh):
  cmake gcc g++ make pkg-config libck-dev libbenchmark-dev valgrind python3
  (valgrind only for the instruction counts, python3 only for timing)

environment: LFPOOL_GATE_INJECT_SLOWDOWN=1 builds build-gate-inject/ with a
deliberate slowdown in the bench wrapper and the icount probe: the gate must
exit 1. LFPOOL_GATE_MIN_TIME (0.05 s), LFPOOL_GATE_REPS (5),
LFPOOL_GATE_BASELINE_REPS (3 x REPS, for --update-baseline),
LFPOOL_GATE_PAIRS (100000, a multiple of 16), LFPOOL_GATE_INJECT_ITERS (256),
LFPOOL_GATE_RECHECKS (2), LFPOOL_GATE_FILTER (the timing rows' regex).
EOF
}

# ---- arguments (before anything else) --------------------------------------------
INVOCATION="scripts/bench_gate.sh${*:+ $*}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SELF="$ROOT/scripts/bench_gate.sh"
INJECT="${LFPOOL_GATE_INJECT_SLOWDOWN:-0}"
MIN_TIME="${LFPOOL_GATE_MIN_TIME:-0.05}"
REPS="${LFPOOL_GATE_REPS:-5}"
BASE_REPS="${LFPOOL_GATE_BASELINE_REPS:-}"
PAIRS="${LFPOOL_GATE_PAIRS:-100000}"
INJECT_ITERS="${LFPOOL_GATE_INJECT_ITERS:-256}"
RECHECKS="${LFPOOL_GATE_RECHECKS:-2}"
# lfpool rows and their mutex normaliser: pair, burst16, work on 1 thread,
# burst16 on 2 threads, oversub (capacity 8) on 16 threads. Anchored per
# impl, so impls added to the bench (lfpool_bulk, ...) stay out.
FILTER="${LFPOOL_GATE_FILTER:-^(lfpool|lfpool_nocache|mutex)/((pair|burst16|work)/real_time/threads:1|burst16/real_time/threads:2|oversub8/iterations:1/manual_time/threads:16)\$}"
BENCH_THREADS=1,2
OVERSUB_THREADS=16
BASELINE="$ROOT/results/baseline/bench_smoke.json"
BUDGET="$ROOT/bench/icount_budget.txt"
UPDATE=0
NO_DEPS=0
WARN_ONLY=0
DO_TIMING=1
DO_ICOUNT=1
BUILD_DIR=""
OUT=""
# Budgets written by --update-baseline: measured + headroom (percent); goals.
PAIR_HEADROOM=10
BULK_HEADROOM=5
GOAL_PAIR=40
STRETCH_PAIR=25
GOAL_BULK=25
STRETCH_BULK=12

die() {
	echo "bench_gate.sh: $*" >&2
	exit 2
}
need_arg() { [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs an argument (see --help)"; }

while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) usage; exit 0 ;;
	--no-deps) NO_DEPS=1 ;;
	--timing-warn-only) WARN_ONLY=1 ;;
	--update-baseline) UPDATE=1 ;;
	--rechecks) need_arg "$@"; RECHECKS="$2"; shift ;;
	--skip-timing) DO_TIMING=0 ;;
	--skip-icount) DO_ICOUNT=0 ;;
	--build-dir) need_arg "$@"; BUILD_DIR="$2"; shift ;;
	--out) need_arg "$@"; OUT="$2"; shift ;;
	--baseline) need_arg "$@"; BASELINE="$2"; shift ;;
	--budget) need_arg "$@"; BUDGET="$2"; shift ;;
	*) echo "bench_gate.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done

# Any command failing where the script does not expect it is a set-up error:
# exit 2, never 1 (1 is reserved for a measured regression).
trap 'echo "bench_gate.sh: unexpected failure (line $LINENO)" >&2; exit 2' ERR

case "$PAIRS" in '' | *[!0-9]*) die "LFPOOL_GATE_PAIRS must be a number" ;; esac
[ $((PAIRS % 16)) -eq 0 ] && [ "$PAIRS" -gt 0 ] || die "LFPOOL_GATE_PAIRS must be a positive multiple of 16"
case "$RECHECKS" in '' | *[!0-9]*) die "--rechecks must be a number" ;; esac
case "$REPS" in '' | *[!0-9]*) die "LFPOOL_GATE_REPS must be a number" ;; esac
: "${BASE_REPS:=$((3 * REPS))}"
case "$BASE_REPS" in '' | *[!0-9]*) die "LFPOOL_GATE_BASELINE_REPS must be a number" ;; esac
[ "$REPS" -ge 3 ] || die "LFPOOL_GATE_REPS must be at least 3 (the noise estimate needs them)"
[ "$DO_TIMING" = 1 ] || [ "$DO_ICOUNT" = 1 ] || die "--skip-timing and --skip-icount: nothing to do"
if [ "$UPDATE" = 1 ] && { [ "$DO_TIMING" = 0 ] || [ "$DO_ICOUNT" = 0 ]; }; then
	die "--update-baseline measures everything: drop --skip-timing/--skip-icount"
fi

# Paths given relative to the caller's directory stay valid after the cd.
absolute() { case "$1" in /* | '') printf '%s' "$1" ;; *) printf '%s/%s' "$PWD" "$1" ;; esac; }
BASELINE="$(absolute "$BASELINE")"
BUDGET="$(absolute "$BUDGET")"
BUILD_DIR="$(absolute "$BUILD_DIR")"
OUT="$(absolute "$OUT")"
cd "$ROOT"
log() { printf '[gate] %s\n' "$*"; }
rel() { case "$1" in "$ROOT"/*) printf '%s' "${1#"$ROOT"/}" ;; *) printf '%s' "$1" ;; esac; }
NPROC="$(nproc 2>/dev/null || echo 1)"

# ---- packages ---------------------------------------------------------------------
PKGS=(cmake gcc g++ make pkg-config libck-dev libbenchmark-dev)
[ "$DO_ICOUNT" = 1 ] && PKGS+=(valgrind)
[ "$DO_TIMING" = 1 ] && PKGS+=(python3)

missing_packages() {
	local p missing=()
	if command -v dpkg-query >/dev/null 2>&1; then
		for p in "${PKGS[@]}"; do
			dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
				missing+=("$p")
		done
	else
		# Not Debian: check the commands; libraries are left to cmake.
		for p in cmake cc c++ make pkg-config; do
			command -v "$p" >/dev/null 2>&1 || missing+=("$p")
		done
		[ "$DO_ICOUNT" = 0 ] || command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
		[ "$DO_TIMING" = 0 ] || command -v python3 >/dev/null 2>&1 || missing+=(python3)
	fi
	echo "${missing[*]}"
}

MISSING="$(missing_packages)"
if [ -n "$MISSING" ]; then
	if [ "$NO_DEPS" = 1 ]; then
		die "missing packages: $MISSING (--no-deps: install them first, e.g. sudo apt-get install -y $MISSING)"
	fi
	if [ "$(id -u)" -ne 0 ]; then
		die "missing packages: $MISSING; not root, so not installing them (sudo apt-get install -y $MISSING, then rerun, e.g. with --no-deps)"
	fi
	log "installing missing packages ($MISSING) through scripts/deps.sh bench"
	bash "$ROOT/scripts/deps.sh" bench || die "scripts/deps.sh bench failed"
	MISSING="$(missing_packages)"
	[ -z "$MISSING" ] || die "still missing after installing: $MISSING"
fi

# The files compared against must exist before anything is built.
budget_value() { sed -n "s/^$1=\([0-9.]*\).*/\1/p" "$BUDGET" | sed -n 1p; }
if [ "$UPDATE" = 0 ]; then
	if [ "$DO_TIMING" = 1 ]; then
		[ -r "$BASELINE" ] || die "no baseline $(rel "$BASELINE") (run with --update-baseline)"
	fi
	if [ "$DO_ICOUNT" = 1 ]; then
		[ -r "$BUDGET" ] || die "no budget file $(rel "$BUDGET") (run with --update-baseline)"
		for key in per_pair bulk16_per_object; do
			[ -n "$(budget_value "budget_$key")" ] ||
				die "no budget_$key= line in $(rel "$BUDGET") (rerun with --update-baseline)"
		done
	fi
fi

# ---- build --------------------------------------------------------------------------
if [ "$INJECT" != 0 ]; then
	[ "$UPDATE" = 0 ] || die "refusing to write a baseline from an injected-slowdown build"
	: "${BUILD_DIR:=$ROOT/build-gate-inject}"
	SLOWDOWN="$INJECT_ITERS"
	ICOUNT_BIN=lfpool_icount_inject
	log "LFPOOL_GATE_INJECT_SLOWDOWN: bench wrapper delayed by $SLOWDOWN loop iterations" \
		"per acquire, icount probe built with extra work per object (expect FAIL)"
else
	: "${BUILD_DIR:=$ROOT/build-gate}"
	SLOWDOWN=0
	ICOUNT_BIN=lfpool_icount
fi
: "${OUT:=$BUILD_DIR/gate}"
mkdir -p "$OUT" || die "cannot create $OUT"
REV="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "no commit")"
if [ -n "$(git -C "$ROOT" status --porcelain -- lib bench ':!bench/icount_budget.txt' 2>/dev/null | sed -n 1p || true)" ]; then
	REV="$REV (lib/ or bench/ had uncommitted changes)"
fi
[ "$INJECT" = 0 ] || INVOCATION="LFPOOL_GATE_INJECT_SLOWDOWN=$INJECT $INVOCATION"
log "$INVOCATION"
log "lfpool $REV, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -m), $NPROC CPUs, load $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"

log "building in $(rel "$BUILD_DIR") (Release)"
cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release \
	-DLFPOOL_BUILD_BENCH=ON -DLFPOOL_BUILD_TESTS=OFF -DLFPOOL_BUILD_STRESS=OFF \
	-DLFPOOL_BUILD_EXAMPLES=OFF \
	-DLFPOOL_BENCH_INJECT_SLOWDOWN="$SLOWDOWN" >"$OUT/configure.log" 2>&1 ||
	{ tail -40 "$OUT/configure.log" >&2; die "cmake configure failed (log: $(rel "$OUT")/configure.log)"; }
cmake --build "$BUILD_DIR" -j "$NPROC" --target lfpool_bench "$ICOUNT_BIN" \
	>"$OUT/build.log" 2>&1 ||
	{ tail -40 "$OUT/build.log" >&2; die "build failed (log: $(rel "$OUT")/build.log)"; }

STATUS=0
SUMMARY=()

# ---- 1. instruction counts --------------------------------------------------------------
callgrind_total() { # PAIRS MODE OUTFILE -> sets CG_TOTAL (the Ir total)
	valgrind --tool=callgrind --callgrind-out-file="$3" \
		"$BUILD_DIR/bench/$ICOUNT_BIN" "$1" "$2" >"$3.stdout" 2>"$3.stderr" ||
		{ tail -20 "$3.stderr" >&2; die "valgrind run failed: $ICOUNT_BIN $1 $2"; }
	local lm
	lm="$(sed -n 's/.* loop_misses=\([0-9]*\).*/\1/p' "$3.stdout")"
	[ "$lm" = 0 ] ||
		log "warning: $2: the measured loop missed the cache (${lm:-?} misses): not the cache-hit figure"
	CG_TOTAL="$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$3.stderr")"
}

# Per-function instructions per object (informational): difference of the
# two profiles' self costs.
breakdown() {
	command -v callgrind_annotate >/dev/null 2>&1 || return 0
	local f
	for f in "$1" "$2"; do
		callgrind_annotate "$f" 2>/dev/null |
			sed -n 's/^ *\([0-9,]*\) ([^)]*) *[^:]*:\([^ ]*\).*/\2 \1/p' |
			tr -d , | sort >"$f.fn" || true
	done
	join "$1.fn" "$2.fn" | awk -v n="$PAIRS" '{ d = ($3 - $2) / n; if (d >= 0.5) printf "    %-28s %6.1f\n", $1, d }' | sort -k2 -nr || true
}

# measure MODE LABEL -> sets PER (instructions per object), TOTALS, BREAKDOWN
measure() {
	local i1 i2
	log "instruction count ($2): $ICOUNT_BIN N $1, N = $PAIRS and $((2 * PAIRS)) objects, under callgrind"
	callgrind_total "$PAIRS" "$1" "$OUT/cg.$1.1"
	i1="$CG_TOTAL"
	callgrind_total "$((2 * PAIRS))" "$1" "$OUT/cg.$1.2"
	i2="$CG_TOTAL"
	[ -n "$i1" ] && [ -n "$i2" ] || die "could not read the callgrind totals ($(rel "$OUT")/cg.$1.*)"
	PER="$(awk -v a="$i1" -v b="$i2" -v n="$PAIRS" 'BEGIN { printf "%.1f", (b - a) / n }')"
	TOTALS="$i1,$i2"
	BREAKDOWN="$(breakdown "$OUT/cg.$1.1" "$OUT/cg.$1.2")"
	log "$2: $PER instructions per object (totals $i1 / $i2)"
	[ -z "$BREAKDOWN" ] || printf '  per object, by function (self):\n%s\n' "$BREAKDOWN"
}

ceil_pct() { awk -v p="$1" -v h="$2" 'BEGIN { b = p * (1 + h / 100); printf "%d", (b == int(b)) ? b : int(b) + 1 }'; }
# budget MEASURED HEADROOM GOAL: measured + headroom, rounded up, but never
# above the goal once the measurement meets it (the gate then enforces it).
budget_for() {
	local b
	b="$(ceil_pct "$1" "$2")"
	awk -v m="$1" -v b="$b" -v g="$3" 'BEGIN { printf "%d", (g != "" && m <= g && b > g) ? g : b }'
}

# check NAME MEASURED KEY UNIT: compares with the budget file's lines
check_budget() {
	local name="$1" per="$2" key="$3" unit="$4" limit goal stretch note
	limit="$(budget_value "budget_$key")"
	goal="$(budget_value "goal_$key")"
	stretch="$(budget_value "stretch_$key")"
	[ -n "$limit" ] || die "no budget_$key= line in $(rel "$BUDGET") (rerun with --update-baseline)"
	note="goal ${goal:-?}, stretch ${stretch:-?}"
	if awk -v p="$per" -v l="$limit" 'BEGIN { exit !(p > l) }'; then
		SUMMARY+=("icount $name: FAIL $per instructions/$unit > budget $limit ($note)")
		STATUS=1
	else
		SUMMARY+=("icount $name: PASS $per instructions/$unit <= budget $limit ($note)")
	fi
}

if [ "$DO_ICOUNT" = 1 ]; then
	measure acquire pair
	PAIR_PER="$PER" PAIR_TOTALS="$TOTALS" PAIR_BREAKDOWN="$BREAKDOWN"
	measure bulk16 bulk16
	BULK_PER="$PER" BULK_TOTALS="$TOTALS" BULK_BREAKDOWN="$BREAKDOWN"
	if [ "$UPDATE" = 1 ]; then
		PAIR_BUDGET="$(budget_for "$PAIR_PER" "$PAIR_HEADROOM" "$GOAL_PAIR")"
		BULK_BUDGET="$(budget_for "$BULK_PER" "$BULK_HEADROOM" "$GOAL_BULK")"
		mkdir -p "$(dirname "$BUDGET")" "$(dirname "$BASELINE")"
		cat >"$BUDGET" <<EOF
# Instruction budgets checked by scripts/bench_gate.sh: bench/icount.c under
# valgrind callgrind with N and 2N objects, difference / N, single thread,
# every operation served by the thread's cache; the figures include the
# caller's loop and error checks.
#   pair:   one lfp_acquire + lfp_release
#   bulk16: lfp_acquire_bulk(16) + lfp_release_bulk(16), per object
# Written by 'scripts/bench_gate.sh --update-baseline'; do not edit by hand
# unless you mean to move a budget. budget = measured + $PAIR_HEADROOM% (pair),
# + $BULK_HEADROOM% (bulk16), rounded up, capped at the goal once the
# measurement meets it. goal/stretch: the design targets.
# measured on: $(uname -m), $(cc --version | sed -n 1p), $(date -u +%Y-%m-%d), lfpool $REV
measured_per_pair=$PAIR_PER
budget_per_pair=$PAIR_BUDGET
goal_per_pair=$GOAL_PAIR
stretch_per_pair=$STRETCH_PAIR
measured_bulk16_per_object=$BULK_PER
budget_bulk16_per_object=$BULK_BUDGET
goal_bulk16_per_object=$GOAL_BULK
stretch_bulk16_per_object=$STRETCH_BULK
EOF
		cat >"$(dirname "$BASELINE")/icount.txt" <<EOF
# Written by scripts/bench_gate.sh --update-baseline (lfpool $REV, $(date -u +%Y-%m-%d),
# $(cc --version | sed -n 1p)); instructions per object, callgrind.
measured_per_pair=$PAIR_PER
callgrind_totals_pair=$PAIR_TOTALS pairs=$PAIRS,$((2 * PAIRS))
measured_bulk16_per_object=$BULK_PER
callgrind_totals_bulk16=$BULK_TOTALS objects=$PAIRS,$((2 * PAIRS))
pair, per pair by function (self):
$PAIR_BREAKDOWN
bulk16, per object by function (self):
$BULK_BREAKDOWN
EOF
		log "wrote $(rel "$BUDGET"): budget_per_pair=$PAIR_BUDGET budget_bulk16_per_object=$BULK_BUDGET"
		SUMMARY+=("icount pair: measured $PAIR_PER instructions/pair, budget set to $PAIR_BUDGET")
		SUMMARY+=("icount bulk16: measured $BULK_PER instructions/object, budget set to $BULK_BUDGET")
	else
		check_budget pair "$PAIR_PER" per_pair pair
		check_budget bulk16 "$BULK_PER" bulk16_per_object object
	fi
fi

# ---- 2. timing ------------------------------------------------------------------------------
# run_bench FILTER NAME [REPS]: $OUT/NAME.json (+ console output in NAME.txt)
run_bench() {
	"$BUILD_DIR/bench/lfpool_bench" --lfpool_threads="$BENCH_THREADS" \
		--lfpool_oversub8_threads="$OVERSUB_THREADS" \
		--benchmark_filter="$1" --benchmark_min_time="$MIN_TIME" \
		--benchmark_repetitions="${3:-$REPS}" --benchmark_report_aggregates_only=false \
		--benchmark_display_aggregates_only=true --benchmark_enable_random_interleaving=true \
		--benchmark_out="$OUT/$2.json" --benchmark_out_format=json >"$OUT/$2.txt" 2>&1 ||
		{ tail -20 "$OUT/$2.txt" >&2; die "lfpool_bench failed ($(rel "$OUT")/$2.txt)"; }
}

if [ "$DO_TIMING" = 1 ]; then
	command -v python3 >/dev/null 2>&1 || die "python3 not found"
	if [ "$UPDATE" = 1 ]; then
		# The baseline is reused by every later check: more repetitions, so
		# that a slow phase of the machine cannot shift its medians.
		log "timing baseline: rows /$FILTER/, min time ${MIN_TIME}s, $BASE_REPS repetitions, random interleaving"
		run_bench "$FILTER" bench_smoke "$BASE_REPS"
	else
		log "timing: rows /$FILTER/, min time ${MIN_TIME}s, $REPS repetitions, random interleaving"
		run_bench "$FILTER" bench_smoke
	fi
	if [ "$UPDATE" = 1 ]; then
		mkdir -p "$(dirname "$BASELINE")"
		cp "$OUT/bench_smoke.json" "$BASELINE"
		log "wrote $(rel "$BASELINE")"
		SUMMARY+=("timing: baseline written to $(rel "$BASELINE")")
	else
		CMP=(python3 "$ROOT/scripts/compare_bench.py" "$(rel "$BASELINE")" "$(rel "$OUT/bench_smoke.json")")
		rc=0
		"${CMP[@]}" --rerun-filter-out "$OUT/rerun_filter.txt" >"$OUT/compare.txt" 2>&1 || rc=$?
		cat "$OUT/compare.txt"
		[ "$rc" = 0 ] || [ "$rc" = 1 ] || die "compare_bench.py failed ($rc)"
		if [ "$rc" = 1 ] && [ "$RECHECKS" -gt 0 ]; then
			RFILTER="$(cat "$OUT/rerun_filter.txt")"
			[ -n "$RFILTER" ] || die "compare_bench.py flagged rows but wrote no re-run filter"
			RERUNS=()
			for k in $(seq 1 "$RECHECKS"); do
				log "timing: re-run $k of $RECHECKS of the flagged rows with their mutex rows: /$RFILTER/"
				run_bench "$RFILTER" "bench_recheck$k"
				RERUNS+=(--rerun "$(rel "$OUT/bench_recheck$k.json")")
			done
			rc=0
			"${CMP[@]}" "${RERUNS[@]}" >"$OUT/compare.txt" 2>&1 || rc=$?
			echo
			cat "$OUT/compare.txt"
			[ "$rc" = 0 ] || [ "$rc" = 1 ] || die "compare_bench.py failed ($rc)"
		fi
		NWARN="$(grep -c '^WARN:' "$OUT/compare.txt" || true)"
		if [ "$rc" = 0 ] && [ "${NWARN:-0}" = 0 ]; then
			SUMMARY+=("timing: PASS (vs $(rel "$BASELINE"))")
		elif [ "$rc" = 0 ]; then
			SUMMARY+=("timing: PASS with $NWARN warning(s): a first-run drop that did not repeat beyond the noise")
		elif [ "$WARN_ONLY" = 1 ]; then
			SUMMARY+=("timing: WARNING, regression (see the table above); --timing-warn-only: not failing")
		else
			SUMMARY+=("timing: FAIL, see the table above")
			STATUS=1
		fi
	fi
fi

# ---- --update-baseline: the proof logs ------------------------------------------------------
if [ "$UPDATE" = 1 ]; then
	DIR="$(dirname "$BASELINE")"
	PASS_ARGS=(--no-deps)
	[ "$BASELINE" = "$ROOT/results/baseline/bench_smoke.json" ] || PASS_ARGS+=(--baseline "$(rel "$BASELINE")")
	[ "$BUDGET" = "$ROOT/bench/icount_budget.txt" ] || PASS_ARGS+=(--budget "$(rel "$BUDGET")")
	# The check in .ci/run's mode (timing warns): exit 0 expected.
	log "proof: scripts/bench_gate.sh --timing-warn-only -> $(rel "$DIR")/gate_check.log (must exit 0)"
	rc=0
	env -u LFPOOL_GATE_INJECT_SLOWDOWN bash "$SELF" --timing-warn-only "${PASS_ARGS[@]}" 2>&1 | tee "$DIR/gate_check.log" || rc=${PIPESTATUS[0]}
	echo "exit=$rc" >>"$DIR/gate_check.log"
	[ "$rc" = 0 ] || die "the gate did not pass right after --update-baseline (exit $rc; see $(rel "$DIR")/gate_check.log)"
	# The injected slowdown, strict timing: both halves must fail, exit 1.
	log "proof: LFPOOL_GATE_INJECT_SLOWDOWN=1 scripts/bench_gate.sh -> $(rel "$DIR")/gate_inject_slowdown.log (must exit 1)"
	rc=0
	LFPOOL_GATE_INJECT_SLOWDOWN=1 bash "$SELF" "${PASS_ARGS[@]}" 2>&1 | tee "$DIR/gate_inject_slowdown.log" || rc=${PIPESTATUS[0]}
	echo "exit=$rc" >>"$DIR/gate_inject_slowdown.log"
	[ "$rc" = 1 ] || die "the injected slowdown did not fail the gate (exit $rc; see $(rel "$DIR")/gate_inject_slowdown.log)"
	SUMMARY+=("proof logs in $(rel "$DIR"): gate_check.log (--timing-warn-only, exit 0), gate_inject_slowdown.log (exit 1)")
fi

echo
for s in "${SUMMARY[@]}"; do log "$s"; done
if [ "$STATUS" = 0 ]; then log "gate PASSED"; else log "gate FAILED"; fi
exit "$STATUS"

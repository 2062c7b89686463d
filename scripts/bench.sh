#!/usr/bin/env bash
# lfpool benchmark sweep: installs what it needs (Debian/Ubuntu, apt), builds
# the benchmarks, runs every workload over a range of thread counts for
# lfpool and the baselines (mutex pool, Concurrency Kit stacks, glibc malloc,
# and mimalloc/jemalloc/tcmalloc through LD_PRELOAD), and writes
# results/<machine>/: Google Benchmark JSON, results.csv, README.md, PNG plots
# and machine.txt.
#
#   scripts/bench.sh                      # full sweep, threads 1,2,4..nproc
#   scripts/bench.sh --quick              # smoke run, seconds
#   scripts/bench.sh --threads 1,2,4,8,16 --min-time 0.4 --machine xeon-16c
#
# Run from anywhere; paths are relative to the repository root.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ORIG_ARGS="$*"
NPROC="$(nproc 2>/dev/null || echo 1)"

THREADS=""
OVERSUB_THREADS=""
MIN_TIME=""
REPS=""
MACHINE=""
QUICK=0
DEPS=1
ALLOC=1
PLOTS=1
WORK_NS=""
BUILD_DIR="$ROOT/build-bench"
WORKLOADS="burst16 burst64 burst1 pair xthread work oversub"

usage() {
	cat <<EOF
usage: scripts/bench.sh [options]
  --quick                 seconds-long smoke run (threads 1 and nproc, tiny min-time)
  --threads LIST          thread counts, e.g. 1,2,4,8,16 (default: 1,2,4..nproc)
  --oversub-threads LIST  threads for the capacity-8 blocking workload (default: 16)
  --min-time SEC          Google Benchmark min time per point (default 0.4; quick 0.01)
  --repetitions N         repetitions per point, medians reported (default 3; quick 1)
  --workloads LIST        subset of: $WORKLOADS (comma or space separated)
  --work-ns NS            computation while holding an object (default 300)
  --machine NAME          results/NAME/ (default: hostname slug + core count)
  --build-dir DIR         build directory (default: build-bench)
  --no-deps               do not apt-get install missing packages
  --no-alloc              skip the LD_PRELOAD allocator rows
  --no-plots              CSV and Markdown only
EOF
}

# need "$@": the option's value, from --opt=value or the next argument.
need() {
	if [ -z "$val" ]; then
		[ $# -ge 2 ] || { echo "bench.sh: $arg needs a value" >&2; exit 2; }
		val="$2"
		shift_extra=1
	fi
}
while [ $# -gt 0 ]; do
	arg="$1"
	val=""
	shift_extra=0
	case "$arg" in
	--*=*) val="${arg#*=}"; arg="${arg%%=*}" ;;
	esac
	case "$arg" in
	--quick) QUICK=1 ;;
	--threads) need "$@"; THREADS="$val" ;;
	--oversub-threads) need "$@"; OVERSUB_THREADS="$val" ;;
	--min-time) need "$@"; MIN_TIME="$val" ;;
	--repetitions) need "$@"; REPS="$val" ;;
	--workloads) need "$@"; WORKLOADS="${val//,/ }" ;;
	--work-ns) need "$@"; WORK_NS="$val" ;;
	--machine) need "$@"; MACHINE="$val" ;;
	--build-dir) need "$@"; BUILD_DIR="$val" ;;
	--no-deps) DEPS=0 ;;
	--no-alloc) ALLOC=0 ;;
	--no-plots) PLOTS=0 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "bench.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
	if [ "$shift_extra" = 1 ]; then shift; fi
done

if [ "$QUICK" = 1 ]; then
	: "${MIN_TIME:=0.01}"
	: "${REPS:=1}"
	if [ -z "$THREADS" ]; then
		THREADS=1
		[ "$NPROC" -gt 1 ] && THREADS="1,$NPROC"
	fi
else
	: "${MIN_TIME:=0.4}"
	: "${REPS:=3}"
	if [ -z "$THREADS" ]; then
		THREADS=""
		t=1
		while [ "$t" -lt "$NPROC" ]; do THREADS="$THREADS$t,"; t=$((t * 2)); done
		THREADS="$THREADS$NPROC"
	fi
fi
: "${OVERSUB_THREADS:=16}"
for wl in $WORKLOADS; do
	case "$wl" in
	pair | burst1 | burst16 | burst64 | xthread | work | oversub) ;;
	*) echo "bench.sh: unknown workload '$wl'" >&2; exit 2 ;;
	esac
done

if [ -t 1 ]; then B=$'\033[1m' N=$'\033[0m'; else B="" N=""; fi
log() { printf '%s[bench %s]%s %s\n' "$B" "$(date +%H:%M:%S)" "$N" "$*"; }
die() { echo "bench.sh: $*" >&2; exit 1; }

# ---- 1. dependencies --------------------------------------------------------
if [ "$DEPS" = 1 ]; then
	bash "$(dirname "$0")/deps.sh" bench || die "could not install the dependencies"
fi

# ---- 2. build ---------------------------------------------------------------
mkdir -p "$BUILD_DIR"
log "configuring $BUILD_DIR (Release)"
cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release \
	-DLFPOOL_BUILD_BENCH=ON -DLFPOOL_BUILD_TESTS=OFF -DLFPOOL_BUILD_STRESS=OFF \
	-DLFPOOL_BENCH_INJECT_SLOWDOWN=0 >"$BUILD_DIR/configure.log" 2>&1 ||
	{ cat "$BUILD_DIR/configure.log" >&2; die "cmake configure failed"; }
log "building lfpool_bench"
cmake --build "$BUILD_DIR" --target lfpool_bench -j "$NPROC" >"$BUILD_DIR/build.log" 2>&1 ||
	{ tail -50 "$BUILD_DIR/build.log" >&2; die "build failed (log: $BUILD_DIR/build.log)"; }
BENCH="$BUILD_DIR/bench/lfpool_bench"
[ -x "$BENCH" ] || die "$BENCH missing"

# ---- 3. machine -------------------------------------------------------------
if [ -z "$MACHINE" ]; then
	host="$(hostname -s 2>/dev/null || hostname 2>/dev/null || echo host)"
	MACHINE="$(printf '%s' "$host" | tr "[:upper:]" "[:lower:]" | sed 's/[^a-z0-9._-]/-/g')-${NPROC}c"
fi
case "$MACHINE" in */* | .* | "") die "bad machine name '$MACHINE'" ;; esac
OUT="$ROOT/results/$MACHINE"
mkdir -p "$OUT"
rm -f "$OUT"/bench_*.json "$OUT"/*.png
log "results -> results/$MACHINE/"

{
	echo "machine: $MACHINE"
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "kernel: $(uname -srm)"
	if command -v lscpu >/dev/null 2>&1; then
		LC_ALL=C lscpu | grep -E '^(Architecture|CPU\(s\)|On-line CPU|Model name|Thread\(s\) per core|Core\(s\) per socket|Socket\(s\)|NUMA node\(s\)|CPU max MHz|L1d|L2|L3|Hypervisor vendor|Virtualization type)' |
			sed 's/  */ /g'
	fi
	gov=/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor
	[ -r "$gov" ] && echo "governor: $(cat "$gov")"
	echo "compiler: $(cc --version | sed -n 1p); $(c++ --version | sed -n 1p)"
	echo "cmake: $(cmake --version | sed -n 1p)"
	if command -v dpkg-query >/dev/null 2>&1; then
		echo "packages: $(dpkg-query -W -f='${Package} ${Version}, ' libbenchmark-dev libck-dev \
			libmimalloc2.0 libjemalloc2 libtcmalloc-minimal4 libc6 2>/dev/null | sed 's/, $//')"
	fi
	rev="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "no commit")"
	dirty="$(git -C "$ROOT" status --porcelain -- lib 2>/dev/null | sed -n 1p || true)"
	echo "lfpool: $rev${dirty:+ (lib/ has uncommitted changes)}"
	echo "settings: threads=$THREADS oversub_threads=$OVERSUB_THREADS min_time=${MIN_TIME}s repetitions=$REPS work_ns=${WORK_NS:-300}"
	echo "command: scripts/bench.sh${ORIG_ARGS:+ $ORIG_ARGS}"
	# Other work on the machine skews the multi-thread rows: record the load.
	[ -r /proc/loadavg ] && echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT/machine.txt"

# ---- 4. runs ----------------------------------------------------------------
COMMON=(--lfpool_threads="$THREADS" --lfpool_oversub_threads="$OVERSUB_THREADS"
	--benchmark_min_time="$MIN_TIME" --benchmark_repetitions="$REPS"
	--benchmark_report_aggregates_only=false --benchmark_out_format=json)
# Repetitions of different benchmarks run in random order, so that a slow
# phase of the machine does not land on one implementation only.
if [ "$REPS" -gt 1 ]; then
	COMMON+=(--benchmark_display_aggregates_only=true --benchmark_enable_random_interleaving=true)
fi
if [ -n "$WORK_NS" ]; then COMMON+=(--lfpool_work_ns="$WORK_NS"); fi

# Allocators for the LD_PRELOAD rows: label and shared object.
ALLOCS=()
if [ "$ALLOC" = 1 ]; then
	for pair in mimalloc:libmimalloc.so.2 jemalloc:libjemalloc.so.2 tcmalloc:libtcmalloc_minimal.so.4; do
		label="${pair%%:*}"
		so="${pair#*:}"
		path="$(ldconfig -p 2>/dev/null | awk -v so="$so" '$1 == so && !p { p = $NF } END { if (p) print p }')"
		if [ -z "$path" ]; then
			for d in /usr/lib/"$(cc -print-multiarch 2>/dev/null)" /usr/lib64 /usr/lib /usr/local/lib; do
				[ -e "$d/$so" ] && { path="$d/$so"; break; }
			done
		fi
		if [ -n "$path" ]; then ALLOCS+=("$label:$path"); else log "skipping $label: $so not found"; fi
	done
fi

NWL=$(echo "$WORKLOADS" | wc -w)
TOTAL=$((NWL + ${#ALLOCS[@]}))
STEP=0
START=$SECONDS
for wl in $WORKLOADS; do
	STEP=$((STEP + 1))
	thr="$THREADS"
	[ "$wl" != oversub ] || thr="$OVERSUB_THREADS"
	log "[$STEP/$TOTAL] workload $wl (threads $thr; elapsed $((SECONDS - START))s)"
	"$BENCH" "${COMMON[@]}" --benchmark_filter="^[^/]+/$wl/" \
		--benchmark_out="$OUT/bench_$wl.json" || die "lfpool_bench failed on $wl"
done

# The malloc rows under other allocators: same binary, LD_PRELOAD, renamed rows.
ALLOC_WL="$(echo "$WORKLOADS" | tr ' ' '\n' | grep -vx oversub | paste -sd'|' || true)"
for a in "${ALLOCS[@]}"; do
	label="${a%%:*}"
	path="${a#*:}"
	STEP=$((STEP + 1))
	[ -n "$ALLOC_WL" ] || break
	log "[$STEP/$TOTAL] allocator rows: $label ($path)"
	LD_PRELOAD="$path" LFPOOL_BENCH_ALLOC_LABEL="$label" "$BENCH" "${COMMON[@]}" \
		--benchmark_filter="^$label/($ALLOC_WL)/" \
		--benchmark_out="$OUT/bench_alloc_$label.json" || die "$label run failed"
done

if [ -r /proc/loadavg ]; then
	echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg) (includes this run's threads)" >>"$OUT/machine.txt"
fi

# ---- 5. merge, tables, plots ------------------------------------------------
PY=""
for p in python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import matplotlib' 2>/dev/null; then
		PY="$p"
		break
	fi
done
PLOT_ARGS=()
if [ -z "$PY" ]; then
	PY=python3
	PLOT_ARGS+=(--no-plots)
	log "matplotlib not found: writing CSV and Markdown only"
fi
[ "$PLOTS" = 1 ] || PLOT_ARGS+=(--no-plots)
"$PY" "$ROOT/scripts/plot_results.py" "$OUT" --machine "$MACHINE" "${PLOT_ARGS[@]}"
log "done in $((SECONDS - START))s: results/$MACHINE/README.md"

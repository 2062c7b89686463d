#!/usr/bin/env bash
# lfpool benchmark sweep: installs what it needs (Debian/Ubuntu, apt), builds
# the benchmarks, runs every workload over a range of thread counts for
# lfpool and its competitors (DPDK rte_mempool, mutex/condvar/semaphore
# pools, Concurrency Kit stacks, glibc malloc, and mimalloc/jemalloc/tcmalloc
# through LD_PRELOAD), and writes results/<machine>/: the raw Google
# Benchmark JSON, CSV, README.md (Markdown summary), PNG plots, machine.txt.
#
# Competitors are interleaved: each repetition runs every workload once per
# competitor, one process each, in a start order that rotates from one
# repetition (and workload) to the next; the summary reports medians over
# repetitions and medians of the per-repetition ratios lfpool / competitor.
#
#   scripts/bench.sh                      # full sweep, threads 1,2,4..nproc
#   scripts/bench.sh --quick              # smoke run, seconds
#   scripts/bench.sh --threads 1,2,4,8,16 --machine xeon-16c
#
# Run from anywhere; paths are relative to the repository root.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ORIG_ARGS="$*"
NPROC="$(nproc 2>/dev/null || echo 1)"

THREADS=""
OVER8=""
OVER64=""
OVER_SEC=""
MIN_TIME=""
REPS=""
MACHINE=""
QUICK=0
DEPS=1
ALLOC=1
PLOTS=1
WORK_NS=""
OVER_WORK_NS=""
IMPLS=""
BUILD_DIR="$ROOT/build-bench"
ALL_WORKLOADS="burst16 burst64 burst1 pair xthread work oversub8 oversub64"
WORKLOADS="$ALL_WORKLOADS"

usage() {
	cat <<EOF
usage: scripts/bench.sh [options]
  --quick                   seconds-long smoke run (threads 1 and nproc,
                            min-time 0.01, 1 repetition, oversub rows 0.05 s)
  --threads LIST            thread counts, e.g. 1,2,4,8,16 (default: 1,2,4..nproc)
  --oversub-threads LIST    threads for oversub8 (capacity 8; default 10,16,64)
  --oversub64-threads LIST  threads for oversub64 (capacity 64; default 128)
  --oversub-seconds SEC     length of one oversub row (default 0.5; quick 0.05)
  --min-time SEC            Google Benchmark min time per point (default 0.2)
  --repetitions N           interleaved repetitions, medians reported (default 5)
  --workloads LIST          subset of: $ALL_WORKLOADS
  --impls LIST              only these competitors (lfpool is always kept)
  --work-ns NS              computation while holding an object, 'work' (300)
  --oversub-work-ns NS      the same for oversub8/oversub64 (1000)
  --machine NAME            results/NAME/ (default: hostname slug + core count)
  --build-dir DIR           build directory (default: build-bench)
  --no-deps                 do not apt-get install missing packages
  --no-alloc                skip the LD_PRELOAD allocator rows
  --no-plots                CSV and Markdown only
  -h, --help                this text (installs and builds nothing)
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
	--oversub-threads | --oversub8-threads) need "$@"; OVER8="$val" ;;
	--oversub64-threads) need "$@"; OVER64="$val" ;;
	--oversub-seconds) need "$@"; OVER_SEC="$val" ;;
	--min-time) need "$@"; MIN_TIME="$val" ;;
	--repetitions) need "$@"; REPS="$val" ;;
	--workloads) need "$@"; WORKLOADS="${val//,/ }" ;;
	--impls) need "$@"; IMPLS="${val//,/ }" ;;
	--work-ns) need "$@"; WORK_NS="$val" ;;
	--oversub-work-ns) need "$@"; OVER_WORK_NS="$val" ;;
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
	: "${OVER_SEC:=0.05}"
	if [ -z "$THREADS" ]; then
		THREADS=1
		[ "$NPROC" -gt 1 ] && THREADS="1,$NPROC"
	fi
else
	: "${MIN_TIME:=0.2}"
	: "${REPS:=5}"
	if [ -z "$THREADS" ]; then
		t=1
		while [ "$t" -lt "$NPROC" ]; do THREADS="$THREADS$t,"; t=$((t * 2)); done
		THREADS="$THREADS$NPROC"
	fi
fi
: "${OVER8:=10,16,64}"
: "${OVER64:=128}"
: "${OVER_SEC:=0.5}"
case "$REPS" in '' | *[!0-9]* | 0) echo "bench.sh: bad --repetitions '$REPS'" >&2; exit 2 ;; esac
WL=""
for wl in $WORKLOADS; do
	case "$wl" in
	pair | burst1 | burst16 | burst64 | xthread | work | oversub8 | oversub64) WL="$WL $wl" ;;
	oversub) WL="$WL oversub8 oversub64" ;;
	*) echo "bench.sh: unknown workload '$wl'" >&2; exit 2 ;;
	esac
done
WORKLOADS="${WL# }"

if [ -t 1 ]; then B=$'\033[1m' N=$'\033[0m'; else B="" N=""; fi
log() { printf '%s[bench %s]%s %s\n' "$B" "$(date +%H:%M:%S)" "$N" "$*"; }
die() { echo "bench.sh: $*" >&2; exit 1; }

# ---- 1. dependencies --------------------------------------------------------
if [ "$DEPS" = 1 ]; then
	bash "$ROOT/scripts/deps.sh" bench || die "could not install the dependencies"
fi

# ---- 2. build ---------------------------------------------------------------
mkdir -p "$BUILD_DIR"
log "configuring $BUILD_DIR (Release)"
cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release \
	-DLFPOOL_BUILD_BENCH=ON -DLFPOOL_BUILD_TESTS=OFF -DLFPOOL_BUILD_STRESS=OFF \
	-DLFPOOL_BENCH_INJECT_SLOWDOWN=0 >"$BUILD_DIR/configure.log" 2>&1 ||
	{ cat "$BUILD_DIR/configure.log" >&2; die "cmake configure failed"; }
grep -h "lfpool bench:" "$BUILD_DIR/configure.log" | sed 's/^-- /    /' || true
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
rm -f "$OUT"/bench_*.json "$OUT"/*.png "$OUT"/runs.jsonl "$OUT"/*.csv "$OUT"/README.md
RUNS="$OUT/runs.jsonl"
CONSOLE="$BUILD_DIR/bench-console.log"
: >"$CONSOLE"
log "results -> results/$MACHINE/ (console output: $CONSOLE)"

# The same calibrated work for every process of the sweep.
WORK_ARGS=()
[ -z "$WORK_NS" ] || WORK_ARGS+=(--lfpool_work_ns="$WORK_NS")
[ -z "$OVER_WORK_NS" ] || WORK_ARGS+=(--lfpool_oversub_work_ns="$OVER_WORK_NS")
CAL="$("$BENCH" "${WORK_ARGS[@]}" --lfpool_calibrate)" || die "calibration failed"
WORK_ITERS="$(echo "$CAL" | sed -n 's/.*work_iters=\([0-9]*\).*/\1/p')"
OVER_ITERS="$(echo "$CAL" | sed -n 's/.*oversub_iters=\([0-9]*\).*/\1/p')"
if [ -z "$WORK_ITERS" ] || [ -z "$OVER_ITERS" ]; then die "bad calibration output: $CAL"; fi

COMMON=(--lfpool_threads="$THREADS" --lfpool_oversub8_threads="$OVER8"
	--lfpool_oversub64_threads="$OVER64" --lfpool_oversub_seconds="$OVER_SEC"
	--lfpool_work_iters="$WORK_ITERS" --lfpool_oversub_iters="$OVER_ITERS"
	"${WORK_ARGS[@]}")

# Allocators for the LD_PRELOAD rows: label and shared object.
declare -A ALLOC_SO=()
ALLOC_LABELS=()
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
		if [ -n "$path" ]; then
			ALLOC_SO[$label]="$path"
			ALLOC_LABELS+=("$label")
		else
			log "skipping $label: $so not found"
		fi
	done
fi

# Competitors per workload, in the binary's registration order.
LIST="$("$BENCH" "${COMMON[@]}" --benchmark_list_tests=true 2>"$BUILD_DIR/skipped.log")" ||
	die "lfpool_bench --benchmark_list_tests failed"
declare -A WL_IMPLS=()
for wl in $WORKLOADS; do
	impls="$(echo "$LIST" | awk -F/ -v w="$wl" '$2 == w && !seen[$1]++ { print $1 }' | tr '\n' ' ')"
	if [ -n "$IMPLS" ]; then
		keep=""
		for i in $impls; do
			case " lfpool $IMPLS " in *" $i "*) keep="$keep $i" ;; esac
		done
		impls="$keep"
	fi
	case " $impls " in
	*" malloc "*) for a in "${ALLOC_LABELS[@]}"; do
		[ -z "$IMPLS" ] || case " $IMPLS " in *" $a "*) ;; *) continue ;; esac
		impls="$impls $a"
	done ;;
	esac
	read -r -a arr <<<"$impls"
	WL_IMPLS[$wl]="${arr[*]}"
done

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
			libdpdk-dev libmimalloc2.0 libjemalloc2 libtcmalloc-minimal4 libc6 2>/dev/null | sed 's/, $//')"
	fi
	rev="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "no commit")"
	dirty="$(git -C "$ROOT" status --porcelain -- lib bench 2>/dev/null | sed -n 1p || true)"
	echo "lfpool: $rev${dirty:+ (lib/ or bench/ has uncommitted changes)}"
	echo "settings: threads=$THREADS oversub8_threads=$OVER8 oversub64_threads=$OVER64" \
		"min_time=${MIN_TIME}s oversub_seconds=${OVER_SEC}s repetitions=$REPS" \
		"work_iters=$WORK_ITERS (${WORK_NS:-300} ns) oversub_iters=$OVER_ITERS (${OVER_WORK_NS:-1000} ns)"
	echo "order: each repetition runs every workload; per workload one process per competitor," \
		"start rotated by one per repetition and per workload"
	for wl in $WORKLOADS; do echo "competitors $wl: ${WL_IMPLS[$wl]}"; done
	sed 's/^/skipped: /' "$BUILD_DIR/skipped.log"
	echo "command: scripts/bench.sh${ORIG_ARGS:+ $ORIG_ARGS}"
	[ -r /proc/loadavg ] && echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT/machine.txt"

# ---- 4. runs ----------------------------------------------------------------
# run_one REP WORKLOAD IMPL: one process, one competitor, one workload.
FAILED=()
TMP="$(mktemp "${TMPDIR:-/tmp}/lfpool-bench.XXXXXX")"
trap 'rm -f "$TMP"' EXIT
run_one() {
	local rep="$1" wl="$2" impl="$3" env=() rc=0
	if [ -n "${ALLOC_SO[$impl]:-}" ]; then
		env=(LD_PRELOAD="${ALLOC_SO[$impl]}" LFPOOL_BENCH_ALLOC_LABEL="$impl")
	fi
	echo "=== rep $rep $impl/$wl" >>"$CONSOLE"
	# Worker i of a row runs pinned to CPU (rep - 1 + i) mod n: the same
	# CPUs for every competitor of a repetition, rotated between them.
	env "${env[@]}" "$BENCH" "${COMMON[@]}" --lfpool_cpu_offset=$((rep - 1)) \
		--benchmark_min_time="$MIN_TIME" \
		--benchmark_repetitions=1 --benchmark_filter="^$impl/$wl/" \
		--benchmark_context=lfpool_rep="$rep" --benchmark_out="$TMP" \
		--benchmark_out_format=json >>"$CONSOLE" 2>&1 || rc=$?
	if [ "$rc" != 0 ]; then
		case "$impl" in
		lfpool*) tail -20 "$CONSOLE" >&2; die "lfpool_bench failed on $impl/$wl (rep $rep)" ;;
		esac
		log "  $impl/$wl failed (exit $rc, rep $rep): see $CONSOLE; going on without it"
		FAILED+=("$impl/$wl rep $rep (exit $rc)")
		return 0
	fi
	# One Google Benchmark JSON document per line (its strings hold no raw
	# newlines).
	tr -d '\n' <"$TMP" >>"$RUNS"
	echo >>"$RUNS"
}

START=$SECONDS
for ((rep = 1; rep <= REPS; rep++)); do
	wi=0
	for wl in $WORKLOADS; do
		read -r -a list <<<"${WL_IMPLS[$wl]}"
		n=${#list[@]}
		[ "$n" -gt 0 ] || continue
		off=$(((rep - 1 + wi) % n))
		order=()
		for ((k = 0; k < n; k++)); do order+=("${list[$(((off + k) % n))]}"); done
		log "[rep $rep/$REPS] $wl: ${order[*]} (elapsed $((SECONDS - START))s)"
		for impl in "${order[@]}"; do run_one "$rep" "$wl" "$impl"; done
		wi=$((wi + 1))
	done
done

{
	[ -r /proc/loadavg ] && echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg) (includes this run's threads)"
	for f in "${FAILED[@]}"; do echo "failed: $f"; done
	echo "duration: $((SECONDS - START)) s"
} >>"$OUT/machine.txt"
[ -s "$RUNS" ] || die "no results"

# ---- 5. merge, tables, plots ------------------------------------------------
# The first Python that has matplotlib (Debian's python3-matplotlib is for
# /usr/bin/python3, which another python3 on PATH may shadow).
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
	[ "$PLOTS" = 0 ] || log "matplotlib not found: writing CSV and Markdown only"
fi
[ "$PLOTS" = 1 ] || PLOT_ARGS+=(--no-plots)
"$PY" "$ROOT/scripts/plot_results.py" "$OUT" --machine "$MACHINE" --print "${PLOT_ARGS[@]}"
log "done in $((SECONDS - START))s: results/$MACHINE/README.md"

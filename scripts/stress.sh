#!/usr/bin/env bash
# Build lfpool three ways (normal, ASan+UBSan, TSan) and run every stress
# scenario in each build within a total time budget, then the API fuzzer for
# a bounded number of runs, then the mutation check (the ABA torture against
# the deliberately broken library must FAIL). Exits non-zero if anything
# fails. See stress/README.md.
#
#   scripts/stress.sh                   # CI: ~10 minutes of runs
#   scripts/stress.sh --long            # 1 hour (budget 3600 s)
#   scripts/stress.sh --budget 1800     # any budget, in seconds
#   scripts/stress.sh --builds normal --only ownership,aba_torture
#
# Build directories: build-stress, build-stress-address, build-stress-thread;
# logs of every run in build-stress-logs/.
set -euo pipefail
cd "$(dirname "$0")/.."

budget=""
long=0
builds="normal address thread"
only=""
fuzz=1
broken=1
while [ $# -gt 0 ]; do
	case "$1" in
	--budget) budget="$2"; shift 2 ;;
	--long) long=1; shift ;;
	--builds) builds="${2//,/ }"; shift 2 ;;
	--only) only="${2//,/ }"; shift 2 ;;
	--no-fuzz) fuzz=0; shift ;;
	--no-broken) broken=0; shift ;;
	-h|--help)
		sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
		echo "options: --budget S --long --builds LIST --only LIST --no-fuzz --no-broken"
		exit 0 ;;
	*) echo "stress.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
	esac
done
[ -n "$budget" ] || { [ $long = 1 ] && budget=3600 || budget=600; }

scenarios="ownership handoff exhaustion aba_torture churn threads600 faults handles eviction"
[ -n "$only" ] && scenarios="$only"

bash scripts/deps.sh stress
jobs=$(nproc)
logs=build-stress-logs
mkdir -p "$logs"
start=$(date +%s)
failures=()
summary=()

# ------------------------------------------------------------ build
dir_of() { [ "$1" = normal ] && echo build-stress || echo "build-stress-$1"; }

for b in $builds; do
	dir=$(dir_of "$b")
	san=""; cc="${CC:-cc}"
	[ "$b" = normal ] || san="$b"
	# The fuzzer needs clang; the ASan build uses it when it is there.
	if [ "$b" = address ] && command -v clang >/dev/null; then cc=clang; fi
	echo "== build $b ($cc) in $dir"
	CC="$cc" cmake -S . -B "$dir" -DLFPOOL_WERROR=ON -DLFPOOL_SANITIZE="$san" \
		-DLFPOOL_BUILD_TESTS=OFF -DLFPOOL_BUILD_STRESS=ON \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build "$dir" -j"$jobs" >"$logs/build-$b.log" 2>&1 ||
		{ tail -40 "$logs/build-$b.log"; echo "stress.sh: build $b failed" >&2; exit 1; }
	if [ "$b" = normal ] && [ $broken = 1 ]; then
		cmake --build "$dir" -j"$jobs" --target stress_broken \
			>>"$logs/build-$b.log" 2>&1
	fi
done
build_s=$(( $(date +%s) - start ))

# ------------------------------------------------------------ budget
# Sanitized runs cost more than their --seconds (start-up, 10,000 threads
# in churn, final checks): weight them, keep ~15% for the fuzzer and the
# mutation check.
weight=0
for b in $builds; do
	case $b in normal) w=10 ;; address) w=12 ;; *) w=15 ;; esac
	weight=$((weight + w))
done
nsc=$(echo $scenarios | wc -w)
run_budget=$(( budget * 85 / 100 ))
# seconds per scenario run in a weight-10 build: 10 * run_budget / (nsc * weight)
per10=$(( 10 * run_budget / (nsc * (weight > 0 ? weight : 1)) ))
[ $per10 -lt 2 ] && per10=2
echo "== budget ${budget}s: ~${per10}s per scenario (normal build), builds took ${build_s}s"

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:print_summary=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# No suppressions: a TSan report in lfpool is a bug to fix, not to hide.
export TSAN_OPTIONS="halt_on_error=0:exitcode=66:second_deadlock_stack=1:history_size=4"

run() { # label log timeout cmd...
	local label=$1 log=$2 tmo=$3; shift 3
	local rc=0
	timeout --kill-after=10 "$tmo" "$@" >"$log" 2>&1 || rc=$?
	local verdict
	verdict=$(grep -E '^(stress_|fuzz_api|Done )' "$log" | tail -1 || true)
	if grep -q "WARNING: ThreadSanitizer\|ERROR: AddressSanitizer\|runtime error:\|ERROR: LeakSanitizer" "$log"; then
		[ $rc = 0 ] && rc=99
	fi
	if [ $rc = 0 ]; then
		echo "  ok   $label: ${verdict:-exit 0}"
		summary+=("ok   $label")
	else
		echo "  FAIL $label (exit $rc): ${verdict:-no verdict} -> $log"
		grep -E 'VIOLATION|WATCHDOG|WARNING: ThreadSanitizer|ERROR:|runtime error|check failed' "$log" | head -5 | sed 's/^/         /' || true
		failures+=("$label")
		summary+=("FAIL $label")
	fi
}

# ------------------------------------------------------------ scenarios
for b in $builds; do
	dir=$(dir_of "$b")
	case $b in normal) w=10 ;; address) w=12 ;; *) w=15 ;; esac
	secs=$(( per10 * 10 / w ))
	[ $secs -lt 1 ] && secs=1
	echo "== $b: ${secs}s per scenario"
	for s in $scenarios; do
		run "$b/$s" "$logs/$b-$s.log" $((secs * 4 + 300)) \
			"$dir/stress/stress_$s" --seconds "$secs" --quiet
	done
done

# ------------------------------------------------------------ fuzzer
fuzz_bin=build-stress-address/stress/fuzz_api
if [ $fuzz = 1 ] && [ -x "$fuzz_bin" ]; then
	left=$(( budget - ($(date +%s) - start - build_s) ))
	ftime=$(( budget / 10 )); [ $ftime -gt $left ] && ftime=$left
	[ $ftime -lt 20 ] && ftime=20
	runs=$(( long ? 5000000 : 200000 ))
	work=build-stress-address/fuzz_work
	mkdir -p "$work"
	echo "== fuzz_api: -runs=$runs -max_total_time=$ftime"
	run "fuzz_api" "$logs/fuzz_api.log" $((ftime + 120)) \
		"$fuzz_bin" -runs=$runs -max_total_time=$ftime -max_len=512 \
		-artifact_prefix="$logs/" "$work" stress/corpus
elif [ $fuzz = 1 ]; then
	echo "== fuzz_api: not built (needs clang and the address build)"
fi

# ------------------------------------------------------------ mutation check
if [ $broken = 1 ] && [ -x build-stress/stress/stress_aba_torture_broken ]; then
	echo "== mutation check: ABA torture against lfpool_broken must FAIL"
	rc=0
	timeout --kill-after=10 120 build-stress/stress/stress_aba_torture_broken \
		--seconds 10 --stall 10 >"$logs/broken-aba_torture.log" 2>&1 || rc=$?
	v=$(grep '^stress_' "$logs/broken-aba_torture.log" | tail -1 || true)
	if [ $rc != 0 ]; then
		echo "  ok   broken/aba_torture failed as it must (exit $rc): $v"
		summary+=("ok   broken/aba_torture detected the broken library")
	else
		echo "  FAIL broken/aba_torture PASSED: the checks did not bite"
		failures+=("broken/aba_torture (not detected)")
		summary+=("FAIL broken/aba_torture not detected")
	fi
fi

# ------------------------------------------------------------ summary
echo "== summary ($(( $(date +%s) - start ))s)"
printf '  %s\n' "${summary[@]}"
if [ ${#failures[@]} -gt 0 ]; then
	echo "stress.sh: ${#failures[@]} failure(s): ${failures[*]}" >&2
	exit 1
fi
echo "stress.sh: all passed"

#!/usr/bin/env python3
"""Regression gate for lfpool's Google Benchmark results (stdlib only).

usage: compare_bench.py BASELINE.json NEW.json [options]

Both files are Google Benchmark JSON (--benchmark_out_format=json) written by
build-*/bench/lfpool_bench, ideally with --benchmark_repetitions >= 3 and
--benchmark_report_aggregates_only=false, so each benchmark has one
"iteration" entry per repetition.

For every benchmark the median of its repetitions is taken (metric:
the Mpairs/s counter). Each lfpool row (impl name starting with --impl-prefix)
is then divided by the mutex-pool row of the same workload and thread count
measured in the same file (--reference), so that the speed of the machine
cancels out: the gate compares "how many times faster than a mutex pool"
between the baseline and the new run.

A row regresses when its normalised ratio drops by more than
    max(--min-threshold, --mad-k * noise)          capped at --max-threshold
where noise combines the relative spreads (1.4826 * MAD / median) of the four
medians involved. Exit status: 0 no regression, 1 regression, 2 bad input.
"""
import argparse
import json
import math
import re
import sys

METRIC = "Mpairs/s"


def die(msg):
    print(f"compare_bench: {msg}", file=sys.stderr)
    sys.exit(2)
THREADS_RE = re.compile(r"/threads:(\d+)")


def median(xs):
    s = sorted(xs)
    n = len(s)
    if n == 0:
        return float("nan")
    mid = n // 2
    return s[mid] if n % 2 else 0.5 * (s[mid - 1] + s[mid])


def rel_spread(xs):
    """Robust relative spread: 1.4826 * MAD / median (0 with < 3 samples)."""
    if len(xs) < 3:
        return 0.0
    m = median(xs)
    if m == 0:
        return 0.0
    mad = median([abs(x - m) for x in xs])
    return 1.4826 * mad / abs(m)


def metric_of(entry):
    if METRIC in entry:
        return float(entry[METRIC])
    # Fallback for foreign benchmarks: iterations per second of real time.
    rt = float(entry.get("real_time", 0.0))
    unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}.get(
        entry.get("time_unit", "ns"), 1e-9)
    return 1.0 / (rt * unit) if rt > 0 else float("nan")


def parse_key(run_name, entry):
    """(impl, workload, threads) from 'impl/workload/.../threads:N'."""
    parts = run_name.split("/")
    m = THREADS_RE.search(run_name)
    threads = int(m.group(1)) if m else int(entry.get("threads", 1))
    impl = parts[0]
    workload = parts[1] if len(parts) > 1 and not parts[1].startswith(
        ("real_time", "threads:")) else ""
    return impl, workload, threads


def load(path):
    """{(impl, workload, threads): [metric per repetition]} and the context."""
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        die(f"cannot read {path}: {e}")
    rows = {}
    for b in doc.get("benchmarks", []):
        if b.get("run_type", "iteration") != "iteration":
            continue
        if b.get("error_occurred"):
            continue
        name = b.get("run_name", b.get("name", ""))
        v = metric_of(b)
        if math.isnan(v):
            continue
        rows.setdefault(parse_key(name, b), []).append(v)
    if not rows:
        die(f"no benchmark results in {path}")
    return rows, doc.get("context", {})


def fmt_pct(x):
    return f"{x * 100:+.1f}%" if not math.isnan(x) else "n/a"


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("baseline")
    ap.add_argument("new")
    ap.add_argument("--reference", default="mutex",
                    help="impl to normalise by (default: mutex)")
    ap.add_argument("--impl-prefix", default="lfpool",
                    help="gate rows whose impl starts with this (default: lfpool)")
    ap.add_argument("--no-normalize", action="store_true",
                    help="compare raw medians (same machine only)")
    ap.add_argument("--min-threshold", type=float, default=0.15,
                    help="smallest drop that counts (default 0.15 = 15%%)")
    ap.add_argument("--mad-k", type=float, default=3.0,
                    help="noise multiplier (default 3)")
    ap.add_argument("--max-threshold", type=float, default=0.5,
                    help="cap on the noise-widened threshold (default 0.5)")
    ap.add_argument("--require-all", action="store_true",
                    help="fail when a baseline row is missing from the new run")
    args = ap.parse_args()

    base, _ = load(args.baseline)
    new, new_ctx = load(args.new)

    gated = sorted(k for k in base if k[0].startswith(args.impl_prefix))
    if not gated:
        die(f"no '{args.impl_prefix}*' rows in {args.baseline}")

    print(f"baseline: {args.baseline}\nnew:      {args.new}")
    if new_ctx.get("lfpool_bench_injected_slowdown"):
        print("note: the new run was built with an injected slowdown")
    norm_desc = "raw Mpairs/s" if args.no_normalize else \
        f"Mpairs/s / {args.reference} Mpairs/s (same run)"
    print(f"metric: median of repetitions, {norm_desc}\n")
    hdr = (f"{'benchmark':<34} {'base':>9} {'new':>9} {'change':>8} "
           f"{'allowed':>8}  verdict")
    print(hdr)
    print("-" * len(hdr))

    regressions = 0
    missing = 0
    compared = 0
    for key in gated:
        impl, wl, thr = key
        label = f"{impl}/{wl}/threads:{thr}"
        if key not in new:
            missing += 1
            print(f"{label:<34} {'':>9} {'':>9} {'':>8} {'':>8}  MISSING in new run")
            continue
        spreads = [rel_spread(base[key]), rel_spread(new[key])]
        b_val, n_val = median(base[key]), median(new[key])
        mode = "raw"
        if not args.no_normalize:
            ref = (args.reference, wl, thr)
            if ref in base and ref in new:
                b_val /= median(base[ref])
                n_val /= median(new[ref])
                spreads += [rel_spread(base[ref]), rel_spread(new[ref])]
                mode = "norm"
            else:
                mode = "raw (no reference row)"
        noise = math.sqrt(sum(s * s for s in spreads))
        allowed = min(args.max_threshold, max(args.min_threshold, args.mad_k * noise))
        change = n_val / b_val - 1.0 if b_val > 0 else float("nan")
        compared += 1
        if not math.isnan(change) and change < -allowed:
            verdict = "REGRESSION"
            regressions += 1
        elif not math.isnan(change) and change > allowed:
            verdict = "improved"
        else:
            verdict = "ok"
        if mode != "norm":
            verdict += f" [{mode}]"
        print(f"{label:<34} {b_val:>9.3f} {n_val:>9.3f} {fmt_pct(change):>8} "
              f"{'-' + format(allowed * 100, '.1f') + '%':>8}  {verdict}")

    print()
    if regressions:
        print(f"FAIL: {regressions} of {compared} benchmarks regressed")
        return 1
    if missing and args.require_all:
        print(f"FAIL: {missing} baseline benchmarks missing from the new run")
        return 1
    if compared == 0:
        print("FAIL: nothing to compare")
        return 2
    print(f"PASS: {compared} benchmarks within their thresholds"
          + (f" ({missing} missing)" if missing else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

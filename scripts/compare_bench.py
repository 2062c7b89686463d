#!/usr/bin/env python3
"""Timing regression check for lfpool's Google Benchmark results (stdlib only).

usage: compare_bench.py BASELINE.json NEW.json [--rerun R1.json ...] [options]

All files are Google Benchmark JSON (--benchmark_out_format=json) written by
build-*/bench/lfpool_bench with --benchmark_repetitions >= 3 and
--benchmark_report_aggregates_only=false, so each benchmark has one
"iteration" entry per repetition. Only the Mpairs/s counter is read (other
counters, added rows and aggregate entries are ignored).

Metric. For every benchmark the median of its repetitions is taken. Each
lfpool row (impl name starting with --impl-prefix) is divided by the
mutex-pool row of the same workload and thread count from the same file
(--reference), so that the speed of the machine cancels out: the check
compares "how many times faster than a mutex pool" between the baseline and
the new run.

Stage 1 (NEW.json alone). A row is flagged when its normalised ratio drops
by more than
    allowed = max(--min-threshold, --mad-k * noise), capped at --max-threshold
where noise combines the relative spreads (1.4826 * MAD / median) of the
four medians involved. Without --rerun, a flagged row is a regression.

Stage 2 (--rerun, given once per re-run of the flagged rows and their
reference rows, e.g. by scripts/bench_gate.sh). A flagged row is a
regression only if the drop repeats:
  (a) in every re-run, taken alone, the row is flagged again (same rule), and
  (b) pooled over the first run and all re-runs, the per-repetition
      normalised ratios (every lfpool repetition divided by every reference
      repetition of the same run) have a median that is below the
      baseline's (same construction) by more than
      max(--min-threshold, --mad-k * pooled noise), capped at
      --max-threshold, where pooled noise combines the relative spreads of
      the pooled new ratios and of the baseline's ratios: the noise this
      invocation measured, run-to-run shifts included.
Otherwise the row is reported as a warning (noise) and does not fail.

--rerun-filter-out FILE writes a --benchmark_filter regular expression that
selects the flagged rows and their reference rows (empty when none).

Exit status: 0 no regression (warnings possible), 1 regression, 2 bad input.
"""
import argparse
import json
import math
import re
import sys

METRIC = "Mpairs/s"
THREADS_RE = re.compile(r"/threads:(\d+)")


def die(msg):
    print(f"compare_bench: {msg}", file=sys.stderr)
    sys.exit(2)


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
        try:
            v = metric_of(b)
        except (TypeError, ValueError):
            continue
        if math.isnan(v) or v <= 0:
            continue
        rows.setdefault(parse_key(name, b), []).append(v)
    if not rows:
        die(f"no benchmark results in {path}")
    return rows, doc.get("context", {})


def fmt_pct(x):
    return f"{x * 100:+.1f}%" if not math.isnan(x) else "n/a"


def label(key):
    impl, wl, thr = key
    return f"{impl}/{wl}/threads:{thr}"


class Measure:
    """One row of one file: normalised value, pairwise ratios, spreads."""

    def __init__(self, rows, key, ref, normalize):
        lf = rows[key]
        ref_key = (ref, key[1], key[2])
        if normalize and ref_key in rows:
            mu = rows[ref_key]
            self.value = median(lf) / median(mu)
            self.pairs = [a / b for a in lf for b in mu]
            self.spreads = [rel_spread(lf), rel_spread(mu)]
            self.mode = "norm"
        else:
            self.value = median(lf)
            self.pairs = list(lf)
            self.spreads = [rel_spread(lf)]
            self.mode = "raw" if not normalize else "raw (no reference row)"


def allowed_of(noise, args):
    return min(args.max_threshold, max(args.min_threshold, args.mad_k * noise))


def judge(base, new, args):
    """(change, allowed) of one new measurement against the baseline."""
    noise = math.sqrt(sum(s * s for s in base.spreads + new.spreads))
    change = new.value / base.value - 1.0 if base.value > 0 else float("nan")
    return change, allowed_of(noise, args)


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("baseline")
    ap.add_argument("new")
    ap.add_argument("--rerun", action="append", default=[], metavar="JSON",
                    help="a re-run of the flagged rows (repeat the option)")
    ap.add_argument("--rerun-filter-out", metavar="FILE",
                    help="write a --benchmark_filter for the flagged rows")
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
                    help="exit 2 when a baseline row is missing from the new run")
    args = ap.parse_args()
    normalize = not args.no_normalize

    base, _ = load(args.baseline)
    new, new_ctx = load(args.new)
    reruns = [load(p)[0] for p in args.rerun]

    gated = sorted(k for k in base if k[0].startswith(args.impl_prefix))
    if not gated:
        die(f"no '{args.impl_prefix}*' rows in {args.baseline}")

    print(f"baseline: {args.baseline}\nnew:      {args.new}")
    for p in args.rerun:
        print(f"re-run:   {p}")
    if new_ctx.get("lfpool_bench_injected_slowdown"):
        print("note: the new run was built with an injected slowdown")
    norm_desc = "raw Mpairs/s" if not normalize else \
        f"Mpairs/s / {args.reference} Mpairs/s (same run)"
    print(f"metric: median of repetitions, {norm_desc}\n")
    hdr = (f"{'benchmark':<34} {'base':>9} {'new':>9} {'change':>8} "
           f"{'allowed':>8}  verdict")
    print(hdr)
    print("-" * len(hdr))

    flagged = []
    missing = 0
    compared = 0
    for key in gated:
        if key not in new:
            missing += 1
            print(f"{label(key):<34} {'':>9} {'':>9} {'':>8} {'':>8}  MISSING in new run")
            continue
        b = Measure(base, key, args.reference, normalize)
        n = Measure(new, key, args.reference, normalize)
        change, allowed = judge(b, n, args)
        compared += 1
        if not math.isnan(change) and change < -allowed:
            verdict = "REGRESSION" if not reruns else "flagged"
            flagged.append(key)
        elif not math.isnan(change) and change > allowed:
            verdict = "improved"
        else:
            verdict = "ok"
        if n.mode != "norm":
            verdict += f" [{n.mode}]"
        print(f"{label(key):<34} {b.value:>9.3f} {n.value:>9.3f} {fmt_pct(change):>8} "
              f"{'-' + format(allowed * 100, '.1f') + '%':>8}  {verdict}")

    unbased = sorted(k for k in new if k[0].startswith(args.impl_prefix)
                     and k not in base)
    if unbased:
        print("\nnot in the baseline (not compared; refresh it with "
              "--update-baseline): " + ", ".join(label(k) for k in unbased))

    if args.rerun_filter_out:
        alts = []
        for impl, wl, thr in flagged:
            impls = impl if not normalize else f"{impl}|{args.reference}"
            alts.append(f"({impls})/{wl}/.*threads:{thr}")
        with open(args.rerun_filter_out, "w") as f:
            f.write(("^(" + "|".join(alts) + ")$\n") if alts else "")

    print()
    if compared == 0:
        print("FAIL: nothing to compare")
        return 2

    confirmed = []
    if reruns and flagged:
        print(f"re-check of the {len(flagged)} flagged rows: change in the first "
              f"run and in each of {len(reruns)} re-runs (each against its own "
              "allowed drop), then pooled over all runs")
        hdr2 = (f"{'benchmark':<34} {'runs (change/allowed)':<40} "
                f"{'pooled':>8} {'allowed':>8}  verdict")
        print(hdr2)
        print("-" * len(hdr2))
        for key in flagged:
            b = Measure(base, key, args.reference, normalize)
            runs = [Measure(new, key, args.reference, normalize)]
            for i, rr in enumerate(reruns):
                if key not in rr:
                    die(f"re-run {args.rerun[i]} lacks {label(key)}")
                runs.append(Measure(rr, key, args.reference, normalize))
            cells, repeated = [], True
            for m in runs:
                c, a = judge(b, m, args)
                cells.append(f"{fmt_pct(c)}/-{a * 100:.0f}%")
                if math.isnan(c) or c >= -a:
                    repeated = False
            pooled = [x for m in runs for x in m.pairs]
            bp = median(b.pairs)
            pchange = median(pooled) / bp - 1.0 if bp > 0 else float("nan")
            pnoise = math.hypot(rel_spread(pooled), rel_spread(b.pairs))
            pallowed = allowed_of(pnoise, args)
            beyond = not math.isnan(pchange) and pchange < -pallowed
            if repeated and beyond:
                verdict = "REGRESSION (repeated)"
                confirmed.append(key)
            elif not repeated:
                verdict = "warning: not repeated in every run (noise)"
            else:
                verdict = "warning: within the pooled noise"
            print(f"{label(key):<34} {' '.join(cells):<40} {fmt_pct(pchange):>8} "
                  f"{'-' + format(pallowed * 100, '.1f') + '%':>8}  {verdict}")
        print()
        for key in flagged:
            if key not in confirmed:
                print(f"WARN: {label(key)} dropped beyond its threshold in the "
                      "first run but the drop did not repeat beyond the "
                      "measured noise")
        if confirmed:
            print(f"FAIL: {len(confirmed)} of {compared} benchmarks regressed "
                  f"(repeated in {len(reruns) + 1} runs)")
            return 1
    elif flagged:
        print(f"FAIL: {len(flagged)} of {compared} benchmarks regressed")
        return 1

    if missing and args.require_all:
        print(f"ERROR: {missing} baseline benchmarks missing from the new run")
        return 2
    print(f"PASS: {compared} benchmarks within their thresholds"
          + (f", {len(flagged)} warnings" if flagged else "")
          + (f" ({missing} missing)" if missing else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

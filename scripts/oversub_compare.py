#!/usr/bin/env python3
"""Interleaved comparison of connection-pool (oversub8) rows across
lfpool_bench binaries or implementations: a quick A/B for the waiting
path, e.g. library builds with different LFP_HANDOFF_NS values
(scripts/handoff_compare.sh builds them).

  scripts/oversub_compare.py [--reps N] [--workload oversub8|oversub64]
      [--threads 10,16,64] [--seconds S] LABEL=BINARY:IMPL [...]

Each repetition runs every LABEL once (one process each, the start rotated
per repetition); printed per thread count and label: medians over the
repetitions of Mops/s, of the per-repetition ratio to the `condvar` label
(if one is given), fairness, acquire p99 / p99.9, max wait and voluntary
context switches per operation, over the repetitions whose row has
cpu_ok = 1 (bench/README.md, "Rejected rows"); `ok` says how many.
"""
import argparse
import json
import statistics
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--workload", choices=("oversub8", "oversub64"), default="oversub8")
    ap.add_argument("--threads", default=None,
                    help="thread counts (default 10,16,64; oversub64: 128)")
    ap.add_argument("--seconds", default="0.5")
    ap.add_argument("specs", nargs="+", metavar="LABEL=BINARY:IMPL")
    a = ap.parse_args()
    wl = a.workload
    threads = a.threads or ("10,16,64" if wl == "oversub8" else "128")
    specs = []
    for s in a.specs:
        label, sep, rest = s.partition("=")
        binary, sep2, impl = rest.rpartition(":")
        if not sep or not sep2 or not label or not impl:
            sys.exit(f"bad spec {s!r}: want LABEL=BINARY:IMPL")
        specs.append((label, binary, impl))
    res = {}
    for r in range(a.reps):
        k = r % len(specs)
        for label, binary, impl in specs[k:] + specs[:k]:
            p = subprocess.run(
                [binary, f"--lfpool_{wl}_threads={threads}",
                 f"--lfpool_oversub_seconds={a.seconds}",
                 f"--benchmark_filter=^{impl}/{wl}/", "--benchmark_format=json"],
                capture_output=True, text=True)
            if p.returncode != 0:
                sys.exit(f"{label}: {binary} failed:\n{p.stderr[-2000:]}")
            for b in json.loads(p.stdout)["benchmarks"]:
                if b.get("cpu_ok") == 1:
                    res.setdefault((label, b["threads"]), {})[r] = b
                else:
                    res.setdefault((label, b["threads"]), {})
    med = statistics.median
    print(f"{wl}: {a.reps} repetitions, {a.seconds} s rows; medians")
    print("threads label        Mops/s  ÷condvar  fairness  p99 ns  p99.9 ns  max wait  vcs/op   ok")
    for t in sorted({k[1] for k in res}):
        base = res.get(("condvar", t), {})
        for label, _, _ in specs:
            byrep = res.get((label, t), {})
            rows = list(byrep.values())
            if not rows:
                if (label, t) in res:
                    print(f"{t:7d} {label:12s} no accepted repetition")
                continue
            m = [b["Mpairs/s"] for b in rows]
            rs = [b["Mpairs/s"] / base[k]["Mpairs/s"] for k, b in byrep.items() if k in base]
            ratio = med(rs) if rs else float("nan")
            print(f"{t:7d} {label:12s} {med(m):6.3f}  {ratio:7.2f}x  "
                  f"{med([b['fairness'] for b in rows]):8.3f}  "
                  f"{med([b.get('p99_ns', 0) for b in rows]):6.0f}  "
                  f"{med([b.get('p999_ns', 0) for b in rows]):8.0f}  "
                  f"{med([b.get('max_wait_ns', 0) for b in rows]) / 1e6:6.1f} ms  "
                  f"{med([b['nvcsw_per_op'] for b in rows]):.1e}  "
                  f"{len(rows)}/{a.reps}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Turn a results/<machine>/ directory of Google Benchmark JSON files into
results.csv, README.md (Markdown tables with ratios to the mutex pool and to
glibc malloc of the same run) and PNG plots.

usage: plot_results.py RESULTS_DIR [--no-plots]

Reads every *.json in RESULTS_DIR written by lfpool_bench (scripts/bench.sh
does this), takes the median over repetitions of each benchmark and writes:
  results.csv              impl,workload,threads,mpairs_s,ns_pair_thread,
                           p50_ns,p99_ns,p999_ns,reps,spread_pct,source
  README.md                tables per workload
  throughput_<wl>.png      Mpairs/s vs threads, one line per implementation
  throughput_overview.png  all workloads in one figure
  latency_oversub.png      acquire latency p50/p99/p99.9, oversubscribed pool
Plots need matplotlib (Agg backend); CSV and Markdown need only the stdlib.
"""
import argparse
import csv
import glob
import json
import math
import os
import re
import sys

IMPL_ORDER = ["lfpool", "lfpool_nocache", "mutex", "ck_dwcas", "ck_hp",
              "malloc", "mimalloc", "jemalloc", "tcmalloc", "tls_array"]
WL_ORDER = ["burst16", "burst64", "burst1", "pair", "xthread", "work", "oversub"]
WL_DESC = {
    "pair": "acquire + release, object untouched",
    "burst1": "acquire 1, write a word, release (loop overhead dominates)",
    "burst16": "acquire 16, write a word into each, release 16 "
               "(the anchors' pattern: 4096 x 64-byte pool)",
    "burst64": "acquire 64, write a word into each, release 64",
    "xthread": "cross-thread release: producers acquire and pass objects "
               "through an SPSC ring to consumers, which release",
    "work": "acquire, a few hundred ns of computation on the object, release",
    "oversub": "capacity 8, more threads than objects, blocking acquire; "
               "latency of acquire",
}
THREADS_RE = re.compile(r"/threads:(\d+)")


def median(xs):
    s = sorted(x for x in xs if x is not None and not math.isnan(x))
    if not s:
        return None
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def spread_pct(xs):
    m = median(xs)
    if m is None or m == 0 or len(xs) < 3:
        return None
    return 100 * 1.4826 * median([abs(x - m) for x in xs]) / m


def order_key(name, order):
    return (order.index(name), name) if name in order else (len(order), name)


def load_dir(d):
    runs = {}  # (impl, wl, threads) -> {"source": f, metric: [values]}
    for path in sorted(glob.glob(os.path.join(d, "*.json"))):
        try:
            with open(path) as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            print(f"plot_results: skipping {path}: {e}", file=sys.stderr)
            continue
        if not isinstance(doc, dict) or "benchmarks" not in doc:
            continue
        for b in doc["benchmarks"]:
            if b.get("run_type", "iteration") != "iteration" or b.get("error_occurred"):
                continue
            name = b.get("run_name", b.get("name", ""))
            parts = name.split("/")
            if len(parts) < 2 or "Mpairs/s" not in b:
                continue
            m = THREADS_RE.search(name)
            key = (parts[0], parts[1], int(m.group(1)) if m else int(b.get("threads", 1)))
            r = runs.setdefault(key, {"source": os.path.basename(path)})
            for field, col in (("Mpairs/s", "mpairs_s"),
                               ("ns_per_pair_thread", "ns_pair_thread"),
                               ("p50_ns", "p50_ns"), ("p99_ns", "p99_ns"),
                               ("p999_ns", "p999_ns")):
                if field in b:
                    r.setdefault(col, []).append(float(b[field]))
    rows = []
    for (impl, wl, thr), r in runs.items():
        row = {"impl": impl, "workload": wl, "threads": thr,
               "reps": len(r.get("mpairs_s", [])), "source": r["source"]}
        for col in ("mpairs_s", "ns_pair_thread", "p50_ns", "p99_ns", "p999_ns"):
            row[col] = median(r.get(col, []))
        row["spread_pct"] = spread_pct(r.get("mpairs_s", []))
        rows.append(row)
    rows.sort(key=lambda x: (order_key(x["workload"], WL_ORDER),
                             order_key(x["impl"], IMPL_ORDER), x["threads"]))
    return rows


def fmt(x, digits=2):
    if x is None:
        return ""
    if digits == 0 or abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 100:
        return f"{x:.1f}"
    return f"{x:.{digits}f}"


def write_csv(rows, path):
    cols = ["impl", "workload", "threads", "mpairs_s", "ns_pair_thread",
            "p50_ns", "p99_ns", "p999_ns", "reps", "spread_pct", "source"]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for r in rows:
            w.writerow([("" if r[c] is None else
                         (f"{r[c]:.4f}" if isinstance(r[c], float) else r[c]))
                        for c in cols])


def ratio(rows_by_key, row, ref_impl):
    ref = rows_by_key.get((ref_impl, row["workload"], row["threads"]))
    if not ref or not ref["mpairs_s"] or row["mpairs_s"] is None:
        return ""
    return f"{row['mpairs_s'] / ref['mpairs_s']:.2f}x"


def write_readme(rows, d, machine, plots):
    by_key = {(r["impl"], r["workload"], r["threads"]): r for r in rows}
    workloads = sorted({r["workload"] for r in rows}, key=lambda w: order_key(w, WL_ORDER))
    out = [f"# lfpool benchmark results: {machine}", ""]
    out += ["Generated by `scripts/bench.sh` (Google Benchmark JSON in this directory, "
            "merged by `scripts/plot_results.py`). Do not edit by hand: rerun the script.",
            "", "Each figure is the median over the benchmark's repetitions. "
            "`Mpairs/s` = million acquire+release pairs per second, all threads together; "
            "`ns/pair/thread` = wall-clock nanoseconds per pair per thread; "
            "`vs mutex` and `vs malloc` divide by the mutex pool and by glibc malloc/free "
            "measured in the same run, same workload and thread count. "
            "`spread` = 1.4826 x MAD / median over repetitions.", ""]
    mt = os.path.join(d, "machine.txt")
    if os.path.exists(mt):
        with open(mt) as f:
            out += ["## Machine", "", "```", f.read().rstrip(), "```", ""]

    head = "burst16" if "burst16" in workloads else (workloads[0] if workloads else None)
    if head:
        thr = sorted({r["threads"] for r in rows if r["workload"] == head})
        impls = sorted({r["impl"] for r in rows if r["workload"] == head},
                       key=lambda i: order_key(i, IMPL_ORDER))
        out += [f"## Headline: `{head}`, Mpairs/s by thread count", "",
                WL_DESC.get(head, ""), "",
                "| impl | " + " | ".join(f"{t} thr" for t in thr) + " |",
                "|---|" + "---:|" * len(thr)]
        for i in impls:
            cells = [fmt(by_key[(i, head, t)]["mpairs_s"]) if (i, head, t) in by_key else ""
                     for t in thr]
            out.append(f"| {i} | " + " | ".join(cells) + " |")
        out.append("")

    for wl in workloads:
        wrows = [r for r in rows if r["workload"] == wl]
        out += [f"## `{wl}`", "", WL_DESC.get(wl, ""), ""]
        if wl == "oversub":
            out += ["| impl | threads | Mpairs/s | ns/pair/thread | acquire p50 ns | "
                    "p99 ns | p99.9 ns | vs mutex | reps | spread |",
                    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
            for r in wrows:
                out.append(f"| {r['impl']} | {r['threads']} | {fmt(r['mpairs_s'])} | "
                           f"{fmt(r['ns_pair_thread'], 1)} | {fmt(r['p50_ns'], 0)} | "
                           f"{fmt(r['p99_ns'], 0)} | {fmt(r['p999_ns'], 0)} | "
                           f"{ratio(by_key, r, 'mutex')} | {r['reps']} | "
                           f"{fmt(r['spread_pct'], 1)}{'%' if r['spread_pct'] is not None else ''} |")
        else:
            out += ["| impl | threads | Mpairs/s | ns/pair/thread | vs mutex | vs malloc "
                    "| reps | spread |",
                    "|---|---:|---:|---:|---:|---:|---:|---:|"]
            for r in wrows:
                out.append(f"| {r['impl']} | {r['threads']} | {fmt(r['mpairs_s'])} | "
                           f"{fmt(r['ns_pair_thread'])} | {ratio(by_key, r, 'mutex')} | "
                           f"{ratio(by_key, r, 'malloc')} | {r['reps']} | "
                           f"{fmt(r['spread_pct'], 1)}{'%' if r['spread_pct'] is not None else ''} |")
        out.append("")
    if plots:
        out += ["## Plots", ""]
        out += [f"![{p}]({p})" for p in plots]
        out.append("")
    out += ["Files: `results.csv` (all rows), `*.json` (raw Google Benchmark output; "
            "`bench_alloc_*.json` are runs of the same binary under LD_PRELOAD), "
            "`machine.txt`.", ""]
    with open(os.path.join(d, "README.md"), "w") as f:
        f.write("\n".join(out))


def make_plots(rows, d):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plot_results: matplotlib not available, skipping plots "
              "(apt-get install python3-matplotlib)", file=sys.stderr)
        return []
    styles = {}
    cmap = plt.get_cmap("tab10")
    for i, impl in enumerate(IMPL_ORDER):
        styles[impl] = dict(color=cmap(i % 10), marker="os^vD<>ph*"[i % 10],
                            linestyle=":" if impl == "tls_array" else "-",
                            linewidth=2.5 if impl == "lfpool" else 1.3)
    workloads = sorted({r["workload"] for r in rows}, key=lambda w: order_key(w, WL_ORDER))
    written = []

    def draw(ax, wl):
        impls = sorted({r["impl"] for r in rows if r["workload"] == wl},
                       key=lambda i: order_key(i, IMPL_ORDER))
        for impl in impls:
            pts = sorted((r["threads"], r["mpairs_s"]) for r in rows
                         if r["workload"] == wl and r["impl"] == impl and r["mpairs_s"])
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], label=impl,
                        **styles.get(impl, {}))
        thr = sorted({r["threads"] for r in rows if r["workload"] == wl})
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(thr)
        ax.set_xticklabels([str(t) for t in thr])
        ax.set_xlabel("threads")
        ax.set_ylabel("Mpairs/s (total)")
        ax.set_title(wl)
        ax.grid(True, which="both", alpha=0.3)

    for wl in workloads:
        if wl == "oversub":
            continue
        fig, ax = plt.subplots(figsize=(7, 4.5))
        draw(ax, wl)
        ax.legend(fontsize=8, loc="best")
        fig.tight_layout()
        name = f"throughput_{wl}.png"
        fig.savefig(os.path.join(d, name), dpi=110)
        plt.close(fig)
        written.append(name)

    scal = [w for w in workloads if w != "oversub"]
    if scal:
        cols = min(3, len(scal))
        nr = (len(scal) + cols - 1) // cols
        fig, axes = plt.subplots(nr, cols, figsize=(5 * cols, 3.8 * nr), squeeze=False)
        for i, wl in enumerate(scal):
            draw(axes[i // cols][i % cols], wl)
        for j in range(len(scal), nr * cols):
            axes[j // cols][j % cols].axis("off")
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=min(9, len(labels)), fontsize=8)
        fig.tight_layout(rect=(0, 0.05, 1, 1))
        fig.savefig(os.path.join(d, "throughput_overview.png"), dpi=100)
        plt.close(fig)
        written.append("throughput_overview.png")

    lat = [r for r in rows if r["workload"] == "oversub" and r["p50_ns"] is not None]
    if lat:
        thr = sorted({r["threads"] for r in lat})
        fig, axes = plt.subplots(1, len(thr), figsize=(6 * len(thr), 4.5), squeeze=False)
        for k, t in enumerate(thr):
            ax = axes[0][k]
            rs = sorted((r for r in lat if r["threads"] == t),
                        key=lambda r: order_key(r["impl"], IMPL_ORDER))
            width = 0.27
            for j, (col, lab) in enumerate((("p50_ns", "p50"), ("p99_ns", "p99"),
                                            ("p999_ns", "p99.9"))):
                ax.bar([i + (j - 1) * width for i in range(len(rs))],
                       [max(r[col], 1) for r in rs], width, label=lab)
            ax.set_xticks(range(len(rs)))
            ax.set_xticklabels([r["impl"] for r in rs], rotation=20)
            ax.set_yscale("log")
            ax.set_ylabel("acquire latency, ns")
            ax.set_title(f"oversubscribed pool (capacity 8), {t} threads")
            ax.grid(True, axis="y", which="both", alpha=0.3)
            ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(os.path.join(d, "latency_oversub.png"), dpi=110)
        plt.close(fig)
        written.append("latency_oversub.png")
    return written


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results_dir")
    ap.add_argument("--no-plots", action="store_true")
    ap.add_argument("--machine", help="name for the README title (default: dir name)")
    args = ap.parse_args()
    d = args.results_dir
    rows = load_dir(d)
    if not rows:
        print(f"plot_results: no lfpool_bench results in {d}", file=sys.stderr)
        return 1
    write_csv(rows, os.path.join(d, "results.csv"))
    plots = [] if args.no_plots else make_plots(rows, d)
    write_readme(rows, d, args.machine or os.path.basename(os.path.abspath(d)), plots)
    print(f"plot_results: {len(rows)} rows -> {d}/results.csv, README.md"
          + (f", {len(plots)} plots" if plots else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Summarise a results/<machine>/ directory written by scripts/bench.sh.

usage: plot_results.py RESULTS_DIR [--machine NAME] [--no-plots] [--print]

Reads RESULTS_DIR/runs.jsonl (one Google Benchmark JSON document per line,
one per lfpool_bench process; the repetition number is the context field
lfpool_rep) and writes:
  bench_all.json          the accepted rows in one Google Benchmark JSON
                          document (for Google Benchmark's compare.py)
  reps.csv                every repetition of every point, with its CPU
                          counters and whether it was accepted
  results.csv             per point: medians over the accepted repetitions,
                          median of the per-repetition ratios to lfpool
  README.md               Markdown summary: headline tables, one table per
                          workload, the rejected repetitions listed apart
  throughput_<wl>.png, throughput_overview.png, oversub_<wl>.png
A repetition is accepted when its row has cpu_ok = 1 (bench/README.md gives
the rule); rejected ones appear only in reps.csv and in the README's
"Rejected" section, never in medians, ratios, tables or plots.
Plots need matplotlib (Agg); everything else only the standard library.
"""
import argparse
import csv
import json
import math
import os
import re
import sys

IMPL_ORDER = ["lfpool", "lfpool_bulk", "lfpool_nocache", "dpdk", "dpdk_bulk",
              "mutex", "condvar", "sem", "ck_dwcas", "ck_hp", "malloc",
              "mimalloc", "jemalloc", "tcmalloc", "tls_array"]
WL_ORDER = ["burst16", "burst64", "burst1", "pair", "xthread", "work",
            "oversub8", "oversub64"]
WL_DESC = {
    "pair": "acquire + release, object untouched",
    "burst1": "acquire 1, write a word, release (loop overhead dominates)",
    "burst16": "acquire 16, write a word into each, release 16 "
               "(the anchors' pattern: 4096 x 64-byte pool)",
    "burst64": "acquire 64, write a word into each, release 64",
    "xthread": "cross-thread release: producers acquire and pass objects "
               "through an SPSC ring to consumers, which release",
    "work": "acquire, ~300 ns of computation on the object, release",
    "oversub8": "connection-pool regime: capacity 8, more threads than "
                "objects, blocking acquire, ~1 us of work while holding",
    "oversub64": "connection-pool regime: capacity 64, blocking acquire, "
                 "~1 us of work while holding",
}
METRICS = ["Mpairs/s", "ns_per_pair_thread", "items_per_second",
           "cpu_share_min", "run_share_min", "cpu_others", "loadavg1",
           "cpu_ok", "nvcsw_per_op", "retries", "p50_ns", "p99_ns",
           "p999_ns", "max_wait_ns", "fairness", "lat_samples", "cpu_first"]
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


def okey(name, order):
    return (order.index(name), name) if name in order else (len(order), name)


def is_oversub(wl):
    return wl.startswith("oversub")


def load_runs(d):
    """Repetition rows and the documents they came from."""
    path = os.path.join(d, "runs.jsonl")
    reps, docs = [], []
    with open(path) as f:
        for ln, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
            except ValueError as e:
                print(f"plot_results: {path}:{ln}: {e}", file=sys.stderr)
                continue
            docs.append(doc)
            ctx = doc.get("context", {})
            rep = int(ctx.get("lfpool_rep", 1))
            for b in doc.get("benchmarks", []):
                if b.get("run_type", "iteration") != "iteration":
                    continue
                name = b.get("run_name", b.get("name", ""))
                parts = name.split("/")
                m = THREADS_RE.search(name)
                if len(parts) < 2:
                    continue
                r = {"impl": parts[0], "workload": parts[1], "rep": rep,
                     "threads": int(m.group(1)) if m else int(b.get("threads", 1)),
                     "error": b.get("error_message") if b.get("error_occurred") else None}
                for k in METRICS:
                    r[k] = float(b[k]) if k in b else None
                r["ok"] = r["error"] is None and r["cpu_ok"] == 1.0
                reps.append(r)
    return reps, docs


def summarise(reps):
    """Points (impl, workload, threads) from the accepted repetitions."""
    groups = {}
    for r in reps:
        groups.setdefault((r["impl"], r["workload"], r["threads"]), []).append(r)
    by_rep = {(r["impl"], r["workload"], r["threads"], r["rep"]): r
              for r in reps if r["ok"]}
    points = []
    for (impl, wl, thr), rs in groups.items():
        ok = [r for r in rs if r["ok"]]
        if not ok:
            continue
        p = {"impl": impl, "workload": wl, "threads": thr,
             "reps_ok": len(ok), "reps_total": len(rs)}
        for k in METRICS:
            p[k] = median([r[k] for r in ok if r[k] is not None])
        p["spread_pct"] = spread_pct([r["Mpairs/s"] for r in ok])
        for ref in ("lfpool", "lfpool_bulk"):
            ratios = []
            for r in ok:
                o = by_rep.get((ref, wl, thr, r["rep"]))
                if o and r["Mpairs/s"]:
                    ratios.append(o["Mpairs/s"] / r["Mpairs/s"])
            p[f"{ref}_ratio"] = median(ratios) if impl != ref else None
            p[f"{ref}_ratio_n"] = len(ratios) if impl != ref else 0
        points.append(p)
    points.sort(key=lambda p: (okey(p["workload"], WL_ORDER),
                               okey(p["impl"], IMPL_ORDER), p["threads"]))
    return points


def fmt(x, digits=2):
    if x is None:
        return ""
    if x != 0 and abs(x) < 10 ** -digits:
        return f"{x:.1e}"
    if digits == 0 or abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 100:
        return f"{x:.1f}"
    return f"{x:.{digits}f}"


def fmt_ns(x):
    if x is None:
        return ""
    if x >= 1e6:
        return f"{x / 1e6:.2f} ms"
    if x >= 1e3:
        return f"{x / 1e3:.1f} us"
    return f"{x:.0f} ns"


def fmt_ratio(p, ref="lfpool"):
    r = p.get(f"{ref}_ratio")
    return "" if r is None else f"{r:.2f}x"


def write_csvs(reps, points, d):
    cols = ["impl", "workload", "threads", "rep", "accepted", "error"] + METRICS
    with open(os.path.join(d, "reps.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for r in sorted(reps, key=lambda r: (okey(r["workload"], WL_ORDER),
                                             okey(r["impl"], IMPL_ORDER),
                                             r["threads"], r["rep"])):
            w.writerow([r["impl"], r["workload"], r["threads"], r["rep"],
                        int(r["ok"]), r["error"] or ""] +
                       ["" if r[k] is None else f"{r[k]:.6g}" for k in METRICS])
    cols = ["impl", "workload", "threads", "reps_ok", "reps_total", "Mpairs/s",
            "ns_per_pair_thread", "lfpool_ratio", "lfpool_ratio_n",
            "lfpool_bulk_ratio", "spread_pct", "p50_ns", "p99_ns", "p999_ns",
            "max_wait_ns", "fairness", "nvcsw_per_op", "retries",
            "cpu_share_min", "run_share_min", "cpu_others", "loadavg1"]
    with open(os.path.join(d, "results.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for p in points:
            w.writerow(["" if p.get(c) is None else
                        (f"{p[c]:.6g}" if isinstance(p[c], float) else p[c])
                        for c in cols])


def write_merged_json(docs, d):
    """The accepted rows in one Google Benchmark document; the repetition
    number becomes repetition_index, so compare.py sees repetitions."""
    if not docs:
        return
    ctx = dict(docs[0].get("context", {}))
    ctx.pop("lfpool_rep", None)
    ctx["lfpool_bench_merged_from"] = f"{len(docs)} runs (runs.jsonl)"
    reps = max(int(x.get("context", {}).get("lfpool_rep", 1)) for x in docs)
    rows = []
    for doc in docs:
        rep = int(doc.get("context", {}).get("lfpool_rep", 1))
        for b in doc.get("benchmarks", []):
            if b.get("error_occurred") or b.get("cpu_ok") != 1:
                continue  # rejected (see summarise): not for comparisons
            b = dict(b)
            b["repetition_index"] = rep - 1
            b["repetitions"] = reps
            rows.append(b)
    with open(os.path.join(d, "bench_all.json"), "w") as f:
        json.dump({"context": ctx, "benchmarks": rows}, f, indent=1)


def table_threads(points, wl, value, ref_row=False):
    """Markdown lines: one row per implementation, one column per thread
    count, cells `value(point)`."""
    ps = [p for p in points if p["workload"] == wl]
    thr = sorted({p["threads"] for p in ps})
    impls = sorted({p["impl"] for p in ps}, key=lambda i: okey(i, IMPL_ORDER))
    by = {(p["impl"], p["threads"]): p for p in ps}
    out = ["| impl | " + " | ".join(f"{t} thr" for t in thr) + " |",
           "|---|" + "---:|" * len(thr)]
    for i in impls:
        if ref_row and i == "lfpool":
            continue
        out.append(f"| {i} | " + " | ".join(
            value(by[(i, t)]) if (i, t) in by else "" for t in thr) + " |")
    return out


def oversub_table(ps):
    out = ["| impl | threads | Mops/s | acquire p50 | p99 | p99.9 | max wait | "
           "fairness (min/max ops) | vol. cs/op | lfpool ÷ impl | reps ok |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for p in ps:
        out.append(f"| {p['impl']} | {p['threads']} | {fmt(p['Mpairs/s'], 3)} | "
                   f"{fmt_ns(p['p50_ns'])} | {fmt_ns(p['p99_ns'])} | "
                   f"{fmt_ns(p['p999_ns'])} | {fmt_ns(p['max_wait_ns'])} | "
                   f"{fmt(p['fairness'], 3)} | {fmt(p['nvcsw_per_op'], 3)} | "
                   f"{fmt_ratio(p)} | {p['reps_ok']}/{p['reps_total']} |")
    return out


def throughput_table(ps, bulk):
    head = ("| impl | threads | Mpairs/s | ns/pair/thread | lfpool ÷ impl | "
            + ("lfpool_bulk ÷ impl | " if bulk else "")
            + "reps ok | spread | cpu share min |")
    out = [head, "|---|" + "---:|" * (head.count("|") - 2)]
    for p in ps:
        sp = p["spread_pct"]
        out.append(f"| {p['impl']} | {p['threads']} | {fmt(p['Mpairs/s'])} | "
                   f"{fmt(p['ns_per_pair_thread'])} | {fmt_ratio(p)} | "
                   + (f"{fmt_ratio(p, 'lfpool_bulk')} | " if bulk else "")
                   + f"{p['reps_ok']}/{p['reps_total']} | "
                   f"{'' if sp is None else fmt(sp, 1) + '%'} | "
                   f"{fmt(p['cpu_share_min'])} |")
    return out


def headline(points):
    out = []
    wls = {p["workload"] for p in points}
    if "burst16" in wls:
        out += ["## Headline: `burst16`, Mpairs/s (median of accepted repetitions)",
                "", WL_DESC["burst16"], ""]
        out += table_threads(points, "burst16", lambda p: fmt(p["Mpairs/s"]))
        out += ["", "lfpool ÷ competitor, median of the per-repetition ratios "
                "(both rows accepted in the same repetition):", ""]
        out += table_threads(points, "burst16", fmt_ratio, ref_row=True)
        out.append("")
    for wl in ("oversub8", "oversub64"):
        ps = [p for p in points if p["workload"] == wl]
        if ps:
            out += [f"## Headline: `{wl}`", "", WL_DESC[wl], ""]
            out += oversub_table(ps)
            out.append("")
    return out


def write_readme(reps, points, d, machine, plots):
    out = [f"# lfpool benchmark results: {machine}", "",
           "Generated by `scripts/bench.sh` (raw Google Benchmark JSON in "
           "`runs.jsonl`, one document per process) and `scripts/plot_results.py`. "
           "Do not edit by hand: rerun the script.", "",
           "Competitors run interleaved: every repetition runs each workload once "
           "per competitor, one process each, in a start order rotated per "
           "repetition. Figures are medians over the accepted repetitions; "
           "`lfpool ÷ impl` is the median over repetitions of lfpool's throughput "
           "divided by the competitor's in the same repetition (above 1: lfpool "
           "is faster). `Mpairs/s` = million acquire+release pairs per second, all "
           "threads together; `spread` = 1.4826 x MAD / median.", "",
           "A repetition is rejected (kept out of every table, ratio and plot, "
           "listed under *Rejected* below) when its row has `cpu_ok = 0`: with no "
           "more threads than CPUs, some worker ran less than 90% of the time it "
           "was runnable; with more threads than CPUs, other processes took more "
           "than 10% of the machine's CPU time during the row "
           "(see bench/README.md).", ""]
    mt = os.path.join(d, "machine.txt")
    if os.path.exists(mt):
        with open(mt) as f:
            out += ["## Machine", "", "```", f.read().rstrip(), "```", ""]
    out += headline(points)
    workloads = sorted({p["workload"] for p in points}, key=lambda w: okey(w, WL_ORDER))
    for wl in workloads:
        ps = [p for p in points if p["workload"] == wl]
        out += [f"## `{wl}`", "", WL_DESC.get(wl, ""), ""]
        if is_oversub(wl):
            out += oversub_table(ps)
        else:
            out += throughput_table(ps, bulk=wl.startswith("burst"))
        out.append("")
    rejected = [r for r in reps if not r["ok"]]
    out += ["## Rejected repetitions", ""]
    if rejected:
        out += ["| impl | workload | threads | rep | Mpairs/s (not used) | cpu share min | "
                "run share min | others' CPU | load avg | reason |",
                "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
        for r in sorted(rejected, key=lambda r: (okey(r["workload"], WL_ORDER),
                                                 okey(r["impl"], IMPL_ORDER),
                                                 r["threads"], r["rep"])):
            reason = r["error"] or ("no cpu_ok counter" if r["cpu_ok"] is None
                                    else "cpu_ok = 0")
            others = r["cpu_others"]
            out.append(f"| {r['impl']} | {r['workload']} | {r['threads']} | {r['rep']} | "
                       f"{fmt(r['Mpairs/s'])} | {fmt(r['cpu_share_min'])} | "
                       f"{fmt(r['run_share_min'])} | "
                       f"{'' if others is None or others < 0 else f'{100 * others:.0f}%'} | "
                       f"{fmt(r['loadavg1'])} | {reason} |")
        accepted = {(p["impl"], p["workload"], p["threads"]) for p in points}
        lost = sorted({(r["impl"], r["workload"], r["threads"]) for r in rejected} - accepted,
                      key=lambda k: (okey(k[1], WL_ORDER), okey(k[0], IMPL_ORDER), k[2]))
        if lost:
            out += ["", "Points with no accepted repetition (absent from the tables): "
                    + ", ".join(f"`{i}/{w}` {t} thr" for i, w, t in lost) + "."]
    else:
        out.append("None.")
    out.append("")
    if plots:
        out += ["## Plots", ""] + [f"![{p}]({p})" for p in plots] + [""]
    out += ["Files: `runs.jsonl` (raw, every row), `bench_all.json` (the accepted rows as "
            "one Google Benchmark document), `reps.csv` (every repetition), `results.csv` "
            "(accepted medians), `machine.txt`.", ""]
    with open(os.path.join(d, "README.md"), "w") as f:
        f.write("\n".join(out))


def make_plots(points, d):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plot_results: matplotlib not available, skipping plots "
              "(apt-get install python3-matplotlib)", file=sys.stderr)
        return []
    cmap = plt.get_cmap("tab20")
    styles = {impl: dict(color=cmap(i % 20), marker="os^vD<>ph*xP"[i % 12],
                         linestyle=":" if impl == "tls_array" else "-",
                         linewidth=2.5 if impl.startswith("lfpool") else 1.3)
              for i, impl in enumerate(IMPL_ORDER)}
    workloads = sorted({p["workload"] for p in points}, key=lambda w: okey(w, WL_ORDER))
    written = []

    def draw(ax, wl):
        ps = [p for p in points if p["workload"] == wl]
        for impl in sorted({p["impl"] for p in ps}, key=lambda i: okey(i, IMPL_ORDER)):
            pts = sorted((p["threads"], p["Mpairs/s"]) for p in ps
                         if p["impl"] == impl and p["Mpairs/s"])
            if pts:
                ax.plot([x for x, _ in pts], [y for _, y in pts], label=impl,
                        **styles.get(impl, {}))
        thr = sorted({p["threads"] for p in ps})
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(thr)
        ax.set_xticklabels([str(t) for t in thr])
        ax.set_xlabel("threads")
        ax.set_ylabel("Mpairs/s (total)")
        ax.set_title(wl)
        ax.grid(True, which="both", alpha=0.3)

    scal = [w for w in workloads if not is_oversub(w)]
    for wl in scal:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        draw(ax, wl)
        ax.legend(fontsize=8, loc="best")
        fig.tight_layout()
        fig.savefig(os.path.join(d, f"throughput_{wl}.png"), dpi=110)
        plt.close(fig)
        written.append(f"throughput_{wl}.png")
    if len(scal) > 1:
        cols = min(3, len(scal))
        nr = (len(scal) + cols - 1) // cols
        fig, axes = plt.subplots(nr, cols, figsize=(5 * cols, 3.8 * nr), squeeze=False)
        for i, wl in enumerate(scal):
            draw(axes[i // cols][i % cols], wl)
        for j in range(len(scal), nr * cols):
            axes[j // cols][j % cols].axis("off")
        handles, labels = {}, []
        for ax in axes.flat:
            for h, lab in zip(*ax.get_legend_handles_labels()):
                if lab not in handles:
                    handles[lab] = h
                    labels.append(lab)
        fig.legend([handles[x] for x in labels], labels, loc="lower center",
                   ncol=min(8, len(labels)), fontsize=8)
        fig.tight_layout(rect=(0, 0.07, 1, 1))
        fig.savefig(os.path.join(d, "throughput_overview.png"), dpi=100)
        plt.close(fig)
        written.append("throughput_overview.png")

    for wl in [w for w in workloads if is_oversub(w)]:
        ps = [p for p in points if p["workload"] == wl]
        thr = sorted({p["threads"] for p in ps})
        fig, axes = plt.subplots(2, len(thr), figsize=(5.5 * len(thr), 8), squeeze=False)
        for k, t in enumerate(thr):
            rs = sorted((p for p in ps if p["threads"] == t),
                        key=lambda p: okey(p["impl"], IMPL_ORDER))
            x = range(len(rs))
            ax = axes[0][k]
            width = 0.2
            for j, (col, lab) in enumerate((("p50_ns", "p50"), ("p99_ns", "p99"),
                                            ("p999_ns", "p99.9"), ("max_wait_ns", "max"))):
                ax.bar([i + (j - 1.5) * width for i in x],
                       [max(p[col] or 1, 1) for p in rs], width, label=lab)
            ax.set_xticks(list(x))
            ax.set_xticklabels([p["impl"] for p in rs], rotation=25, fontsize=8)
            ax.set_yscale("log")
            ax.set_ylabel("acquire wait, ns")
            ax.set_title(f"{wl}, {t} threads: acquire latency")
            ax.grid(True, axis="y", which="both", alpha=0.3)
            ax.legend(fontsize=7)
            ax = axes[1][k]
            ax.bar(list(x), [p["Mpairs/s"] or 0 for p in rs],
                   color=[styles.get(p["impl"], {}).get("color") for p in rs])
            for i, p in zip(x, rs):
                ax.annotate(f"fair {fmt(p['fairness'], 2)}", (i, p["Mpairs/s"] or 0),
                            ha="center", va="bottom", fontsize=7)
            ax.set_xticks(list(x))
            ax.set_xticklabels([p["impl"] for p in rs], rotation=25, fontsize=8)
            ax.set_ylabel("Mops/s")
            ax.set_title(f"{wl}, {t} threads: throughput, fairness")
            ax.grid(True, axis="y", alpha=0.3)
        fig.tight_layout()
        fig.savefig(os.path.join(d, f"{wl}.png"), dpi=100)
        plt.close(fig)
        written.append(f"{wl}.png")
    return written


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results_dir")
    ap.add_argument("--no-plots", action="store_true")
    ap.add_argument("--print", action="store_true",
                    help="print the headline tables to stdout")
    ap.add_argument("--machine", help="name for the README title (default: dir name)")
    args = ap.parse_args()
    d = args.results_dir
    if not os.path.exists(os.path.join(d, "runs.jsonl")):
        print(f"plot_results: no runs.jsonl in {d}", file=sys.stderr)
        return 1
    reps, docs = load_runs(d)
    if not reps:
        print(f"plot_results: no lfpool_bench rows in {d}/runs.jsonl", file=sys.stderr)
        return 1
    points = summarise(reps)
    write_csvs(reps, points, d)
    write_merged_json(docs, d)
    plots = [] if args.no_plots else make_plots(points, d)
    write_readme(reps, points, d, args.machine or os.path.basename(os.path.abspath(d)), plots)
    rej = sum(1 for r in reps if not r["ok"])
    if args.print:
        print("\n".join(headline(points)))
    print(f"plot_results: {len(reps)} rows ({rej} rejected), {len(points)} points -> "
          f"{d}/README.md, results.csv, reps.csv, bench_all.json"
          + (f", {len(plots)} plots" if plots else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

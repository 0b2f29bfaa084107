#!/usr/bin/env python3
"""Reads the JSON lines of bench/run_torch.sh (both implementations, all rounds) and writes
the results markdown: medians, spreads (p25-p75 and min-max over all samples), per-round
medians, and the ratio binding / PyTorch, for wall time and for process CPU time.
Standard library only.

    python3 bench/python/summarize_torch.py RUNS.jsonl OUT.md "how it was run"
"""
import json
import statistics
import sys


def q(xs, p):
    s = sorted(xs)
    pos = p * (len(s) - 1)
    lo, hi = int(pos), min(int(pos) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def table(runs, benches, key, title):
    lines = [f"### {title}", "",
             "| benchmark | unit | binding median | binding p25-p75 (min-max) | PyTorch median | PyTorch p25-p75 (min-max) | ratio binding / PyTorch |",
             "|---|---|---|---|---|---|---|"]
    rounds_txt = []
    for b in benches:
        per, rounds, unit = {}, {}, ""
        for r in runs:
            if r["bench"] != b or key not in r:
                continue
            unit = r["unit"]
            per.setdefault(r["impl"], []).extend(r[key])
            rounds.setdefault(r["impl"], []).append(statistics.median(r[key]))
        h, p = per.get("hybrid", []), per.get("pytorch", [])
        if not h or not p:
            continue
        mh, mp = statistics.median(h), statistics.median(p)
        f = (lambda v: f"{v:.0f}") if unit.startswith("ns") else (lambda v: f"{v:.1f}")
        lines.append(f"| {b} | {unit} | **{f(mh)}** | {f(q(h, .25))}-{f(q(h, .75))} ({f(min(h))}-{f(max(h))}) | "
                     f"**{f(mp)}** | {f(q(p, .25))}-{f(q(p, .75))} ({f(min(p))}-{f(max(p))}) | **{mh / mp:.2f}** |")
        rounds_txt.append(f"- {b}: binding {', '.join(f(v) for v in rounds['hybrid'])}; "
                          f"PyTorch {', '.join(f(v) for v in rounds['pytorch'])} ({len(h)} and {len(p)} samples)")
    return lines + ["", "Per-round medians:", ""] + rounds_txt + [""]


def main():
    runs_path, out_path, how = sys.argv[1], sys.argv[2], sys.argv[3]
    runs = [json.loads(line) for line in open(runs_path) if line.strip().startswith("{")]
    benches = []
    for r in runs:
        if r["bench"] not in benches:
            benches.append(r["bench"])
    lines = ["# Hybrid.Torch vs PyTorch: op overhead and a training step", "",
             f"Written by `bash bench/run_torch.sh` ({how}).", "",
             "Not a test: numbers depend on the machine and on what else runs on it. Both",
             "implementations run in the same session with the same thread count, rounds interleaved",
             "(binding, PyTorch, binding, PyTorch, ...). Wall time is what a user waits; process CPU",
             "time (all threads, clock_gettime in both) leaves out waiting for a core, so it is the",
             "steadier figure on a shared machine (with several threads it includes their spinning).",
             "See bench/README.md for what each benchmark does.", ""]
    ctx = {}
    for r in runs:
        ctx.setdefault(r["impl"], r["info"])
    for impl, i in ctx.items():
        name = "binding" if impl == "hybrid" else "PyTorch"
        lines.append(f"- {name}: libtorch {i.get('libtorch')}, {i.get('runtime')}, threads {i.get('threads')}, BLAS {i.get('blas')}")
    lines.append("")
    lines += table(runs, benches, "samples", "Wall time")
    lines += table(runs, benches, "cpu_samples", "Process CPU time")
    with open(out_path, "w") as fo:
        fo.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

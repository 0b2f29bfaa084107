#!/usr/bin/env python3
"""Reads the JSON lines of bench/run.sh (every benchmark, both implementations, all rounds)
and writes bench/RESULTS.md: the machine and the two libtorch builds (ours: TorchSharp's
libtorch; PyTorch: Debian's python3-torch; the text says so when their versions differ),
then per benchmark the median, spreads (p25-p75 and min-max over all samples), the ratio
ours / PyTorch (same session, rounds interleaved), derived throughputs, the issue-11 targets,
per-round medians and the recorded context. Standard library only.

    python3 bench/python/summarize.py RUNS.jsonl OUT.md MACHINE.json
"""
import json
import statistics
import sys

TIME_UNITS = ("ns/call", "ms/step", "ms/batch", "ms/image")
TITLES = {
    "torch-op": "per-op call overhead (a + b, 1-element tensors)",
    "torch-step": "training step, 4-layer conv-BN-ReLU net (issue 2)",
    "cam-step": "training step, CAM baseline (tiny_resnet, batch 16, 96 px)",
    "cosa-step": "training step, CoSA after warm-up (tiny_resnet, batch 16, 96 px)",
    "cam-eval": "multi-scale (0.5, 1, 1.5) + flip CAMs, batch 16, 96 px",
    "loader": "training data loader, FMNIST-Scenes, batch 16",
    "crf-96": "dense CRF 96 x 96, 21 classes",
    "crf-321": "dense CRF 321 x 321, 21 classes",
    "peak-rss": "peak RSS of a fresh process training the CAM baseline",
}


def q(xs, p):
    s = sorted(xs)
    pos = p * (len(s) - 1)
    lo, hi = int(pos), min(int(pos) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def fmt(unit):
    return (lambda v: f"{v:.0f}") if unit.startswith("ns") else (lambda v: f"{v:.1f}")


def collect(runs, key):
    """bench -> impl -> (all samples, per-round medians, unit, info)."""
    out = {}
    for r in runs:
        if key not in r or not r[key]:
            continue
        d = out.setdefault(r["bench"], {}).setdefault(r["impl"], {"all": [], "rounds": [], "unit": r["unit"], "info": r["info"]})
        d["all"].extend(r[key])
        d["rounds"].append(statistics.median(r[key]))
    return out


def med(data, bench, impl):
    d = data.get(bench, {}).get(impl)
    return statistics.median(d["all"]) if d else None


def table(data, order, title, only_time):
    lines = [f"### {title}", "",
             "| benchmark | unit | ours median | ours p25-p75 (min-max) | PyTorch median | PyTorch p25-p75 (min-max) | ours / PyTorch |",
             "|---|---|---|---|---|---|---|"]
    for b in order:
        per = data.get(b, {})
        h, p = per.get("hybrid"), per.get("pytorch")
        if not h or (only_time and h["unit"] not in TIME_UNITS):
            continue
        f = fmt(h["unit"])
        cell = lambda d: (f"**{f(statistics.median(d['all']))}**", f"{f(q(d['all'], .25))}-{f(q(d['all'], .75))} ({f(min(d['all']))}-{f(max(d['all']))})")
        hm, hs = cell(h)
        pm, ps = cell(p) if p else ("—", "no twin")
        ratio = f"**{statistics.median(h['all']) / statistics.median(p['all']):.2f}**" if p else "—"
        lines.append(f"| {b} | {h['unit']} | {hm} | {hs} | {pm} | {ps} | {ratio} |")
    return lines + [""]


def per_second(data, bench, impl):
    """images/s from the median time of a benchmark whose info gives images_per_sample."""
    d = data.get(bench, {}).get(impl)
    if not d or "images_per_sample" not in d["info"]:
        return None
    return float(d["info"]["images_per_sample"]) / (statistics.median(d["all"]) / 1000.0)


def targets(data):
    lines = ["## Targets (issues 11 and 20; wall-clock medians of this session)", ""]

    def verdict(ok):
        return "holds" if ok else "**does not hold**"

    for b in ("cam-step", "cosa-step"):
        h, p = med(data, b, "hybrid"), med(data, b, "pytorch")
        if h and p:
            lines.append(f"- {b}: ours / PyTorch = {h / p:.2f} (target <= 1.00): {verdict(h / p <= 1.0)}")
    loader = per_second(data, "loader", "hybrid")
    for b in ("cam-step", "cosa-step"):
        consume = per_second(data, b, "hybrid")
        if loader and consume:
            lines.append(f"- loader {loader:.0f} images/s vs {b} consuming {consume:.1f} images/s: {loader / consume:.1f}x "
                         f"(target >= 3x): {verdict(loader / consume >= 3)}")
    c96, c321 = data.get("crf-96", {}).get("hybrid"), data.get("crf-321", {}).get("hybrid")
    if c96 and c321:
        u96 = 1000 * statistics.median(c96["all"]) / float(c96["info"]["pixels"])
        u321 = 1000 * statistics.median(c321["all"]) / float(c321["info"]["pixels"])
        lines.append(f"- dense CRF: {u96:.2f} us/pixel at 96 x 96, {u321:.2f} us/pixel at 321 x 321 "
                     f"({float(c321['info']['pixels']) / float(c96['info']['pixels']):.1f}x the pixels, {u321 / u96:.2f}x the time per pixel; "
                     f"linear in pixels means about 1x)")
    h, p = med(data, "peak-rss", "hybrid"), med(data, "peak-rss", "pytorch")
    if h and p:
        lines.append(f"- peak RSS: ours {h:.0f} MiB, PyTorch {p:.0f} MiB, ratio {h / p:.2f} (target <= 1.00): {verdict(h / p <= 1.0)}")
    return lines + [""]


def major_minor(version):
    """"2.10.0" -> "2.10", "1.13.0a0" -> "1.13" (None when unknown)."""
    parts = str(version or "").split(".")
    return ".".join(parts[:2]) if len(parts) >= 2 else None


def describe_sides(ctx):
    """The header's title, the lines naming each side's binding and libtorch, and a plain
    statement whether the two sides run the same libtorch."""
    ours, theirs = ctx.get("hybrid", {}), ctx.get("pytorch", {})
    ours_lt, theirs_lt = ours.get("libtorch"), theirs.get("libtorch")
    title = f"# Benchmarks: Hybrid ({ours.get('binding', 'TorchSharp')}, libtorch {ours_lt}) vs PyTorch (libtorch {theirs_lt})"
    sides = []
    if ours:
        sides.append(f"- ours: {ours.get('binding', '?')} over libtorch {ours_lt}, {ours.get('runtime')}, "
                     f"threads {ours.get('threads')}, BLAS {ours.get('blas')}")
    if theirs:
        sides.append(f"- PyTorch: torch {theirs_lt} (its own libtorch), {theirs.get('runtime')}, "
                     f"threads {theirs.get('threads')}, BLAS {theirs.get('blas')}")
    if not ours or not theirs:
        return title, sides, []
    blas = str(theirs.get("blas", ""))
    if blas and not any(k in blas.lower() for k in ("openblas", "mkl", "blis")):
        sides.append(f"- PyTorch's BLAS ({blas}) looks like the reference (netlib) implementation, not an optimised "
                     "one: install Debian's libopenblas0-pthread to give the twins OpenBLAS (results before the move "
                     "to TorchSharp had it)")
    if major_minor(ours_lt) != major_minor(theirs_lt):
        note = [f"**The two sides do not run the same libtorch: ours is libtorch {ours_lt} (shipped with "
                f"{ours.get('binding', 'TorchSharp')}), PyTorch's twins run libtorch {theirs_lt} (Debian's python3-torch).** "
                "A ratio ours / PyTorch below therefore compares TorchSharp on libtorch "
                f"{major_minor(ours_lt)} with Python on libtorch {major_minor(theirs_lt)}: the kernels, the dispatcher "
                "and the BLAS differ between the two versions as well as the binding, so a ratio is not the cost "
                "of the binding alone."]
    else:
        note = [f"Both sides run libtorch {major_minor(ours_lt)} (ours {ours_lt}, PyTorch {theirs_lt})."]
    return title, sides, note


def main():
    runs_path, out_path, machine_path = sys.argv[1], sys.argv[2], sys.argv[3]
    runs = [json.loads(l) for l in open(runs_path) if l.strip().startswith("{")]
    machine = json.load(open(machine_path))
    order = []
    for r in runs:
        if r["bench"] not in order:
            order.append(r["bench"])
    wall, cpu = collect(runs, "samples"), collect(runs, "cpu_samples")
    ctx = {}
    for r in runs:
        if r["bench"] not in ("crf-96", "crf-321"):
            ctx.setdefault(r["impl"], r["info"])
    title, sides, same_or_not = describe_sides(ctx)
    lines = [title, ""]
    if machine.get("note"):
        lines += [f"> {machine['note']}", ""]
    lines += [f"Written by `bash bench/run.sh` (`make bench`) on {machine['date']}. Not a test: the numbers depend on",
              "the machine and on what else ran on it. Both implementations ran in this session with the same",
              "thread count, rounds interleaved (ours, PyTorch, ours, PyTorch, ...). Wall time is what a user",
              "waits; process CPU time (all threads, clock_gettime in both) leaves out waiting for a core, so it",
              "is the steadier figure on a shared machine. bench/README.md says what each benchmark does.", ""]
    if same_or_not:
        lines += same_or_not + [""]
    lines += ["## Machine", "",
              f"- CPU: {machine['cpu']}; {machine['cores']} cores; memory {machine['memory']}",
              f"- threads: {machine['threads']} (HYBRID_NUM_THREADS / torch.set_num_threads); loader workers = threads",
              f"- load average (1, 5, 15 min): {machine['load_start']} at start, {machine['load_end']} at end",
              f"- rounds: {machine['rounds']}; samples per round: {machine['samples']}",
              f"- wall time of the whole run: {machine.get('seconds', '?')} s"]
    lines += sides
    lines.append("")
    lines += targets(wall)
    lines += ["## Results", ""]
    lines += table(wall, order, "Wall time", False)
    derived = []
    for b in order:
        h, p = per_second(wall, b, "hybrid"), per_second(wall, b, "pytorch")
        if h:
            derived.append(f"- {b}: ours {h:.1f} images/s" + (f", PyTorch {p:.1f} images/s" if p else ""))
        d = wall.get(b, {}).get("hybrid")
        if d and "pixels" in d["info"]:
            derived.append(f"- {b}: {1000 * statistics.median(d['all']) / float(d['info']['pixels']):.2f} us/pixel "
                           f"({d['info']['pixels']} pixels; model build {d['info'].get('build_ms_median', '?')} ms of it)")
    lines += ["Derived from the wall-time medians:", ""] + derived + [""]
    lines += table(cpu, order, "Process CPU time", True)
    lines += ["### Per-round wall-time medians", ""]
    for b in order:
        per = wall.get(b, {})
        f = fmt(per["hybrid"]["unit"]) if "hybrid" in per else fmt("")
        parts = [f"{'ours' if k == 'hybrid' else 'PyTorch'} {', '.join(f(v) for v in d['rounds'])} ({len(d['all'])} samples)" for k, d in per.items()]
        lines.append(f"- {b} ({TITLES.get(b, '')}): " + "; ".join(parts))
    lines += ["", "### Recorded context", ""]
    skip = {"binding", "libtorch", "threads", "threads_requested", "blas", "runtime"}
    for b in order:
        for impl, d in wall.get(b, {}).items():
            extra = ", ".join(f"{k} {v}" for k, v in d["info"].items() if k not in skip)
            if extra:
                lines.append(f"- {b}, {'ours' if impl == 'hybrid' else 'PyTorch'}: {extra}")
    lines.append("")
    with open(out_path, "w") as fo:
        fo.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""PyTorch twins of bench/Hybrid.Bench's torch benchmarks (same op, same network, same step).

    python3 bench/python/bench_torch.py op|step [--threads N] [--samples N] [--warmup N] [--inner N] [--json]

Meant for Debian's python3-torch (PyTorch 1.13 with its own libtorch 1.13; ours runs TorchSharp's
libtorch 2.10, so the two sides differ in libtorch version too); bench/run.sh finds an
interpreter with torch on PATH (or takes PYTHON=...).
"""
import argparse
import json
import os
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def blas_in_use():
    try:
        with open("/proc/self/maps") as f:
            libs = {os.path.basename(line.split()[-1]) for line in f
                    if len(line.split()) >= 6 and ("blas" in line.lower() or "mkl" in line.lower())}
        return ", ".join(sorted(libs)) or "unknown"
    except OSError:
        return "unknown"


def timed(warmup, samples, body, per=1.0):
    """Sampler.Time: wall and process-CPU ms per sample, and minor page faults per sample."""
    wall, cpu = [], []
    faults0 = 0
    for s in range(warmup + samples):
        if s == warmup:
            faults0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        c0, t0 = time.process_time_ns(), time.perf_counter_ns()
        body()
        t1, c1 = time.perf_counter_ns(), time.process_time_ns()
        if s >= warmup:
            wall.append((t1 - t0) / 1e6 / per)
            cpu.append((c1 - c0) / 1e6 / per)
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults0) / samples if samples else 0
    return wall, cpu, faults


def info(threads):
    return {"libtorch": torch.__version__, "threads": str(torch.get_num_threads()),
            "threads_requested": str(threads), "blas": blas_in_use(),
            "runtime": f"Python {'.'.join(map(str, __import__('sys').version_info[:3]))}",
            "malloc": "system (GLIBC_TUNABLES: " + (os.environ.get("GLIBC_TUNABLES") or "none") + ")"}


def bench_op(a):
    """ns per call of c = a + b on one-element float32 tensors (the result freed at once)."""
    x = torch.ones(1)
    y = torch.ones(1)
    inner = a.inner or 20000
    times, cpu = [], []
    for s in range((a.warmup if a.warmup >= 0 else 5) + (a.samples or 30)):
        c0 = time.process_time_ns()
        t0 = time.perf_counter_ns()
        for _ in range(inner):
            c = x + y
        t1 = time.perf_counter_ns()
        c1 = time.process_time_ns()
        del c
        if s >= (a.warmup if a.warmup >= 0 else 5):
            times.append((t1 - t0) / inner)
            cpu.append((c1 - c0) / inner)
    i = info(a.threads)
    i["calls_per_sample"] = str(inner)
    return "torch-op", "ns/call", times, cpu, i


def block(cin, cout, stride):
    return [nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


class Net(nn.Module):
    """The network of bench/Hybrid.Bench/Torch/TorchTrainStep.cs."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(*block(3, 32, 1), *block(32, 64, 2), *block(64, 64, 1), *block(64, 128, 2))
        self.fc = nn.Linear(128, 10)

    def forward(self, x):                       # (B, 3, 64, 64)
        h = self.features(x)                    # (B, 128, 16, 16)
        return self.fc(h.mean((2, 3)))          # (B, 10)


def bench_step(a):
    """ms per training step: zero_grad, forward, cross-entropy, backward, SGD step."""
    torch.manual_seed(0)
    net = Net()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    x = torch.randn(16, 3, 64, 64)
    y = torch.randint(0, 10, (16,))
    def step():
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()

    times, cpu, faults = timed(a.warmup if a.warmup >= 0 else 3, a.samples or 20, step)
    i = info(a.threads)
    i["parameters"] = str(sum(p.numel() for p in net.parameters()))
    i["minor_faults_per_sample"] = f"{faults:.0f}"
    return "torch-step", "ms/step", times, cpu, i


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("bench", choices=["op", "step"])
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--samples", type=int, default=0)
    p.add_argument("--warmup", type=int, default=-1)
    p.add_argument("--inner", type=int, default=0)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(max(1, a.threads))
    name, unit, samples, cpu, i = (bench_op if a.bench == "op" else bench_step)(a)
    if a.json:
        print(json.dumps({"bench": name, "impl": "pytorch", "unit": unit, "samples": samples, "cpu_samples": cpu, "info": i}))
    else:
        s = sorted(samples)
        print(f"{name}: median {s[len(s) // 2]:.1f} {unit} (n {len(s)})")


if __name__ == "__main__":
    main()

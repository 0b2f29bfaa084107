#!/usr/bin/env python3
"""PyTorch twins of bench/Hybrid.Bench's method benchmarks (Wsss/): the same networks
(wsss_models.py), batch, losses, optimizer and step as the C# side, timed the same way.

    python3 bench/python/bench_wsss.py cam-step|cosa-step|cam-eval|peak-rss|peak-rss-child
        [--threads N] [--samples N] [--warmup N] [--inner N] [--json]

Meant for Debian's python3-torch (PyTorch 1.13 with its own libtorch 1.13; ours runs TorchSharp's
libtorch 2.10, so the two sides differ in libtorch version too); bench/run.sh finds it.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_torch import info, timed  # noqa: E402
import cosa_twin  # noqa: E402
from wsss_models import CamNet, CosaNetwork, TINY_RESNET_PARAMETERS, count  # noqa: E402

CLASSES, SIDE, BATCH = 10, 96, 16
CAM_PARAMETERS = TINY_RESNET_PARAMETERS + 192 * CLASSES                       # 1,184,480
COSA_PARAMETERS = CAM_PARAMETERS + 128 * CLASSES + 192 * 512 * 9 + 512 * 512 * 9 + 512 * (CLASSES + 1)  # 4,435,424


def labels(batch):
    """WsssSetup.Labels: image i holds class i mod K and, unless 3 divides i, (3i + 1) mod K."""
    l = torch.zeros(batch, CLASSES)
    for i in range(batch):
        l[i, i % CLASSES] = 1
        if i % 3 != 0:
            l[i, (3 * i + 1) % CLASSES] = 1
    return l


def random_batch(strong):
    torch.manual_seed(1)
    images = torch.randn(BATCH, 3, SIDE, SIDE)
    return images, (torch.randn(BATCH, 3, SIDE, SIDE) if strong else None), labels(BATCH)


def cam_setup():
    torch.manual_seed(0)
    net = CamNet(CLASSES)
    n = count(net)
    assert n == CAM_PARAMETERS, f"CamNet has {n} parameters, the C# side {CAM_PARAMETERS}"
    print(f"cam-step: {n} trainable parameters", file=sys.stderr)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-4)
    return net, opt


def cam_step(net, opt, images, lbl):
    """The loop body of Train.run for the CAM baseline: loss, its value, zero_grad, backward, step."""
    loss = F.multilabel_soft_margin_loss(net(images), lbl)
    v = loss.item()
    if v != v:
        raise RuntimeError("cam-step: NaN loss")
    opt.zero_grad()
    loss.backward()
    opt.step()
    return [("cls", v)]


def fmt(losses):
    """As WsssSetup.Format: name=value with 4 significant digits."""
    return ", ".join(f"{n}={v:.4g}" for n, v in losses)


def bench_cam_step(a):
    net, opt = cam_setup()
    images, _, lbl = random_batch(False)
    net.train()
    last = []
    wall, cpu, faults = timed(a.warmup if a.warmup >= 0 else 2, a.samples or 10, lambda: last.__setitem__(slice(None), cam_step(net, opt, images, lbl)))
    i = info(a.threads)
    i["last_step_losses"] = fmt(last)
    i.update(parameters=str(count(net)), optimizer="AdamW 0.0001", lr="0.001", batch=f"{BATCH}x3x{SIDE}x{SIDE}",
             backbone="tiny_resnet", images_per_sample=str(BATCH))
    i["minor_faults_per_sample"] = f"{faults:.0f}"
    return "cam-step", "ms/step", wall, cpu, i


def bench_cosa_step(a):
    torch.manual_seed(0)
    on, an = CosaNetwork(CLASSES), CosaNetwork(CLASSES)
    an.load_state_dict(on.state_dict())
    for p in an.parameters():
        p.requires_grad_(False)
    an.eval()
    n = count(on)
    assert n == COSA_PARAMETERS, f"CosaNetwork has {n} parameters, the C# side {COSA_PARAMETERS}"
    print(f"cosa-step: {n} trainable parameters (online network)", file=sys.stderr)
    opt = torch.optim.AdamW(on.parameters(), lr=1e-3, weight_decay=0.01)
    tracker, aux_tracker = cosa_twin.ThresholdTracker(), cosa_twin.ThresholdTracker()
    weak, strong, lbl = random_batch(True)
    on.train()
    last = []

    def step():
        terms = cosa_twin.losses(on, an, tracker, aux_tracker, weak, strong, lbl)
        last.clear()
        for name, t in terms:
            v = t.item()
            if v != v or v in (float("inf"), float("-inf")):
                raise RuntimeError(f"cosa-step: loss term {name} is {v}")
            last.append((name, v))
        total = terms[0][1]
        for _, t in terms[1:]:
            total = total + t
        opt.zero_grad()
        total.backward()
        opt.step()
        cosa_twin.ema_update(an, on)

    wall, cpu, faults = timed(a.warmup if a.warmup >= 0 else 1, a.samples or 5, step)
    i = info(a.threads)
    i["last_step_losses"] = fmt(last)
    i.update(parameters=str(n), parameters_with_assignment_network=str(n + sum(p.numel() for p in an.parameters())),
             optimizer="AdamW 0.01", lr="0.001", batch=f"{BATCH}x3x{SIDE}x{SIDE}", backbone="tiny_resnet",
             images_per_sample=str(BATCH))
    i["minor_faults_per_sample"] = f"{faults:.0f}"
    return "cosa-step", "ms/step", wall, cpu, i


def multi_scale_cams(net, images, lbl, scales=(0.5, 1.0, 1.5)):
    """Cam.multiScale: ReLU score maps of each scale and its flip, resized and summed, max-normalised."""
    h, w = images.shape[2:]
    acc = None
    for s in scales:
        sh, sw = max(1, round(h * s)), max(1, round(w * s))
        x = images if (sh, sw) == (h, w) else cosa_twin.resize(images, sh, sw)
        for m in (cosa_twin.resize(F.relu(net.maps(x)), h, w),
                  cosa_twin.resize(F.relu(net.maps(x.flip(3))).flip(3), h, w)):
            acc = m if acc is None else acc + m
    return cosa_twin.normalise_max(acc, lbl)


def bench_cam_eval(a):
    torch.manual_seed(0)
    net = CamNet(CLASSES)
    images, _, lbl = random_batch(False)
    net.eval()

    def body():
        with torch.no_grad():
            cams = multi_scale_cams(net, images, lbl)
            assert cams.shape[2] == SIDE

    wall, cpu, faults = timed(a.warmup if a.warmup >= 0 else 1, a.samples or 10, body)
    i = info(a.threads)
    i.update(parameters=str(count(net)), scales="0.5,1,1.5 + flip", batch=f"{BATCH}x3x{SIDE}x{SIDE}", images_per_sample=str(BATCH))
    i["minor_faults_per_sample"] = f"{faults:.0f}"
    return "cam-eval", "ms/batch", wall, cpu, i


def status_mib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"/proc/self/status has no {field}")


def bench_rss_child(a):
    net, opt = cam_setup()
    images, _, lbl = random_batch(False)
    before = status_mib("VmRSS")
    net.train()
    steps = a.inner or 5
    for _ in range(steps):
        cam_step(net, opt, images, lbl)
    peak = status_mib("VmHWM")
    i = info(a.threads)
    i.update(steps=str(steps), rss_before_steps_mib=f"{before:.1f}")
    return "peak-rss-child", "MiB", [peak], [peak], i


def bench_rss(a):
    """Each sample: a fresh interpreter running peak-rss-child; its VmHWM."""
    peaks, i = [], {}
    for _ in range(a.samples or 1):
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "peak-rss-child", "--threads", str(a.threads),
                              "--inner", str(a.inner or 5), "--json"], check=True, capture_output=True, text=True).stdout
        r = json.loads([l for l in out.splitlines() if l.startswith("{")][-1])
        peaks.append(r["samples"][0])
        i = r["info"]
    return "peak-rss", "MiB", peaks, peaks, i


BENCHES = {"cam-step": bench_cam_step, "cosa-step": bench_cosa_step, "cam-eval": bench_cam_eval,
           "peak-rss": bench_rss, "peak-rss-child": bench_rss_child}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("bench", choices=sorted(BENCHES))
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--samples", type=int, default=0)
    p.add_argument("--warmup", type=int, default=-1)
    p.add_argument("--inner", type=int, default=0)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(max(1, a.threads))
    name, unit, samples, cpu, i = BENCHES[a.bench](a)
    if a.json:
        print(json.dumps({"bench": name, "impl": "pytorch", "unit": unit, "samples": samples, "cpu_samples": cpu, "info": i}))
    else:
        s = sorted(samples)
        print(f"{name}: median {s[len(s) // 2]:.1f} {unit} (n {len(s)}); CPU median {sorted(cpu)[len(cpu) // 2]:.1f}")
        for k, v in i.items():
            print(f"  {k}: {v}")


if __name__ == "__main__":
    main()

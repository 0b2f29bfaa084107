#!/usr/bin/env python3
"""PyTorch twin of `hybrid-bench backbones` (bench/Hybrid.Bench/Backbones/BackboneSpeed.cs):
the same backbones, input sizes, batch 1 and passes, timed in Python with Debian's
python3-torch and python3-torchvision (PyTorch 1.13, its own libtorch 1.13; ours runs
TorchSharp's libtorch 2.10):

    /usr/bin/python3 bench/python/bench_backbones.py [name ...]

ResNets come from torchvision (layer4 dilated by hand for BasicBlocks, which torchvision
refuses); the ViTs and WideResNet-38 from the name mirrors in
tests/Hybrid.Vision.Tests/Fixtures/Backbones/make_fixtures.py. tiny_resnet has no twin
(torchvision's ResNet class allows no 32-wide stem); it is skipped."""
import importlib.util
import os
import statistics
import sys
import time

import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "mf", os.path.join(HERE, "..", "..", "tests", "Hybrid.Vision.Tests", "Fixtures", "Backbones", "make_fixtures.py"))
mf = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mf)


def dilate_basic_layer4(m):
    """Output stride 16 for a BasicBlock ResNet: layer4 stride 1, its later convs dilation 2."""
    first = m.layer4[0]
    first.conv1.stride = (1, 1)
    first.downsample[0].stride = (1, 1)
    first.conv2.dilation, first.conv2.padding = (2, 2), (2, 2)
    for blk in list(m.layer4)[1:]:
        for c in (blk.conv1, blk.conv2):
            c.dilation, c.padding = (2, 2), (2, 2)
    return m


def build(name):
    tv = torchvision.models
    if name in ("resnet18", "resnet34"):
        m = dilate_basic_layer4(getattr(tv, name)())
        return m, lambda x: mf.tv_resnet_stages(m, x)["layer4"], 224
    if name in ("resnet50", "resnet101"):
        m = getattr(tv, name)(replace_stride_with_dilation=[False, False, True])
        return m, lambda x: mf.tv_resnet_stages(m, x)["layer4"], 224
    if name == "wideresnet38":
        m = mf.PsaResNet38d()
        return m, lambda x: m.stages(x)["b7"], 321
    if name in ("vit_s16", "vit_b16"):
        m = mf.TimmNamedViT(384, 12, 6) if name == "vit_s16" else mf.TimmNamedViT(768, 12, 12)
        return m, lambda x: m.stages(x)["norm"], 224
    return None


def measure(fn, batch, seconds):
    fn()
    times = []
    start = time.perf_counter()
    cpu0 = time.process_time()
    while len(times) < 3 or time.perf_counter() - start < seconds:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
        if len(times) >= 200:
            break
    cpu = (time.process_time() - cpu0) * 1000 / len(times) / batch
    return statistics.median(times) * 1000 / batch, cpu


def main():
    torch.set_num_threads(2)
    names = sys.argv[1:] or ["resnet18", "resnet34", "resnet50", "resnet101", "wideresnet38", "vit_s16", "vit_b16"]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("load average before:", open("/proc/loadavg").read().strip())
    print(f"{'backbone':<13} {'input':>9} {'fwd ms/img':>11} {'(cpu ms)':>9} {'fwd+bwd ms/img':>15} {'(cpu ms)':>9}")
    for name in names:
        built = build(name)
        if built is None:
            print(f"{name:<13} (no twin)")
            continue
        m, final, side = built
        torch.manual_seed(0)
        x = torch.randn(1, 3, side, side)
        m.eval()

        def fwd():
            with torch.no_grad():
                final(x)

        m.train()

        def fwd_bwd():
            final(x).mean().backward()
            m.zero_grad(set_to_none=True)

        m.eval()
        f = measure(fwd, 1, 8)
        m.train()
        fb = measure(fwd_bwd, 1, 8)
        print(f"{name:<13} {f'{side}x{side}':>9} {f[0]:>11.1f} {f[1]:>9.1f} {fb[0]:>15.1f} {fb[1]:>9.1f}")
    print("load average after:", open("/proc/loadavg").read().strip())


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes the backbone test fixtures beside this script.

Meant for Debian's interpreter with python3-torch (1.13) and python3-torchvision (0.14):
    python3 make_fixtures.py        # Debian's /usr/bin/python3, the one that has torch

Outputs (all small, committed):
  keys.json            state-dict key names and shapes per backbone.
                       resnet18/34/50/101: from torchvision's own models.
                       vit_s16 / vit_b16: from TimmNamedViT below (timm is not packaged by Debian;
                       the module tree mirrors timm's VisionTransformer names: cls_token, pos_embed,
                       patch_embed.proj, blocks.N.{norm1,attn.qkv,attn.proj,norm2,mlp.fc1,mlp.fc2},
                       norm, head).
                       wideresnet38: from PsaResNet38d below, a mirror of the module names of the
                       public PSA/SEAM "resnet38d" network (conv1a, b2 ... b7, bn7).
  goldens.json         F.interpolate (bicubic and bilinear, align_corners=False) of a small
                       position-embedding grid, and forward results (per stage: shape, mean, std, sampled values) of
                       resnet18 (output stride 32), resnet50 (output stride 16, torchvision's
                       replace_stride_with_dilation), wideresnet38 and vit_s16 (48x48 input: the
                       14x14 position embedding is resampled to 3x3 with bicubic interpolation),
                       all in eval mode with the deterministic weights of `fill` below, which the
                       C# tests reproduce exactly.
  torchsave_*.pth      small torch.save files (zip and legacy format) with views, expands,
                       dtypes, nesting and a non-tensor object, for the managed reader.
  *_stub.pth           torch.save(model.state_dict()) of torchvision resnet18 / resnet50 and of
                       the timm-named ViT-S (wrapped as {"model": sd}, as DeiT's releases are), with
                       every tensor replaced by a 1-element storage expanded to the real shape, so
                       the file is a few KB but holds the real key names, shapes and
                       OrderedDict-with-_metadata layout of a torchvision checkpoint.
"""
import json
import math
import os
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))


# ---- timm-named ViT (mirror of the names; forward as timm's VisionTransformer) ----------------
class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, d = x.shape
        hd = d // self.heads
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, hd).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        a = (q @ k.transpose(-2, -1)) * hd ** -0.5
        a = a.softmax(-1)
        return self.proj((a @ v).transpose(1, 2).reshape(b, n, d))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, dim * 4)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, 16, 16)


class TimmNamedViT(nn.Module):
    def __init__(self, dim, depth, heads, grid=14):
        super().__init__()
        self.grid = grid
        self.patch_embed = PatchEmbed(dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, grid * grid + 1, dim))
        self.blocks = nn.ModuleList([Block(dim, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, 1000)

    def stages(self, x):
        b = x.shape[0]
        t = self.patch_embed.proj(x)
        h, w = t.shape[2], t.shape[3]
        t = t.flatten(2).transpose(1, 2)
        pos = self.pos_embed[:, 1:].reshape(1, self.grid, self.grid, -1).permute(0, 3, 1, 2)
        if (h, w) != (self.grid, self.grid):
            pos = F.interpolate(pos, size=(h, w), mode="bicubic", align_corners=False)
        pos = pos.flatten(2).transpose(1, 2)
        t = torch.cat([self.cls_token.expand(b, -1, -1), t], 1)
        t = t + torch.cat([self.pos_embed[:, :1], pos], 1)
        out = OrderedDict()
        to_map = lambda z: z[:, 1:].transpose(1, 2).reshape(b, -1, h, w)
        for i, blk in enumerate(self.blocks):
            t = blk(t)
            out[f"blocks.{i}"] = to_map(t)
        out["norm"] = to_map(self.norm(t))
        return out


# ---- PSA / SEAM ResNet38d names (pre-activation wide ResNet) -----------------------------------
class PreActBlock(nn.Module):
    def __init__(self, cin, mid, cout, stride=1, first_dilation=None, dilation=1):
        super().__init__()
        first_dilation = dilation if first_dilation is None else first_dilation
        self.same = cin == cout and stride == 1
        self.bn_branch2a = nn.BatchNorm2d(cin)
        self.conv_branch2a = nn.Conv2d(cin, mid, 3, stride, first_dilation, first_dilation, bias=False)
        self.bn_branch2b1 = nn.BatchNorm2d(mid)
        self.conv_branch2b1 = nn.Conv2d(mid, cout, 3, 1, dilation, dilation, bias=False)
        if not self.same:
            self.conv_branch1 = nn.Conv2d(cin, cout, 1, stride, bias=False)

    def forward(self, x):
        a = F.relu(self.bn_branch2a(x))
        short = x if self.same else self.conv_branch1(a)
        y = self.conv_branch2b1(F.relu(self.bn_branch2b1(self.conv_branch2a(a))))
        return short + y, a


class PreActBottleneck(nn.Module):
    def __init__(self, cin, cout, dilation):
        super().__init__()
        self.bn_branch2a = nn.BatchNorm2d(cin)
        self.conv_branch2a = nn.Conv2d(cin, cout // 4, 1, bias=False)
        self.bn_branch2b1 = nn.BatchNorm2d(cout // 4)
        self.conv_branch2b1 = nn.Conv2d(cout // 4, cout // 2, 3, 1, dilation, dilation, bias=False)
        self.bn_branch2b2 = nn.BatchNorm2d(cout // 2)
        self.conv_branch2b2 = nn.Conv2d(cout // 2, cout, 1, bias=False)
        self.conv_branch1 = nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x):
        a = F.relu(self.bn_branch2a(x))
        y = self.conv_branch2a(a)
        y = self.conv_branch2b1(F.relu(self.bn_branch2b1(y)))
        y = self.conv_branch2b2(F.relu(self.bn_branch2b2(y)))
        return self.conv_branch1(a) + y, a


class PsaResNet38d(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1a = nn.Conv2d(3, 64, 3, padding=1, bias=False)
        self.b2 = PreActBlock(64, 128, 128, stride=2)
        self.b2_1 = PreActBlock(128, 128, 128)
        self.b2_2 = PreActBlock(128, 128, 128)
        self.b3 = PreActBlock(128, 256, 256, stride=2)
        self.b3_1 = PreActBlock(256, 256, 256)
        self.b3_2 = PreActBlock(256, 256, 256)
        self.b4 = PreActBlock(256, 512, 512, stride=2)
        for i in range(1, 6):
            setattr(self, f"b4_{i}", PreActBlock(512, 512, 512))
        self.b5 = PreActBlock(512, 512, 1024, first_dilation=1, dilation=2)
        self.b5_1 = PreActBlock(1024, 512, 1024, dilation=2)
        self.b5_2 = PreActBlock(1024, 512, 1024, dilation=2)
        self.b6 = PreActBottleneck(1024, 2048, 4)
        self.b7 = PreActBottleneck(2048, 4096, 4)
        self.bn7 = nn.BatchNorm2d(4096)

    def stages(self, x):
        # Stage feature "bK" = the output of block group K after the next BN + ReLU (the
        # activation the following group reads); PSA calls b4/b5/b7 "conv4/conv5/conv6".
        groups = [["b2", "b2_1", "b2_2"], ["b3", "b3_1", "b3_2"], ["b4"] + [f"b4_{i}" for i in range(1, 6)],
                  ["b5", "b5_1", "b5_2"], ["b6"], ["b7"]]
        names = ["b2", "b3", "b4", "b5", "b6"]
        out = OrderedDict()
        x = self.conv1a(x)
        for gi, g in enumerate(groups):
            for bi, n in enumerate(g):
                x, act = getattr(self, n)(x)
                if bi == 0 and gi > 0:
                    out[names[gi - 1]] = act
        out["b7"] = F.relu(self.bn7(x))
        return out


def tv_resnet_stages(m, x):
    out = OrderedDict()
    x = m.maxpool(m.relu(m.bn1(m.conv1(x))))
    for n in ["layer1", "layer2", "layer3", "layer4"]:
        x = getattr(m, n)(x)
        out[n] = x
    return out


# ---- deterministic weights, reproduced by the C# tests ------------------------------------------
def fill(model):
    """Parameter j of the ordinal-sorted state-dict keys gets base = sin(0.7 i + 1.3 j) (float64,
    i the flat index), then: running_var 1 + 0.5 base^2; running_mean 0.1 base; 1-d *.weight
    1 + 0.2 base; 1-d *.bias 0.1 base; cls_token / pos_embed 0.1 base; >= 2-d weights
    base * 2 / sqrt(fan_in). num_batches_tracked is left alone."""
    sd = model.state_dict()
    with torch.no_grad():
        for j, k in enumerate(sorted(sd.keys())):
            t = sd[k]
            if k.endswith("num_batches_tracked"):
                continue
            base = torch.sin(torch.arange(t.numel(), dtype=torch.float64) * 0.7 + 1.3 * j).reshape(t.shape)
            leaf = k.split(".")[-1]
            if leaf == "running_var":
                v = 1 + 0.5 * base * base
            elif leaf == "running_mean":
                v = 0.1 * base
            elif leaf in ("cls_token", "pos_embed"):
                v = 0.1 * base
            elif t.dim() == 1 and leaf == "weight":
                v = 1 + 0.2 * base
            elif t.dim() == 1:
                v = 0.1 * base
            else:
                fan_in = t.shape[1] * math.prod(t.shape[2:])
                v = base * 2 / math.sqrt(fan_in)
            t.copy_(v.to(t.dtype))


def golden_input(b, h, w):
    n = b * 3 * h * w
    return torch.sin(torch.arange(n, dtype=torch.float64) * 0.11 + 0.5).reshape(b, 3, h, w).float()


def summarize(feats):
    res = OrderedDict()
    for k, v in feats.items():
        flat = v.detach().reshape(-1)
        n = flat.numel()
        idx = [0, n // 7, 2 * n // 7, 3 * n // 7, 4 * n // 7, 5 * n // 7, 6 * n // 7, n - 1]
        res[k] = {
            "shape": list(v.shape),
            "mean": flat.double().mean().item(),
            "std": flat.double().std().item(),
            "index": idx,
            "value": [flat[i].item() for i in idx],
        }
    return res


def keys_of(model, drop=()):
    return [[k, list(v.shape)] for k, v in model.state_dict().items() if k not in drop]


def stub(sd):
    """Every tensor as a 1-element storage expanded to its shape (value = 0.001 * (j + 1))."""
    out = OrderedDict()
    for j, (k, v) in enumerate(sd.items()):
        one = torch.full((1,) * max(v.dim(), 1), 0.001 * (j + 1), dtype=v.dtype) if v.dtype.is_floating_point \
            else torch.zeros((1,) * max(v.dim(), 1), dtype=v.dtype)
        out[k] = one.reshape([1] * v.dim()).expand(v.shape) if v.dim() > 0 else one.reshape(())
    out._metadata = getattr(sd, "_metadata", None)
    return out


def main():
    torch.manual_seed(0)
    tv = torchvision.models
    models = OrderedDict()
    models["resnet18"] = tv.resnet18()
    models["resnet34"] = tv.resnet34()
    models["resnet50"] = tv.resnet50()
    models["resnet101"] = tv.resnet101()
    models["vit_s16"] = TimmNamedViT(384, 12, 6)
    models["vit_b16"] = TimmNamedViT(768, 12, 12)
    models["wideresnet38"] = PsaResNet38d()
    keys = OrderedDict((n, keys_of(m)) for n, m in models.items())
    keys["_provenance"] = (f"torch {torch.__version__}, torchvision {torchvision.__version__}; resnets from torchvision, "
                           "vit_* and wideresnet38 from the name mirrors in make_fixtures.py")
    with open(os.path.join(HERE, "keys.json"), "w") as f:   # one backbone key per line
        f.write("{\n" + ",\n".join(f" {json.dumps(n)}: " + (json.dumps(v) if isinstance(v, str) else
                 "[\n" + ",\n".join("  " + json.dumps(e) for e in v) + "\n ]") for n, v in keys.items()) + "\n}\n")

    goldens = OrderedDict()
    goldens["_provenance"] = f"make_fixtures.py with torch {torch.__version__}, torchvision {torchvision.__version__}"
    with torch.no_grad():
        m = models["resnet18"].eval(); fill(m)
        goldens["resnet18"] = {"output_stride": 32, "input": [1, 3, 64, 64], "stages": summarize(tv_resnet_stages(m, golden_input(1, 64, 64)))}
        m = tv.resnet50(replace_stride_with_dilation=[False, False, True]).eval(); fill(m)
        goldens["resnet50"] = {"output_stride": 16, "input": [1, 3, 64, 64], "stages": summarize(tv_resnet_stages(m, golden_input(1, 64, 64)))}
        m = models["wideresnet38"].eval(); fill(m)
        goldens["wideresnet38"] = {"output_stride": 8, "input": [1, 3, 32, 32], "stages": summarize(m.stages(golden_input(1, 32, 32)))}
        m = models["vit_s16"].eval(); fill(m)
        goldens["vit_s16"] = {"output_stride": 16, "input": [1, 3, 48, 48], "stages": summarize(m.stages(golden_input(1, 48, 48)))}
        # Position-embedding resampling alone: a (1, 4*4, 3) grid to 3x5 (down) and 7x6 (up).
        pos = torch.sin(torch.arange(48, dtype=torch.float64) * 0.3).float().reshape(1, 16, 3)
        img = pos.reshape(1, 4, 4, 3).permute(0, 3, 1, 2)
        rs = OrderedDict()
        for (h, w) in [(3, 5), (7, 6)]:
            for mode in ["bicubic", "bilinear"]:
                r = F.interpolate(img, size=(h, w), mode=mode, align_corners=False)
                rs[f"{mode}_{h}x{w}"] = r.flatten(2).transpose(1, 2).reshape(-1).tolist()
        goldens["pos_embed_resample"] = rs
    with open(os.path.join(HERE, "goldens.json"), "w") as f:
        json.dump(goldens, f, indent=1)

    torch.save(stub(tv.resnet18().state_dict()), os.path.join(HERE, "torchvision_resnet18_stub.pth"))
    torch.save(stub(tv.resnet50().state_dict()), os.path.join(HERE, "torchvision_resnet50_stub.pth"))
    torch.save({"model": stub(TimmNamedViT(384, 12, 6).state_dict())}, os.path.join(HERE, "timm_vit_s16_stub.pth"))
    # torch.save layouts the reader must handle: a one-entry dict (SETITEM), a transposed view,
    # a zero-stride expand, float16 / int64 / bool, nesting with lists, a non-tensor object
    # (argparse.Namespace) beside the tensors; and the legacy (pre-1.6) format.
    import argparse
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    torch.save({"only": base}, os.path.join(HERE, "torchsave_single.pth"))
    torch.save({"model": {"t": base.t(), "e": torch.tensor([2.5]).expand(2, 3), "h": base.half(), "i": torch.arange(5),
                          "b": torch.tensor([True, False]), "n": [base[1], {"deep": base[:, 1:3]}]},
                "args": argparse.Namespace(lr=0.1), "epoch": 7}, os.path.join(HERE, "torchsave_cases.pth"))
    torch.save({"t": base.t(), "w": base}, os.path.join(HERE, "torchsave_legacy.pth"), _use_new_zipfile_serialization=False)
    print("wrote fixtures to", HERE)


if __name__ == "__main__":
    main()

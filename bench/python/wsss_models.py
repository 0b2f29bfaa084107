"""PyTorch twins of the networks the method benchmarks train (bench/Hybrid.Bench/Wsss): the
tiny_resnet backbone (src-cs/Hybrid.Vision/Backbones/ResNet.cs, ResNetConfig.Tiny), the CAM
network of the CAM baseline (CamNet + CamClassifier) and CoSA's network (CosaNetwork: two CAM
classifiers and the LargeFOV decoder). Same layers, shapes, strides, dilations and
initialisations; parameter counts are asserted by the benchmarks."""
import torch
import torch.nn as nn
import torch.nn.functional as F

TINY_RESNET_PARAMETERS = 1_182_560      # BackboneRegistry's count for tiny_resnet


class BasicBlock(nn.Module):
    """Two 3x3 convolutions (padding = dilation), BN, identity or 1x1+BN shortcut."""

    def __init__(self, inplanes, planes, stride, dilation):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, dilation, dilation, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, dilation, dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):                                     # (B, Cin, H, W)
        h = F.relu(self.bn1(self.conv1(x)))                   # (B, P, H/s, W/s)
        h = self.bn2(self.conv2(h))
        return F.relu(h + (x if self.downsample is None else self.downsample(x)))


class TinyResNet(nn.Module):
    """ResNetConfig.Tiny at output stride 8: 3x3 stride-2 stem (32) without max-pool; layers
    [1, 1, 2, 1] of widths [32, 64, 128, 192]; layer1 and layer2 stride 2; layer3 and layer4
    dilated (2 and 4; the first block of a dilated layer keeps the previous dilation).
    96 px in: layer1 24x24, layer2..4 12x12. Returns {layer3, layer4}."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        widths, layers = [32, 64, 128, 192], [1, 1, 2, 1]
        dilate = [False, True, True]                          # layer2..layer4 at output stride 8
        inplanes, dilation = 32, 1
        for i in range(4):
            s = 2
            previous = dilation
            if i > 0 and dilate[i - 1]:
                dilation *= s
                s = 1
            blocks = []
            for b in range(layers[i]):
                st, d = (s, previous) if b == 0 else (1, dilation)
                blocks.append(BasicBlock(inplanes, widths[i], st, d))
                inplanes = widths[i]
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):                                     # (B, 3, H, W)
        h = F.relu(self.bn1(self.conv1(x)))                   # (B, 32, H/2, W/2)
        h = self.layer1(h)                                    # (B, 32, H/4, W/4)
        h = self.layer2(h)                                    # (B, 64, H/8, W/8)
        low = self.layer3(h)                                  # (B, 128, H/8, W/8)
        return {"layer3": low, "layer4": self.layer4(low)}    # layer4 (B, 192, H/8, W/8)


class CamClassifier(nn.Module):
    """1x1 convolution W (K, D) without bias, Xavier-uniform; scores = W . pool(F)."""

    def __init__(self, channels, classes, pooling):
        super().__init__()
        self.classifier = nn.Conv2d(channels, classes, 1, bias=False)
        nn.init.xavier_uniform_(self.classifier.weight)
        self.pooling = pooling

    def forward(self, f):                                     # (B, D, h, w)
        pooled = F.adaptive_avg_pool2d(f, 1) if self.pooling == "gap" else F.adaptive_max_pool2d(f, 1)
        return self.classifier(pooled).flatten(1)             # (B, K)

    def raw_cam(self, f):                                     # (B, D, h, w)
        return F.conv2d(f, self.classifier.weight)            # (B, K, h, w)


class CamNet(nn.Module):
    """The CAM baseline's network: tiny_resnet + GAP CAM classifier on layer4."""

    def __init__(self, classes=10):
        super().__init__()
        self.backbone = TinyResNet()
        self.classifier = CamClassifier(192, classes, "gap")

    def forward(self, x):                                     # (B, 3, H, W)
        return self.classifier(self.backbone(x)["layer4"])    # (B, K)

    def maps(self, x):
        return self.classifier.raw_cam(self.backbone(x)["layer4"])  # (B, K, h, w)


class LargeFov(nn.Module):
    """CoSA's LargeFOV decoder: 3x3 dil 5 (512), ReLU, 3x3 dil 5 (512), ReLU, 1x1 to K + 1;
    no bias, no dropout, Kaiming normal (fan_out)."""

    def __init__(self, cin, classes, hidden=512, dilation=5):
        super().__init__()
        self.fc6 = nn.Conv2d(cin, hidden, 3, 1, dilation, dilation, bias=False)
        self.fc7 = nn.Conv2d(hidden, hidden, 3, 1, dilation, dilation, bias=False)
        self.fc8 = nn.Conv2d(hidden, classes, 1, bias=False)
        for c in (self.fc6, self.fc7, self.fc8):
            nn.init.kaiming_normal_(c.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, f):                                     # (B, D, h, w)
        return self.fc8(F.relu(self.fc7(F.relu(self.fc6(f)))))  # (B, K + 1, h, w)


class CosaNetwork(nn.Module):
    """Backbone, GMP CAM classifier on layer4, GMP auxiliary classifier on layer3 (M-dagger),
    LargeFOV segmentation head on layer4."""

    def __init__(self, classes=10):
        super().__init__()
        self.backbone = TinyResNet()
        self.classifier = CamClassifier(192, classes, "gmp")
        self.aux_classifier = CamClassifier(128, classes, "gmp")
        self.decoder = LargeFov(192, classes + 1)

    def forward(self, x):                                     # (B, 3, H, W)
        f = self.backbone(x)
        final, low = f["layer4"], f["layer3"]
        return {"scores": self.classifier(final),             # (B, K)
                "aux_scores": self.aux_classifier(low),       # (B, K)
                "features": final,                            # (B, 192, h, w)
                "low": low,                                   # (B, 128, h, w)
                "seg": self.decoder(final)}                   # (B, K + 1, h, w)


def count(module):
    return sum(p.numel() for p in module.parameters() if p.requires_grad)

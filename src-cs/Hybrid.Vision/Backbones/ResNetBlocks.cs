using Hybrid.Torch;
using Hybrid.Torch.Modules;

namespace Hybrid.Vision.Backbones;

/// <summary>The two residual blocks of torchvision's ResNets, with its parameter names
/// (conv1, bn1, conv2, bn2[, conv3, bn3], downsample.0 / downsample.1).</summary>
public abstract class ResNetBlock : Module<Tensor, Tensor>
{
    protected static Sequential? Downsample(long inplanes, long outplanes, long stride, bool frozenBn) =>
        stride == 1 && inplanes == outplanes ? null
        : new Sequential(new Conv2d(inplanes, outplanes, 1, stride, bias: false), new BatchNorm2d(outplanes, frozen: frozenBn));
}

/// <summary>Two 3x3 convolutions (ResNet-18/34). torchvision rejects dilation in this block;
/// here both convolutions take it (padding = dilation), which keeps every parameter shape.</summary>
public sealed class BasicBlock : ResNetBlock
{
    public const long Expansion = 1;
    private readonly Conv2d conv1, conv2;
    private readonly BatchNorm2d bn1, bn2;
    private readonly Sequential? downsample;

    public BasicBlock(long inplanes, long planes, long stride, long dilation, bool frozenBn)
    {
        conv1 = RegisterModule("conv1", new Conv2d(inplanes, planes, 3, stride, dilation, dilation, bias: false));
        bn1 = RegisterModule("bn1", new BatchNorm2d(planes, frozen: frozenBn));
        conv2 = RegisterModule("conv2", new Conv2d(planes, planes, 3, 1, dilation, dilation, bias: false));
        bn2 = RegisterModule("bn2", new BatchNorm2d(planes, frozen: frozenBn));
        downsample = Downsample(inplanes, planes * Expansion, stride, frozenBn);
        if (downsample is not null) RegisterModule("downsample", downsample);
    }

    public override Tensor forward(Tensor x)                                  // (B, Cin, H, W)
    {
        using var c1 = conv1.forward(x);                                      // (B, P, H/s, W/s)
        using var n1 = bn1.forward(c1);
        using var a1 = n1.relu();
        using var c2 = conv2.forward(a1);                                     // (B, P, H/s, W/s)
        using var n2 = bn2.forward(c2);
        using var shortcut = downsample?.forward(x);                          // (B, P, H/s, W/s) or null: x itself
        using var sum = n2 + (shortcut ?? x);
        return sum.relu();
    }
}

/// <summary>1x1 -> 3x3 (stride, dilation) -> 1x1 x4 (ResNet-50/101; torchvision's "v1.5",
/// stride on the 3x3 convolution).</summary>
public sealed class Bottleneck : ResNetBlock
{
    public const long Expansion = 4;
    private readonly Conv2d conv1, conv2, conv3;
    private readonly BatchNorm2d bn1, bn2, bn3;
    private readonly Sequential? downsample;

    public Bottleneck(long inplanes, long planes, long stride, long dilation, bool frozenBn)
    {
        conv1 = RegisterModule("conv1", new Conv2d(inplanes, planes, 1, bias: false));
        bn1 = RegisterModule("bn1", new BatchNorm2d(planes, frozen: frozenBn));
        conv2 = RegisterModule("conv2", new Conv2d(planes, planes, 3, stride, dilation, dilation, bias: false));
        bn2 = RegisterModule("bn2", new BatchNorm2d(planes, frozen: frozenBn));
        conv3 = RegisterModule("conv3", new Conv2d(planes, planes * Expansion, 1, bias: false));
        bn3 = RegisterModule("bn3", new BatchNorm2d(planes * Expansion, frozen: frozenBn));
        downsample = Downsample(inplanes, planes * Expansion, stride, frozenBn);
        if (downsample is not null) RegisterModule("downsample", downsample);
    }

    public override Tensor forward(Tensor x)                                  // (B, Cin, H, W)
    {
        using var c1 = conv1.forward(x);                                      // (B, P, H, W)
        using var n1 = bn1.forward(c1);
        using var a1 = n1.relu();
        using var c2 = conv2.forward(a1);                                     // (B, P, H/s, W/s)
        using var n2 = bn2.forward(c2);
        using var a2 = n2.relu();
        using var c3 = conv3.forward(a2);                                     // (B, 4P, H/s, W/s)
        using var n3 = bn3.forward(c3);
        using var shortcut = downsample?.forward(x);                          // (B, 4P, H/s, W/s) or null: x itself
        using var sum = n3 + (shortcut ?? x);
        return sum.relu();
    }
}

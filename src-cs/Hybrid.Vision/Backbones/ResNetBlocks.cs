using Hybrid.Torch.Modules;
using TorchSharp.Modules;

namespace Hybrid.Vision.Backbones;

/// <summary>The two residual blocks of torchvision's ResNets, with its parameter names
/// (conv1, bn1, conv2, bn2[, conv3, bn3], downsample.0 / downsample.1).</summary>
public abstract class ResNetBlock : nn.Module<Tensor, Tensor>
{
    protected ResNetBlock(string name) : base(name) { }

    /// <summary>Children are registered by name in the constructors; no field reflection.</summary>
    protected override void RegisterComponents() { }

    protected static Sequential? Downsample(long inplanes, long outplanes, long stride, bool frozenBn) =>
        stride == 1 && inplanes == outplanes ? null
        : nn.Sequential(nn.Conv2d(inplanes, outplanes, 1, stride: stride, bias: false), Norms.BatchNorm2d(outplanes, frozenBn));
}

/// <summary>Two 3x3 convolutions (ResNet-18/34). torchvision rejects dilation in this block;
/// here both convolutions take it (padding = dilation), which keeps every parameter shape.</summary>
public sealed class BasicBlock : ResNetBlock
{
    public const long Expansion = 1;
    private readonly Conv2d conv1, conv2;
    private readonly nn.Module<Tensor, Tensor> bn1, bn2;
    private readonly Sequential? downsample;

    public BasicBlock(long inplanes, long planes, long stride, long dilation, bool frozenBn) : base(nameof(BasicBlock))
    {
        conv1 = this.Child("conv1", nn.Conv2d(inplanes, planes, 3, stride: stride, padding: dilation, dilation: dilation, bias: false));
        bn1 = this.Child("bn1", Norms.BatchNorm2d(planes, frozenBn));
        conv2 = this.Child("conv2", nn.Conv2d(planes, planes, 3, stride: 1, padding: dilation, dilation: dilation, bias: false));
        bn2 = this.Child("bn2", Norms.BatchNorm2d(planes, frozenBn));
        downsample = Downsample(inplanes, planes * Expansion, stride, frozenBn);
        if (downsample is not null) this.Child("downsample", downsample);
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
    private readonly nn.Module<Tensor, Tensor> bn1, bn2, bn3;
    private readonly Sequential? downsample;

    public Bottleneck(long inplanes, long planes, long stride, long dilation, bool frozenBn) : base(nameof(Bottleneck))
    {
        conv1 = this.Child("conv1", nn.Conv2d(inplanes, planes, 1, bias: false));
        bn1 = this.Child("bn1", Norms.BatchNorm2d(planes, frozenBn));
        conv2 = this.Child("conv2", nn.Conv2d(planes, planes, 3, stride: stride, padding: dilation, dilation: dilation, bias: false));
        bn2 = this.Child("bn2", Norms.BatchNorm2d(planes, frozenBn));
        conv3 = this.Child("conv3", nn.Conv2d(planes, planes * Expansion, 1, bias: false));
        bn3 = this.Child("bn3", Norms.BatchNorm2d(planes * Expansion, frozenBn));
        downsample = Downsample(inplanes, planes * Expansion, stride, frozenBn);
        if (downsample is not null) this.Child("downsample", downsample);
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

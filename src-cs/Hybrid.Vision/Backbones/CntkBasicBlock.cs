using Hybrid.Torch.Modules;
using TorchSharp.Modules;

namespace Hybrid.Vision.Backbones;

/// <summary>
/// The basic residual block of the CNTK ImageNet ResNet-18 (ML.NET's DnnImageFeaturizer):
/// 3x3 conv (stride s) - BN - ReLU - 3x3 conv - BN, plus the input or, where the shape
/// changes, a 1x1 conv (stride s) - BN shortcut; then ReLU. torchvision's names (conv1, bn1,
/// conv2, bn2, downsample.0 / downsample.1). A strided 3x3 is padded by
/// <see cref="CntkPadding"/> (1 before, 0 after on even sides); a stride-1 one pads its
/// dilation on both sides, so a block dilated for output stride 8 / 16 keeps its size.
/// </summary>
public sealed class CntkBasicBlock : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv1, conv2;
    private readonly nn.Module<Tensor, Tensor> bn1, bn2;
    private readonly Sequential? downsample;
    private readonly long stride;

    public CntkBasicBlock(long inplanes, long planes, long stride, long dilation, bool frozenBn) : base(nameof(CntkBasicBlock))
    {
        if (stride > 1 && dilation != 1) throw new ArgumentException("a strided block is never dilated (the stride is traded for dilation)");
        this.stride = stride;
        conv1 = this.Child("conv1", nn.Conv2d(inplanes, planes, 3, stride: stride, padding: stride == 1 ? dilation : 0, dilation: dilation, bias: false));
        bn1 = this.Child("bn1", Norms.BatchNorm2d(planes, frozenBn));
        conv2 = this.Child("conv2", nn.Conv2d(planes, planes, 3, stride: 1, padding: dilation, dilation: dilation, bias: false));
        bn2 = this.Child("bn2", Norms.BatchNorm2d(planes, frozenBn));
        if (stride != 1 || inplanes != planes)
            downsample = this.Child("downsample", nn.Sequential(
                nn.Conv2d(inplanes, planes, 1, stride: stride, bias: false), Norms.BatchNorm2d(planes, frozenBn)));
    }

    /// <summary>Children are registered by name in the constructor; no field reflection.</summary>
    protected override void RegisterComponents() { }

    public override Tensor forward(Tensor x)                                  // (B, Cin, H, W)
    {
        using var padded = stride > 1 ? CntkPadding.Pad(x, 3, stride) : null; // (B, Cin, H + 1, W + 1) on even sides
        using var c1 = conv1.forward(padded ?? x);                            // (B, P, ceil(H/s), ceil(W/s))
        using var n1 = bn1.forward(c1);
        using var a1 = n1.relu();
        using var c2 = conv2.forward(a1);                                     // (B, P, ceil(H/s), ceil(W/s))
        using var n2 = bn2.forward(c2);
        using var shortcut = downsample?.forward(x);                          // (B, P, ceil(H/s), ceil(W/s)) or null: x itself
        using var sum = n2 + (shortcut ?? x);
        return sum.relu();
    }
}

using TorchSharp.Modules;
using F = TorchSharp.torch.nn.functional;

namespace Hybrid.Vision.Heads;

/// <summary>Widths and rates of a LargeFOV head.</summary>
/// <param name="Hidden">Channels of fc6 and fc7.</param>
/// <param name="Dilation">Rate of the dilated 3x3 fc6 (and of fc7 when it is 3x3).</param>
/// <param name="Fc7Kernel">1 (DeepLab v1) or 3 (dilated, ToCo / CoSA).</param>
/// <param name="Dropout">Dropout after fc6 and after fc7 (0 disables).</param>
/// <param name="Bias">Biases on the convolutions.</param>
public sealed record LargeFovConfig(long Hidden, long Dilation, long Fc7Kernel, double Dropout, bool Bias)
{
    /// <summary>DeepLab-LargeFOV (Chen et al., "Semantic image segmentation with deep
    /// convolutional nets and fully connected CRFs", ICLR 2015, Table 2 "DeepLab-LargeFOV"):
    /// fc6 3x3 with input stride (dilation) 12 and 1024 channels, fc7 1x1 with 1024 channels,
    /// ReLU and dropout 0.5 after each (as VGG's fc layers it subsamples), fc8 1x1 to classes.</summary>
    public static readonly LargeFovConfig DeepLabV1 = new(1024, 12, 1, 0.5, true);

    /// <summary>The LargeFOV decoder of ToCo / CoSA's public code: 512 channels, 3x3 convolutions
    /// of dilation 5 for fc6 and fc7, no dropout, no bias.</summary>
    public static readonly LargeFovConfig CoSA = new(512, 5, 3, 0.0, false);
}

/// <summary>
/// DeepLab-LargeFOV segmentation head on backbone features: fc6 (dilated 3x3) -> ReLU ->
/// dropout -> fc7 -> ReLU -> dropout -> fc8 (1x1, classes incl. background). Output at the
/// feature resolution (B, K, h, w); upsample to the image outside. Dropout follows train/eval.
/// </summary>
public sealed class DeepLabLargeFov : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d fc6, fc7, fc8;
    private readonly double dropout;

    public LargeFovConfig Config { get; }
    public long InChannels { get; }
    public long Classes { get; }

    public DeepLabLargeFov(long inChannels, long classes, LargeFovConfig? config = null) : base(nameof(DeepLabLargeFov))
    {
        var c = config ?? LargeFovConfig.DeepLabV1;
        if (c.Fc7Kernel is not (1 or 3)) throw new ArgumentException($"fc7 kernel must be 1 or 3, got {c.Fc7Kernel}");
        if (c.Dropout is < 0 or >= 1) throw new ArgumentException($"dropout must be in [0, 1), got {c.Dropout}");
        Config = c; InChannels = inChannels; Classes = classes; dropout = c.Dropout;
        fc6 = this.Child("fc6", nn.Conv2d(inChannels, c.Hidden, 3, stride: 1, padding: c.Dilation, dilation: c.Dilation, bias: c.Bias));
        var d7 = c.Fc7Kernel == 3 ? c.Dilation : 1;
        fc7 = this.Child("fc7", nn.Conv2d(c.Hidden, c.Hidden, c.Fc7Kernel, stride: 1, padding: c.Fc7Kernel == 3 ? d7 : 0, dilation: d7, bias: c.Bias));
        fc8 = this.Child("fc8", nn.Conv2d(c.Hidden, classes, 1, bias: c.Bias));
        // Kaiming normal (fan_out, ReLU) and zero biases, as ToCo / CoSA initialise this head.
        foreach (var conv in new[] { fc6, fc7, fc8 })
        {
            nn.init.kaiming_normal_(conv.weight, mode: nn.init.FanInOut.FanOut, nonlinearity: nn.init.NonlinearityType.ReLU);
            if (conv.bias is not null) nn.init.zeros_(conv.bias);
        }
    }

    /// <summary>Children are registered by name above; no field reflection.</summary>
    protected override void RegisterComponents() { }

    public override Tensor forward(Tensor features)                           // (B, D, h, w)
    {
        if (features.dim() != 4 || features.size(1) != InChannels)
            throw new ArgumentException($"DeepLabLargeFov expects features (B, {InChannels}, h, w), got [{string.Join(", ", features.shape)}]");
        using var h6 = fc6.forward(features);                                 // (B, Hd, h, w)
        using var a6 = h6.relu();
        using var d6 = F.dropout(a6, dropout, training && dropout > 0);
        using var h7 = fc7.forward(d6);                                       // (B, Hd, h, w)
        using var a7 = h7.relu();
        using var d7 = F.dropout(a7, dropout, training && dropout > 0);
        return fc8.forward(d7);                                               // (B, K, h, w)
    }
}

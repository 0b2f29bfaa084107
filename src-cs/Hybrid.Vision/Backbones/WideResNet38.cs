using Hybrid.Torch.Modules;
using TorchSharp.Modules;

namespace Hybrid.Vision.Backbones;

/// <summary>
/// Pre-activation residual block of ResNet38 (Wu, Shen, van den Hengel, "Wider or deeper",
/// 2019), with the parameter names of the public PSA / SEAM / AuxSegNet "resnet38d" code:
/// bn_branch2a, conv_branch2a (3x3, stride, first dilation), bn_branch2b1, conv_branch2b1 (3x3,
/// dilation) and, when the shape changes, conv_branch1 (1x1) on the pre-activated input.
/// </summary>
public sealed class PreActBlock : nn.Module<Tensor, (Tensor Output, Tensor PreActivation)>
{
    private readonly nn.Module<Tensor, Tensor> bn_branch2a, bn_branch2b1;
    private readonly Conv2d conv_branch2a, conv_branch2b1;
    private readonly Conv2d? conv_branch1;

    public PreActBlock(long cin, long mid, long cout, long stride, long firstDilation, long dilation, bool frozenBn) : base(nameof(PreActBlock))
    {
        bn_branch2a = this.Child("bn_branch2a", Norms.BatchNorm2d(cin, frozenBn));
        conv_branch2a = this.Child("conv_branch2a", nn.Conv2d(cin, mid, 3, stride: stride, padding: firstDilation, dilation: firstDilation, bias: false));
        bn_branch2b1 = this.Child("bn_branch2b1", Norms.BatchNorm2d(mid, frozenBn));
        conv_branch2b1 = this.Child("conv_branch2b1", nn.Conv2d(mid, cout, 3, stride: 1, padding: dilation, dilation: dilation, bias: false));
        if (cin != cout || stride != 1) conv_branch1 = this.Child("conv_branch1", nn.Conv2d(cin, cout, 1, stride: stride, bias: false));
    }

    /// <summary>Children are registered by name above; no field reflection.</summary>
    protected override void RegisterComponents() { }

    /// <summary>Returns the block output and its pre-activated input relu(bn_branch2a(x)).</summary>
    public override (Tensor Output, Tensor PreActivation) forward(Tensor x)  // (B, Cin, H, W)
    {
        using var n = bn_branch2a.forward(x);
        var act = n.relu();                                                   // (B, Cin, H, W)
        using var shortcut = conv_branch1?.forward(act);                      // (B, Cout, H/s, W/s) or null: x
        using var c1 = conv_branch2a.forward(act);                            // (B, Mid, H/s, W/s)
        using var n1 = bn_branch2b1.forward(c1);
        using var a1 = n1.relu();
        using var c2 = conv_branch2b1.forward(a1);                            // (B, Cout, H/s, W/s)
        return (c2 + (shortcut ?? x), act);
    }
}

/// <summary>
/// Pre-activation bottleneck of ResNet38's last two blocks (PSA's ResBlock_bot): 1x1 to
/// Cout/4, 3x3 dilated to Cout/2, 1x1 to Cout, channel dropout (Dropout2d) before the last two
/// convolutions, and a 1x1 projection shortcut.
/// </summary>
public sealed class PreActBottleneck : nn.Module<Tensor, (Tensor Output, Tensor PreActivation)>
{
    private readonly nn.Module<Tensor, Tensor> bn_branch2a, bn_branch2b1, bn_branch2b2;
    private readonly Conv2d conv_branch2a, conv_branch2b1, conv_branch2b2, conv_branch1;
    private readonly Dropout2d dropout_2b1, dropout_2b2;

    public PreActBottleneck(long cin, long cout, long stride, long dilation, double dropout, bool frozenBn) : base(nameof(PreActBottleneck))
    {
        bn_branch2a = this.Child("bn_branch2a", Norms.BatchNorm2d(cin, frozenBn));
        conv_branch2a = this.Child("conv_branch2a", nn.Conv2d(cin, cout / 4, 1, stride: stride, bias: false));
        bn_branch2b1 = this.Child("bn_branch2b1", Norms.BatchNorm2d(cout / 4, frozenBn));
        dropout_2b1 = this.Child("dropout_2b1", nn.Dropout2d(dropout));
        conv_branch2b1 = this.Child("conv_branch2b1", nn.Conv2d(cout / 4, cout / 2, 3, stride: 1, padding: dilation, dilation: dilation, bias: false));
        bn_branch2b2 = this.Child("bn_branch2b2", Norms.BatchNorm2d(cout / 2, frozenBn));
        dropout_2b2 = this.Child("dropout_2b2", nn.Dropout2d(dropout));
        conv_branch2b2 = this.Child("conv_branch2b2", nn.Conv2d(cout / 2, cout, 1, bias: false));
        conv_branch1 = this.Child("conv_branch1", nn.Conv2d(cin, cout, 1, stride: stride, bias: false));
    }

    /// <summary>Children are registered by name above; no field reflection.</summary>
    protected override void RegisterComponents() { }

    public override (Tensor Output, Tensor PreActivation) forward(Tensor x)  // (B, Cin, H, W)
    {
        using var n = bn_branch2a.forward(x);
        var act = n.relu();                                                   // (B, Cin, H, W)
        using var shortcut = conv_branch1.forward(act);                       // (B, Cout, H/s, W/s)
        using var c1 = conv_branch2a.forward(act);                            // (B, Cout/4, H/s, W/s)
        using var n1 = bn_branch2b1.forward(c1);
        using var a1 = n1.relu();
        using var d1 = dropout_2b1.forward(a1);
        using var c2 = conv_branch2b1.forward(d1);                            // (B, Cout/2, H/s, W/s)
        using var n2 = bn_branch2b2.forward(c2);
        using var a2 = n2.relu();
        using var d2 = dropout_2b2.forward(a2);
        using var c3 = conv_branch2b2.forward(d2);                            // (B, Cout, H/s, W/s)
        return (shortcut + c3, act);
    }
}

/// <summary>
/// WideResNet-38 ("ResNet38d" of PSA, SEAM and AuxSegNet; ~105M parameters), written from the
/// architecture of their public code, with its parameter names: conv1a (3x3, 64, stride 1);
/// groups b2 (128, x3, stride 2), b3 (256, x3, stride 2), b4 (512, x6, stride 2),
/// b5 (1024, x3, dilation 2), b6 (bottleneck 2048, dilation 4, dropout 0.3),
/// b7 (bottleneck 4096, dilation 4, dropout 0.5), bn7.
/// <para>Stage features: "bK" is group K's output after the next BatchNorm + ReLU (the
/// activation the following group reads); "b7" is relu(bn7(.)). PSA's conv4 / conv5 / conv6 are
/// our b4 / b5 / b7. Final b7 (4096), low-level tap b5 (1024).</para>
/// <para>Output stride 8 is the published network. Output stride 16 (our extension) strides b5
/// instead of dilating it and halves the dilations of b6 and b7 to 2; parameter shapes are
/// unchanged, so the same checkpoints load.</para>
/// </summary>
public sealed class WideResNet38 : Backbone
{
    private readonly Conv2d conv1a;
    private readonly List<(string Group, PreActBlock Block)> blocks = new();
    private readonly PreActBottleneck b6, b7;
    private readonly nn.Module<Tensor, Tensor> bn7;

    public override string Name => "wideresnet38";
    public override FeatureInfo Info { get; }

    public WideResNet38(OutputStride outputStride = OutputStride.Eight, bool frozenBatchNorm = false) : base(nameof(WideResNet38))
    {
        if (outputStride is not (OutputStride.Eight or OutputStride.Sixteen))
            throw new ArgumentOutOfRangeException(nameof(outputStride), outputStride, "wideresnet38 supports output stride 8 (published) or 16");
        var os16 = outputStride == OutputStride.Sixteen;
        var fb = frozenBatchNorm;
        conv1a = this.Child("conv1a", nn.Conv2d(3, 64, 3, stride: 1, padding: 1, bias: false));
        void Add(string name, string group, PreActBlock b) { this.Child(name, b); blocks.Add((group, b)); }
        Add("b2", "b2", new PreActBlock(64, 128, 128, 2, 1, 1, fb));
        Add("b2_1", "b2", new PreActBlock(128, 128, 128, 1, 1, 1, fb));
        Add("b2_2", "b2", new PreActBlock(128, 128, 128, 1, 1, 1, fb));
        Add("b3", "b3", new PreActBlock(128, 256, 256, 2, 1, 1, fb));
        Add("b3_1", "b3", new PreActBlock(256, 256, 256, 1, 1, 1, fb));
        Add("b3_2", "b3", new PreActBlock(256, 256, 256, 1, 1, 1, fb));
        Add("b4", "b4", new PreActBlock(256, 512, 512, 2, 1, 1, fb));
        for (var i = 1; i <= 5; i++) Add($"b4_{i}", "b4", new PreActBlock(512, 512, 512, 1, 1, 1, fb));
        long d5 = os16 ? 1 : 2, d67 = os16 ? 2 : 4;
        Add("b5", "b5", new PreActBlock(512, 512, 1024, os16 ? 2 : 1, 1, d5, fb));
        Add("b5_1", "b5", new PreActBlock(1024, 512, 1024, 1, d5, d5, fb));
        Add("b5_2", "b5", new PreActBlock(1024, 512, 1024, 1, d5, d5, fb));
        b6 = this.Child("b6", new PreActBottleneck(1024, 2048, 1, d67, 0.3, fb));
        b7 = this.Child("b7", new PreActBottleneck(2048, 4096, 1, d67, 0.5, fb));
        bn7 = this.Child("bn7", Norms.BatchNorm2d(4096, fb));
        Info = InfoFor(outputStride);
        foreach (var (_, m) in named_modules())
            if (m is Conv2d c) nn.init.kaiming_normal_(c.weight, mode: nn.init.FanInOut.FanOut, nonlinearity: nn.init.NonlinearityType.ReLU);
    }

    /// <summary>PSA's / SEAM's classifier (fc8) is not part of the backbone.</summary>
    public override bool IsIgnorableCheckpointKey(string key) => key.StartsWith("fc8.", StringComparison.Ordinal);

    /// <summary>Stages at an output stride (without building the network).</summary>
    public static FeatureInfo InfoFor(OutputStride os)
    {
        long s = os == OutputStride.Sixteen ? 16 : 8;
        return new FeatureInfo(new[]
        {
            new StageInfo("b2", 128, 2), new StageInfo("b3", 256, 4), new StageInfo("b4", 512, 8),
            new StageInfo("b5", 1024, s), new StageInfo("b6", 2048, s), new StageInfo("b7", 4096, s),
        }, "b7", "b5");
    }

    public override Features forward(Tensor x)                                // (B, 3, H, W)
    {
        CheckInput(x, 8);
        var feats = new Features(Info);
        try
        {
            var cur = conv1a.forward(x);                                      // (B, 64, H, W)
            string? previousGroup = null;
            foreach (var (group, block) in blocks)
            {
                var (y, act) = block.forward(cur);
                // The first block of a new group pre-activates the previous group's output: that is its stage feature.
                if (previousGroup is not null && group != previousGroup) feats.Add(previousGroup, act); // (B, C_g, H/s, W/s)
                else act.Dispose();
                previousGroup = group;
                cur.Dispose();
                cur = y;
            }
            var (y6, act5) = b6.forward(cur);
            feats.Add("b5", act5);                                            // (B, 1024, H/s, W/s)
            cur.Dispose();
            var (y7, act6) = b7.forward(y6);
            feats.Add("b6", act6);                                            // (B, 2048, H/s, W/s)
            y6.Dispose();
            using (y7)
            using (var n7 = bn7.forward(y7))
                feats.Add("b7", n7.relu());                                   // (B, 4096, H/s, W/s)
        }
        catch
        {
            feats.Dispose();
            throw;
        }
        return feats;
    }
}

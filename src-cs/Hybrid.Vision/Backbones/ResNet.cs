using Hybrid.Torch.Modules;
using TorchSharp.Modules;
using F = TorchSharp.torch.nn.functional;

namespace Hybrid.Vision.Backbones;

public enum ResNetBlockKind { Basic, Bottleneck }

/// <summary>Depth and widths of a ResNet. <see cref="ImageNetStem"/>: torchvision's 7x7 stride-2
/// convolution and 3x3 stride-2 max-pool; otherwise a 3x3 stride-2 convolution and layer1
/// strided instead of the pool (same strides per stage: 4, 8, 16, 32).</summary>
public sealed record ResNetConfig(ResNetBlockKind Block, int[] Layers, long[] Widths, long StemWidth, bool ImageNetStem)
{
    public static readonly ResNetConfig ResNet18 = new(ResNetBlockKind.Basic, new[] { 2, 2, 2, 2 }, new long[] { 64, 128, 256, 512 }, 64, true);
    public static readonly ResNetConfig ResNet34 = new(ResNetBlockKind.Basic, new[] { 3, 4, 6, 3 }, new long[] { 64, 128, 256, 512 }, 64, true);
    public static readonly ResNetConfig ResNet50 = new(ResNetBlockKind.Bottleneck, new[] { 3, 4, 6, 3 }, new long[] { 64, 128, 256, 512 }, 64, true);
    public static readonly ResNetConfig ResNet101 = new(ResNetBlockKind.Bottleneck, new[] { 3, 4, 23, 3 }, new long[] { 64, 128, 256, 512 }, 64, true);

    /// <summary>
    /// The small CPU default (registry name "tiny_resnet"): BasicBlocks, layers [1, 1, 2, 1] of
    /// widths [32, 64, 128, 192], a 3x3 stride-2 stem without max-pool, output stride 8 (layer3
    /// and layer4 dilated): a 96x96 scene gives a 12x12x192 final map. 1,182,560 parameters,
    /// 0.18 GMAC per 96x96 forward. Measured on the 2-core machine at batch 32 while it was
    /// shared (load average 11): 55 ms forward, 161 ms forward+backward per image, so an epoch
    /// of 3,000 FMNIST-Scenes takes at most 8 minutes there and a fraction of that on an idle
    /// machine (bench/Hybrid.Bench.Backbones).
    /// </summary>
    public static readonly ResNetConfig Tiny = new(ResNetBlockKind.Basic, new[] { 1, 1, 2, 1 }, new long[] { 32, 64, 128, 192 }, 32, false);

    public long Expansion => Block == ResNetBlockKind.Basic ? BasicBlock.Expansion : Bottleneck.Expansion;
}

/// <summary>
/// ResNet with torchvision's parameter names (conv1, bn1, layer1..layer4; the ImageNet
/// classifier fc is not part of the backbone and is reported as ignored when a checkpoint
/// has it). Output stride 16 dilates layer4, 8 dilates layer3 and layer4, as torchvision's
/// replace_stride_with_dilation (the first block of a dilated layer keeps the previous dilation).
/// Stages: layer1..layer4 (after each layer's last ReLU); final layer4, low-level tap layer3.
/// </summary>
public sealed class ResNet : Backbone
{
    private readonly Conv2d conv1;
    private readonly nn.Module<Tensor, Tensor> bn1;
    private readonly bool maxpool;
    private readonly Sequential[] layers;

    public override string Name { get; }
    public override FeatureInfo Info { get; }
    public ResNetConfig Config { get; }

    /// <summary>Which of layer2..layer4 trade their stride for dilation at an output stride.</summary>
    internal static bool[] DilatedStages(OutputStride outputStride) => outputStride switch
    {
        OutputStride.ThirtyTwo => new[] { false, false, false },
        OutputStride.Sixteen => new[] { false, false, true },
        OutputStride.Eight => new[] { false, true, true },
        _ => throw new ArgumentOutOfRangeException(nameof(outputStride), outputStride, "ResNets support output stride 8, 16 or 32"),
    };

    public ResNet(string name, ResNetConfig config, OutputStride outputStride = OutputStride.Sixteen, bool frozenBatchNorm = false) : base(nameof(ResNet))
    {
        Name = name;
        Config = config;
        maxpool = config.ImageNetStem;
        conv1 = config.ImageNetStem
            ? this.Child("conv1", nn.Conv2d(3, config.StemWidth, 7, stride: 2, padding: 3, bias: false))
            : this.Child("conv1", nn.Conv2d(3, config.StemWidth, 3, stride: 2, padding: 1, bias: false));
        bn1 = this.Child("bn1", Norms.BatchNorm2d(config.StemWidth, frozenBatchNorm));

        var dilate = DilatedStages(outputStride);
        long inplanes = config.StemWidth, dilation = 1;
        layers = new Sequential[4];
        for (var i = 0; i < 4; i++)
        {
            // layer1 follows the max-pool (stride 1) or replaces it (stride 2); each later layer halves.
            long s = i == 0 ? (config.ImageNetStem ? 1 : 2) : 2;
            var previousDilation = dilation;
            if (i > 0 && dilate[i - 1]) { dilation *= s; s = 1; }
            var planes = config.Widths[i];
            var blocks = new List<nn.Module<Tensor, Tensor>>();
            for (var b = 0; b < config.Layers[i]; b++)
            {
                var (st, d) = b == 0 ? (s, previousDilation) : (1L, dilation);
                blocks.Add(config.Block == ResNetBlockKind.Basic
                    ? new BasicBlock(inplanes, planes, st, d, frozenBatchNorm)
                    : new Bottleneck(inplanes, planes, st, d, frozenBatchNorm));
                inplanes = planes * config.Expansion;
            }
            layers[i] = this.Child($"layer{i + 1}", nn.Sequential(blocks));
        }
        Info = InfoFor(config, outputStride);
        InitWeights();
    }

    /// <summary>Stages of a ResNet at an output stride (without building it).</summary>
    public static FeatureInfo InfoFor(ResNetConfig c, OutputStride os)
    {
        var strides = new long[] { 4, 8, 16, 32 }.Select(s => Math.Min(s, (long)os)).ToArray();
        var stages = Enumerable.Range(0, 4).Select(i => new StageInfo($"layer{i + 1}", c.Widths[i] * c.Expansion, strides[i])).ToList();
        return new FeatureInfo(stages, "layer4", "layer3");
    }

    /// <summary>torchvision's initialisation: Kaiming normal (fan_out, ReLU) convolutions, BN 1 / 0.</summary>
    private void InitWeights()
    {
        foreach (var (_, m) in named_modules())
            if (m is Conv2d c) nn.init.kaiming_normal_(c.weight, mode: nn.init.FanInOut.FanOut, nonlinearity: nn.init.NonlinearityType.ReLU);
    }

    public override bool IsIgnorableCheckpointKey(string key) => key is "fc.weight" or "fc.bias";

    public override Features forward(Tensor x)                                // (B, 3, H, W)
    {
        CheckInput(x, 2);
        var feats = new Features(Info);
        using var c = conv1.forward(x);                                       // (B, C0, H/2, W/2)
        using var n = bn1.forward(c);
        var cur = n.relu();
        if (maxpool)
        {
            var p = F.max_pool2d(cur, new long[] { 3, 3 }, new long[] { 2, 2 }, new long[] { 1, 1 }); // (B, C0, H/4, W/4)
            cur.Dispose();
            cur = p;
        }
        return RunStages(layers, cur, feats);
    }

    /// <summary>layer1..layer4 on the stem's output (taken over: disposed once layer1 has run, or
    /// on failure), each stage's output added to <paramref name="feats"/> as "layer{i}".</summary>
    internal static Features RunStages(Sequential[] layers, Tensor stem, Features feats)
    {
        var cur = stem;
        try
        {
            for (var i = 0; i < layers.Length; i++)
            {
                var next = layers[i].forward(cur);                            // (B, C_i, H/s_i, W/s_i)
                if (i == 0) cur.Dispose();
                feats.Add($"layer{i + 1}", next);
                cur = next;
            }
        }
        catch
        {
            if (feats.Stages.Count == 0) cur.Dispose();
            feats.Dispose();
            throw;
        }
        return feats;
    }
}

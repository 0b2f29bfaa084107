using Hybrid.Torch.Modules;
using TorchSharp.Modules;
using F = TorchSharp.torch.nn.functional;

namespace Hybrid.Vision.Backbones;

/// <summary>
/// The ImageNet-1k ResNet-18 of ML.NET's DnnImageFeaturizer (NuGet
/// Microsoft.ML.DnnImageFeaturizer.ResNet18, MIT; exported from CNTK 2.6 to ONNX IR 3, opset 8),
/// layer for layer: a 7x7 stride-2 stem, BN, ReLU, 3x3 stride-2 max-pool, then basic blocks in
/// stages [2, 2, 2, 3] of widths [64, 128, 256, 512] (one block more in the last stage than
/// torchvision's ResNet-18), stride on the first 3x3 of a stage, 1x1 conv + BN shortcuts where
/// the shape changes, and CNTK's padding (<see cref="CntkPadding"/>) on every strided window.
/// The file ends at the global average pool; there is no classifier. Names follow torchvision
/// (conv1, bn1, layerN.i.conv1 ...). Output stride 16 / 8 dilates layer4 / layer3 and layer4
/// as torchvision's replace_stride_with_dilation (no parameter changes).
/// Input: an RGB batch normalised with ImageNet statistics, as every registered backbone gets;
/// forward turns it into the network's own input (<see cref="BgrMeanInput"/>: 0..255 BGR minus
/// the channel means). Weights: <see cref="Onnx.ResNet18ImageNetWeights"/>.
/// </summary>
public sealed class ResNet18ImageNet : Backbone
{
    public const string RegistryName = "resnet18_imagenet";

    /// <summary>Blocks per stage in the ONNX graph.</summary>
    public static readonly ResNetConfig Config = new(ResNetBlockKind.Basic, new[] { 2, 2, 2, 3 }, new long[] { 64, 128, 256, 512 }, 64, true);

    private readonly Conv2d conv1;
    private readonly nn.Module<Tensor, Tensor> bn1;
    private readonly Sequential[] layers;

    public override string Name => RegistryName;
    public override FeatureInfo Info { get; }

    /// <summary>The normalisation the forward expects its input in (and undoes).</summary>
    public ImageNormalization InputNormalization { get; } = ImageNormalization.ImageNet;

    public ResNet18ImageNet(OutputStride outputStride = OutputStride.Sixteen, bool frozenBatchNorm = false) : base(nameof(ResNet18ImageNet))
    {
        conv1 = this.Child("conv1", nn.Conv2d(3, Config.StemWidth, 7, stride: 2, bias: false));   // padded by CntkPadding
        bn1 = this.Child("bn1", Norms.BatchNorm2d(Config.StemWidth, frozenBatchNorm));
        var dilate = ResNet.DilatedStages(outputStride);
        long inplanes = Config.StemWidth, dilation = 1;
        layers = new Sequential[4];
        for (var i = 0; i < 4; i++)
        {
            long s = i == 0 ? 1 : 2;
            var previousDilation = dilation;
            if (i > 0 && dilate[i - 1]) { dilation *= s; s = 1; }
            var planes = Config.Widths[i];
            var blocks = new List<nn.Module<Tensor, Tensor>>();
            for (var b = 0; b < Config.Layers[i]; b++)
            {
                var (st, d) = b == 0 ? (s, previousDilation) : (1L, dilation);
                blocks.Add(new CntkBasicBlock(inplanes, planes, st, d, frozenBatchNorm));
                inplanes = planes;
            }
            layers[i] = this.Child($"layer{i + 1}", nn.Sequential(blocks));
        }
        Info = InfoFor(outputStride);
        foreach (var (_, m) in named_modules())
            if (m is Conv2d c) nn.init.kaiming_normal_(c.weight, mode: nn.init.FanInOut.FanOut, nonlinearity: nn.init.NonlinearityType.ReLU);
    }

    /// <summary>Stages at an output stride: layer1..layer4 at strides 4, 8, 16, 32 (capped), final layer4, low-level layer3.</summary>
    public static FeatureInfo InfoFor(OutputStride os) => ResNet.InfoFor(Config, os);

    public override Features forward(Tensor x)                                // (B, 3, H, W) ImageNet-normalised RGB
    {
        CheckInput(x, 2);
        var feats = new Features(Info);
        Tensor cur;
        using (var input = BgrMeanInput.FromNormalized(x, InputNormalization))  // (B, 3, H, W) 0..255 BGR - mean
        using (var padded = CntkPadding.Pad(input, 7, 2))                     // (B, 3, H + 5, W + 5) on even sides
        using (var c = conv1.forward(padded))                                 // (B, 64, H/2, W/2)
        using (var n = bn1.forward(c))
        using (var r = n.relu())
        using (var p = CntkPadding.Pad(r, 3, 2, value: double.NegativeInfinity))
            cur = F.max_pool2d(p, new long[] { 3, 3 }, new long[] { 2, 2 });  // (B, 64, H/4, W/4)
        return ResNet.RunStages(layers, cur, feats);
    }

    /// <summary>The ONNX graph's output: the global average of the final map at output stride 32 (B, 512, 1, 1).</summary>
    public static Tensor GlobalPool(Tensor final) => final.mean(new long[] { 2, 3 }, keepdim: true);
}

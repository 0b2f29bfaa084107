namespace Hybrid.Vision.Backbones;

public enum BackboneFamily { ResNet, WideResNet, VisionTransformer }

/// <summary>A registered backbone: what it is, its size and its features at the default options.</summary>
/// <param name="DefaultInputSize">The side its speed is quoted at (ImageNet 224; AuxSegNet+'s 321 crop for
/// wideresnet38; FMNIST-Scenes' 96 for tiny_resnet).</param>
/// <param name="Normalization">The input normalisation of the checkpoints the architecture is usually
/// published with (torchvision, DeiT, PSA: ImageNet statistics; Google's ViT-B/16: 0.5 / 0.5).</param>
public sealed record BackboneSpec(
    string Name,
    string Description,
    long ParameterCount,
    int DefaultInputSize,
    OutputStride DefaultOutputStride,
    IReadOnlyList<OutputStride> SupportedOutputStrides,
    ImageNormalization Normalization,
    BackboneFamily Family,
    Func<OutputStride, FeatureInfo> Describe,
    Func<BackboneOptions, Backbone> Build)
{
    /// <summary>Stages at the default output stride (builds nothing: derived from the spec).</summary>
    public FeatureInfo Info => BackboneRegistry.InfoFor(Name, DefaultOutputStride);
}

/// <summary>
/// Every backbone by name, created with one call: <c>BackboneRegistry.Create("resnet50", new() { OutputStride = OutputStride.Eight })</c>.
/// </summary>
public static class BackboneRegistry
{
    private static readonly OutputStride[] Cnn = { OutputStride.Eight, OutputStride.Sixteen, OutputStride.ThirtyTwo };

    private static readonly BackboneSpec[] Specs =
    {
        new("tiny_resnet",
            "Small CPU default for 96 px FMNIST-Scenes: BasicBlock ResNet, layers [1,1,2,1] x widths [32,64,128,192], "
            + "3x3 stem, output stride 8; 0.18 GMAC per image (speed: ResNetConfig.Tiny)",
            1_182_560, 96, OutputStride.Eight, Cnn, ImageNormalization.ImageNet,
            BackboneFamily.ResNet, os => ResNet.InfoFor(ResNetConfig.Tiny, os),
            o => new ResNet("tiny_resnet", ResNetConfig.Tiny, o.OutputStride ?? OutputStride.Eight, o.FrozenBatchNorm)),
        new("resnet18", "ResNet-18 (He et al. 2016), torchvision names; BasicBlocks dilated as DeepLab for output stride 8/16",
            11_176_512, 224, OutputStride.Sixteen, Cnn, ImageNormalization.ImageNet,
            BackboneFamily.ResNet, os => ResNet.InfoFor(ResNetConfig.ResNet18, os),
            o => new ResNet("resnet18", ResNetConfig.ResNet18, o.OutputStride ?? OutputStride.Sixteen, o.FrozenBatchNorm)),
        new("resnet34", "ResNet-34, torchvision names",
            21_284_672, 224, OutputStride.Sixteen, Cnn, ImageNormalization.ImageNet,
            BackboneFamily.ResNet, os => ResNet.InfoFor(ResNetConfig.ResNet34, os),
            o => new ResNet("resnet34", ResNetConfig.ResNet34, o.OutputStride ?? OutputStride.Sixteen, o.FrozenBatchNorm)),
        new("resnet50", "ResNet-50 (v1.5, stride on the 3x3), torchvision names",
            23_508_032, 224, OutputStride.Sixteen, Cnn, ImageNormalization.ImageNet,
            BackboneFamily.ResNet, os => ResNet.InfoFor(ResNetConfig.ResNet50, os),
            o => new ResNet("resnet50", ResNetConfig.ResNet50, o.OutputStride ?? OutputStride.Sixteen, o.FrozenBatchNorm)),
        new("resnet101", "ResNet-101 (v1.5), torchvision names",
            42_500_160, 224, OutputStride.Sixteen, Cnn, ImageNormalization.ImageNet,
            BackboneFamily.ResNet, os => ResNet.InfoFor(ResNetConfig.ResNet101, os),
            o => new ResNet("resnet101", ResNetConfig.ResNet101, o.OutputStride ?? OutputStride.Sixteen, o.FrozenBatchNorm)),
        new(ResNet18ImageNet.RegistryName,
            "ImageNet ResNet-18 of ML.NET's DnnImageFeaturizer (CNTK export): blocks [2,2,2,3], CNTK padding, own BGR 0-255 input; "
            + "weights: Onnx.ResNet18ImageNetWeights.Pretrained()",
            15_897_152, 224, OutputStride.Sixteen, Cnn, ImageNormalization.ImageNet,
            BackboneFamily.ResNet, ResNet18ImageNet.InfoFor,
            o => new ResNet18ImageNet(o.OutputStride ?? OutputStride.Sixteen, o.FrozenBatchNorm)),
        new("wideresnet38", "WideResNet-38 / ResNet38d of PSA, SEAM and AuxSegNet(+), their parameter names; published output stride 8",
            105_070_912, 321, OutputStride.Eight, new[] { OutputStride.Eight, OutputStride.Sixteen }, ImageNormalization.ImageNet,
            BackboneFamily.WideResNet, os => WideResNet38.InfoFor(os),
            o => new WideResNet38(o.OutputStride ?? OutputStride.Eight, o.FrozenBatchNorm)),
        new("vit_s16", "ViT-S/16 = DeiT-S (D 384, 12 blocks, 6 heads), timm names; output stride 16",
            21_665_664, 224, OutputStride.Sixteen, new[] { OutputStride.Sixteen }, ImageNormalization.ImageNet,
            BackboneFamily.VisionTransformer, _ => VisionTransformer.InfoFor(ViTConfig.Small16),
            o => new VisionTransformer("vit_s16", ViTConfig.Small16, o.DropPathRate, o.PosEmbedInterpolation)),
        new("vit_b16", "ViT-B/16 (D 768, 12 blocks, 12 heads), timm names; output stride 16 (CoSA's backbone)",
            85_798_656, 224, OutputStride.Sixteen, new[] { OutputStride.Sixteen }, ImageNormalization.Inception,
            BackboneFamily.VisionTransformer, _ => VisionTransformer.InfoFor(ViTConfig.Base16),
            o => new VisionTransformer("vit_b16", ViTConfig.Base16, o.DropPathRate, o.PosEmbedInterpolation)),
    };

    /// <summary>Registered names, in listing order.</summary>
    public static IReadOnlyList<string> Names { get; } = Specs.Select(s => s.Name).ToArray();

    /// <summary>Every registered backbone with its size and default features (for `hybrid backbones`).</summary>
    public static IReadOnlyList<BackboneSpec> List() => Specs;

    public static BackboneSpec Spec(string name) =>
        Specs.FirstOrDefault(s => s.Name == name)
        ?? throw new ArgumentException($"unknown backbone '{name}'; registered: {string.Join(", ", Names)}", nameof(name));

    /// <summary>
    /// Builds a backbone. With <see cref="BackboneOptions.Weights"/>, the file is loaded and the
    /// report kept in <see cref="Backbone.LoadedWeights"/>; a checkpoint that misses tensors, has
    /// mis-shaped ones or unknown keys raises, naming them (only classifier keys are ignored).
    /// </summary>
    public static Backbone Create(string name, BackboneOptions? options = null)
    {
        var o = options ?? BackboneOptions.Default;
        var spec = Spec(name);
        if (o.OutputStride is { } os && !spec.SupportedOutputStrides.Contains(os))
            throw new ArgumentException($"{name} does not support output stride {(int)os}; supported: {string.Join(", ", spec.SupportedOutputStrides.Select(s => (int)s))}");
        if (o.DropPathRate != 0 && spec.Family != BackboneFamily.VisionTransformer)
            throw new ArgumentException($"{name}: DropPathRate applies to ViTs only");
        var model = spec.Build(o);
        if (o.Weights is { } file)
        {
            try
            {
                var report = BackboneWeights.Load(model, file);
                if (!report.IsClean) throw new InvalidDataException($"{file} does not fit {name}: {report}");
                model.LoadedWeights = report;
            }
            catch
            {
                model.Dispose();
                throw;
            }
        }
        return model;
    }

    /// <summary>FeatureInfo of a registered backbone at an output stride, without building it.</summary>
    public static FeatureInfo InfoFor(string name, OutputStride os)
    {
        var spec = Spec(name);
        if (!spec.SupportedOutputStrides.Contains(os)) throw new ArgumentException($"{name} does not support output stride {(int)os}");
        return spec.Describe(os);
    }
}

namespace Hybrid.Vision.Backbones;

/// <summary>Stride of a backbone's final feature relative to its input.</summary>
public enum OutputStride
{
    /// <summary>The last two strided stages dilated instead (DeepLab's "output stride 8").</summary>
    Eight = 8,
    /// <summary>The last strided stage dilated instead.</summary>
    Sixteen = 16,
    /// <summary>No dilation: the plain ImageNet classifier layout (ResNets only).</summary>
    ThirtyTwo = 32,
}

/// <summary>How a ViT resizes its position embedding to a token grid other than the one it was trained on.</summary>
public enum PosEmbedInterpolation
{
    /// <summary>Bicubic (a = -0.75, align_corners = false, no antialiasing), as
    /// F.interpolate(mode="bicubic") in CoSA's / ToCo's ViT and older timm. Recent timm's
    /// resample_abs_pos_embed passes antialias=True, which changes values slightly.</summary>
    Bicubic,
    /// <summary>Bilinear (align_corners = false).</summary>
    Bilinear,
}

/// <summary>Construction options shared by every registered backbone.</summary>
public sealed record BackboneOptions
{
    /// <summary>Stride of the final feature; null keeps the backbone's default
    /// (<see cref="BackboneSpec.DefaultOutputStride"/>). Not every backbone supports every value
    /// (a ViT's is its patch size, 16); an unsupported value is an error naming the supported ones.</summary>
    public OutputStride? OutputStride { get; init; }

    /// <summary>A pretrained state dict (.pth / .pt from torch.save, or .safetensors) with
    /// torchvision / timm / PSA parameter names, loaded at creation. Missing or mis-shaped
    /// tensors are an error; classifier weights (fc.*, head.*) are ignored and reported.</summary>
    public string? Weights { get; init; }

    /// <summary>BatchNorm layers use their running statistics in training too and their affine
    /// parameters are not trained (small-batch fine-tuning of a pretrained CNN, as PSA's
    /// ResNet38 and most WSSS ResNet recipes do).</summary>
    public bool FrozenBatchNorm { get; init; }

    /// <summary>ViT stochastic depth: drop-path probability of the last block (linear from 0 over
    /// depth, as timm). 0 disables it.</summary>
    public double DropPathRate { get; init; }

    public PosEmbedInterpolation PosEmbedInterpolation { get; init; } = PosEmbedInterpolation.Bicubic;

    public static BackboneOptions Default { get; } = new();
}

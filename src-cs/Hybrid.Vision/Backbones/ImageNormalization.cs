
namespace Hybrid.Vision.Backbones;

/// <summary>Per-channel input normalisation x' = (x - mean) / std of an RGB image in [0, 1].</summary>
public sealed record ImageNormalization(double[] Mean, double[] Std)
{
    /// <summary>ImageNet statistics as torchvision's weights and transforms use them
    /// (mean 0.485, 0.456, 0.406; std 0.229, 0.224, 0.225), also DeiT's and PSA's.</summary>
    public static readonly ImageNormalization ImageNet = new(new[] { 0.485, 0.456, 0.406 }, new[] { 0.229, 0.224, 0.225 });

    /// <summary>mean = std = 0.5 per channel (inputs in [-1, 1]): timm's original ViT-B/16 weights
    /// (Google's JAX releases, "augreg") expect it. CoSA / ToCo feed ImageNet statistics to
    /// those weights nonetheless; pick the one your checkpoint was trained with.</summary>
    public static readonly ImageNormalization Inception = new(new[] { 0.5, 0.5, 0.5 }, new[] { 0.5, 0.5, 0.5 });

    /// <summary>Normalises a float RGB batch (B, 3, H, W) or image (3, H, W) with values in [0, 1].</summary>
    public Tensor Normalize(Tensor rgb)
    {
        var (mean, std) = Broadcastable(rgb);
        using (mean)
        using (std)
        using (var centred = rgb - mean)
            return centred / std;                                             // same shape as rgb
    }

    /// <summary>The inverse of <see cref="Normalize"/>.</summary>
    public Tensor Denormalize(Tensor x)
    {
        var (mean, std) = Broadcastable(x);
        using (mean)
        using (std)
        using (var scaled = x * std)
            return scaled + mean;
    }

    private (Tensor Mean, Tensor Std) Broadcastable(Tensor x)
    {
        var rank = (int)x.dim();
        if (rank is not (3 or 4) || x.size(rank - 3) != 3)
            throw new ArgumentException($"expected an RGB image (3, H, W) or batch (B, 3, H, W), got [{string.Join(", ", x.shape)}]");
        if (!torch.is_floating_point(x.dtype))
            throw new ArgumentException($"expected a floating-point image with values in [0, 1], got {x.dtype}; divide uint8 images by 255 first");
        var shape = rank == 4 ? new long[] { 1, 3, 1, 1 } : new long[] { 3, 1, 1 };
        var m = torch.tensor(Mean, shape, x.dtype, x.device);               // (1, 3, 1, 1) or (3, 1, 1)
        var s = torch.tensor(Std, shape, x.dtype, x.device);
        return (m, s);
    }
}

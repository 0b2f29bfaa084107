namespace Hybrid.Vision.Backbones;

/// <summary>
/// The input the CNTK ImageNet ResNet-18 was trained on (Caffe's convention): pixel values
/// 0..255 in BGR order minus the training set's mean. ML.NET's ResNetPreprocess.onnx
/// subtracts a 224x224 mean image; its per-channel averages, used here so that any image size
/// works, are B 103.0626, G 115.9029, R 123.1516 (the float32 means of that image's planes).
/// </summary>
public static class BgrMeanInput
{
    /// <summary>Per-channel means in BGR order, 0..255 scale.</summary>
    public static readonly double[] MeanBgr = { 103.062624, 115.902882, 123.151631 };

    /// <summary>RGB in [0, 1] (B, 3, H, W) -> 0..255 BGR minus <see cref="MeanBgr"/>.</summary>
    public static Tensor FromRgb(Tensor rgb) =>
        Affine(rgb, new[] { 255.0, 255.0, 255.0 }, MeanBgr.Select(m => -m).ToArray());

    /// <summary>An RGB batch normalised with <paramref name="normalization"/> (what every
    /// registered backbone receives) -> 0..255 BGR minus <see cref="MeanBgr"/>, in one affine map
    /// per channel: 255 (x std + mean) - m.</summary>
    public static Tensor FromNormalized(Tensor x, ImageNormalization normalization)
    {
        var scale = new double[3];
        var shift = new double[3];
        for (var c = 0; c < 3; c++)                                           // c indexes BGR; RGB channel 2 - c
        {
            scale[c] = 255.0 * normalization.Std[2 - c];
            shift[c] = 255.0 * normalization.Mean[2 - c] - MeanBgr[c];
        }
        return Affine(x, scale, shift);
    }

    /// <summary>y[:, c] = x[:, 2 - c] * scale[c] + shift[c].</summary>
    private static Tensor Affine(Tensor x, double[] scale, double[] shift)
    {
        if (x.dim() != 4 || x.size(1) != 3)
            throw new ArgumentException($"expected an RGB batch (B, 3, H, W), got [{string.Join(", ", x.shape)}]");
        var shape = new long[] { 1, 3, 1, 1 };
        using var s = torch.tensor(scale, shape, x.dtype, x.device);          // (1, 3, 1, 1)
        using var b = torch.tensor(shift, shape, x.dtype, x.device);          // (1, 3, 1, 1)
        using var bgr = x.flip(1);                                            // (B, 3, H, W) in BGR order
        using var scaled = bgr * s;
        return scaled + b;                                                    // (B, 3, H, W)
    }
}

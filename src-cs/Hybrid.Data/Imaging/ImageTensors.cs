namespace Hybrid.Data;

/// <summary>Conversions between images (uint8 HWC) and tensors (float CHW). Tensors are made on <c>device</c> (CPU when null).</summary>
public static class ImageTensors
{
    /// <summary>A float32 tensor (C, H, W) of the pixels times <paramref name="scale"/> (1/255: values in [0, 1]).</summary>
    public static Tensor ToTensor(Image image, float scale = 1f / 255f, Device? device = null) =>
        torch.tensor(image.ToChw(scale), new long[] { image.Channels, image.Height, image.Width }, device: device ?? torch.CPU); // (C, H, W)

    /// <summary>
    /// The image of a (C, H, W) tensor with C = 1 or 3 (any float or integer dtype, any device):
    /// values divided by <paramref name="scale"/>, rounded and clamped to bytes.
    /// </summary>
    public static Image FromTensor(Tensor chw, float scale = 1f / 255f)
    {
        var s = chw.shape;
        if (s.Length != 3 || s[0] is not (1 or 3))
            throw new ArgumentException($"expected a (C, H, W) tensor with C = 1 or 3, got shape [{string.Join(", ", s)}]");
        using var scope = torch.NewDisposeScope();
        var values = chw.detach().to(ScalarType.Float32, torch.CPU).contiguous(); // (C, H, W) on the host
        return Image.FromChw(values.data<float>().ToArray(), (int)s[0], (int)s[1], (int)s[2], scale);
    }

    /// <summary>A uint8 tensor (H, W) of a 1-channel image (mask indices or gray levels).</summary>
    public static Tensor ToIndexTensor(Image image, Device? device = null)
    {
        if (image.Channels != 1) throw new ArgumentException($"expected a 1-channel image, got {image.Channels} channels");
        return torch.tensor(image.Pixels, new long[] { image.Height, image.Width }, device: device ?? torch.CPU); // (H, W)
    }
}

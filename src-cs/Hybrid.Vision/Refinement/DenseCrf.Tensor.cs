
namespace Hybrid.Vision;

public static partial class DenseCrf
{
    /// <summary>Tensor form of <see cref="Infer(ReadOnlySpan{byte}, int, int, float[], int, CrfParams)"/>:
    /// <paramref name="probs"/> (C, H, W) floating point, <paramref name="image"/> uint8 RGB laid out
    /// (H, W, 3) or (3, H, W) (told apart by matching (H, W) of the probabilities). Returns the
    /// marginals (C, H, W) as float32 on the device of <paramref name="probs"/>. The CRF itself runs
    /// on the CPU; tensors on other devices are copied.</summary>
    public static Tensor Infer(Tensor image, Tensor probs, CrfParams p)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(probs);
        var ps = probs.shape;
        if (ps.Length != 3)
            throw new ArgumentException($"probs must be (C, H, W), got shape [{string.Join(", ", ps)}]");
        if (probs.dtype is not (ScalarType.Float32 or ScalarType.Float64 or ScalarType.Float16 or ScalarType.BFloat16))
            throw new ArgumentException($"probs must be floating point, got {probs.dtype}");
        int classes = checked((int)ps[0]), h = checked((int)ps[1]), w = checked((int)ps[2]);
        var rgb = ImageHwc(image, h, w); // (H, W, 3)
        float[] values;
        using (torch.NewDisposeScope()) values = probs.to(ScalarType.Float32, torch.CPU).contiguous().data<float>().ToArray(); // (C, H, W)
        var q = Infer(rgb, h, w, values, classes, p); // (C, H, W)
        var result = torch.tensor(q, [classes, h, w]);
        if (probs.device.type == DeviceType.CPU) return result;
        using (result) return result.to(probs.device);
    }

    /// <summary>As <see cref="Infer(Tensor, Tensor, CrfParams)"/> with a named parameter set.</summary>
    public static Tensor Infer(Tensor image, Tensor probs, CrfPreset preset) => Infer(image, probs, CrfParams.For(preset));

    // The image as (H, W, 3) bytes, from a uint8 tensor (H, W, 3) or (3, H, W).
    static byte[] ImageHwc(Tensor image, int h, int w)
    {
        var s = image.shape;
        if (image.dtype != ScalarType.Byte)
            throw new ArgumentException($"image must be uint8 RGB in 0..255, got {image.dtype}; scale it and call .to(ScalarType.Byte)");
        bool hwc = s.Length == 3 && s[0] == h && s[1] == w && s[2] == 3;
        bool chw = s.Length == 3 && s[0] == 3 && s[1] == h && s[2] == w;
        if (hwc || chw)
        {
            using var scope = torch.NewDisposeScope();
            var t = hwc ? image : image.permute(1, 2, 0);                   // (H, W, 3)
            return t.cpu().contiguous().data<byte>().ToArray();
        }
        throw new ArgumentException(
            $"image must be (H, W, 3) or (3, H, W) with (H, W) = ({h}, {w}) as in probs, got shape [{string.Join(", ", s)}]");
    }
}

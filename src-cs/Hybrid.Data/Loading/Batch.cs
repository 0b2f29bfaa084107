namespace Hybrid.Data;

/// <summary>
/// A collated batch as managed arrays (built on worker threads). <see cref="ToTensors"/> turns it
/// into tensors on the caller's thread, inside the caller's dispose scope.
/// </summary>
public sealed class Batch
{
    public required int[] Indices { get; init; }
    public required int Height { get; init; }
    public required int Width { get; init; }
    public required int NumLabels { get; init; }

    /// <summary>(B, 3, H, W) normalised images.</summary>
    public required float[] Images { get; init; }

    /// <summary>(B, H, W) class indices, 255 = ignore; null when the dataset has no masks.</summary>
    public byte[]? Masks { get; init; }

    /// <summary>(B, 1, H, W) saliency in [0, 1]; null when the dataset has none.</summary>
    public float[]? Saliency { get; init; }

    /// <summary>(B, K) multi-hot foreground labels.</summary>
    public required float[] Labels { get; init; }

    /// <summary>(B, 3, H, W) CoSA strong views sharing each image's geometry; null unless configured.</summary>
    public float[]? Strong { get; init; }

    /// <summary>(B, H, W) true where the crop padded the image (no image content).</summary>
    public required bool[] Padding { get; init; }

    public required Geometry[] Geometries { get; init; }

    /// <summary>The partner of each sample (same order), when a <see cref="PartnerSampler"/> is set.</summary>
    public Batch? Partners { get; init; }

    /// <summary>Where <see cref="ToTensors"/> puts the tensors unless told otherwise (the loader's device; CPU by default).</summary>
    public Device Device { get; init; } = torch.CPU;

    public int Count => Indices.Length;

    public static Batch Collate(IReadOnlyList<AugmentedSample> samples, IReadOnlyList<float[]> labels, Batch? partners = null,
        Device? device = null)
    {
        var first = samples[0];
        int h = first.Height, w = first.Width, plane = h * w, b = samples.Count;
        foreach (var s in samples)
            if ((s.Height, s.Width) != (h, w))
                throw new InvalidOperationException(
                    $"cannot batch images of different sizes ({w}x{h} and {s.Width}x{s.Height}): set a crop size or use batch size 1");
        bool hasMask = samples.All(s => s.Mask is not null);
        bool hasSaliency = samples.All(s => s.Saliency is not null);
        bool hasStrong = samples.All(s => s.Strong is not null);
        int k = labels[0].Length;
        var images = new float[b * 3 * plane];
        var masks = hasMask ? new byte[b * plane] : null;
        var saliency = hasSaliency ? new float[b * plane] : null;
        var strong = hasStrong ? new float[b * 3 * plane] : null;
        var multiHot = new float[b * k];
        var padding = new bool[b * plane];
        for (int i = 0; i < b; i++)
        {
            var s = samples[i];
            s.Image.CopyTo(images, i * 3 * plane);
            s.Mask?.CopyTo(masks!, i * plane);
            s.Saliency?.CopyTo(saliency!, i * plane);
            s.Strong?.CopyTo(strong!, i * 3 * plane);
            s.Padding.CopyTo(padding, i * plane);
            labels[i].CopyTo(multiHot, i * k);
        }
        return new Batch
        {
            Indices = samples.Select(s => s.Index).ToArray(),
            Height = h,
            Width = w,
            NumLabels = k,
            Images = images,
            Masks = masks,
            Saliency = saliency,
            Labels = multiHot,
            Strong = strong,
            Padding = padding,
            Geometries = samples.Select(s => s.Geometry).ToArray(),
            Partners = partners,
            Device = device ?? torch.CPU,
        };
    }

    /// <summary>
    /// The batch as tensors on <paramref name="device"/> (default: <see cref="Device"/>): images float32
    /// (B, 3, H, W), masks int64 (B, H, W), saliency (B, 1, H, W), labels (B, K). They belong to the
    /// caller's dispose scope.
    /// </summary>
    public TensorBatch ToTensors(Device? device = null)
    {
        var on = device ?? Device;
        long b = Count, h = Height, w = Width;
        Tensor? masks = null;
        if (Masks is not null)
        {
            // Bytes cross to the device, the widening to int64 happens there.
            using var bytes = torch.tensor(Masks, new[] { b, h, w }, device: on); // (B, H, W) uint8
            masks = bytes.to(ScalarType.Int64); // (B, H, W)
        }
        return new TensorBatch(
            Indices,
            torch.tensor(Images, new[] { b, 3, h, w }, device: on), // (B, 3, H, W)
            masks,
            Saliency is null ? null : torch.tensor(Saliency, new[] { b, 1, h, w }, device: on), // (B, 1, H, W)
            torch.tensor(Labels, new[] { b, (long)NumLabels }, device: on), // (B, K)
            Strong is null ? null : torch.tensor(Strong, new[] { b, 3, h, w }, device: on), // (B, 3, H, W)
            torch.tensor(Padding, new[] { b, h, w }, device: on), // (B, H, W) bool
            Partners?.ToTensors(on));
    }
}

/// <summary>A batch as tensors; disposing it disposes them all (partners included).</summary>
public sealed record TensorBatch(
    int[] Indices,
    Tensor Images,
    Tensor? Masks,
    Tensor? Saliency,
    Tensor Labels,
    Tensor? Strong,
    Tensor Padding,
    TensorBatch? Partners) : IDisposable
{
    public void Dispose()
    {
        Images.Dispose();
        Masks?.Dispose();
        Saliency?.Dispose();
        Labels.Dispose();
        Strong?.Dispose();
        Padding.Dispose();
        Partners?.Dispose();
    }
}

namespace Hybrid.Data;

/// <summary>An image, its mask and saliency map as loaded from disk, checked to have one size.</summary>
public sealed record LoadedSample(SegmentationSample Sample, Image Image, Image? Mask, Image? Saliency);

/// <summary>
/// A split of a segmentation dataset as read by <see cref="VocReader"/> or <see cref="CocoReader"/>:
/// its class names (background first), its samples, and any label disagreements found.
/// </summary>
public sealed class SegmentationDataset
{
    public string Name { get; }
    public IReadOnlyList<string> ClassNames { get; }
    public IReadOnlyList<SegmentationSample> Samples { get; }
    public IReadOnlyList<LabelDisagreement> Disagreements { get; }

    public SegmentationDataset(string name, IReadOnlyList<string> classNames,
        IReadOnlyList<SegmentationSample> samples, IReadOnlyList<LabelDisagreement>? disagreements = null)
    {
        Name = name;
        ClassNames = classNames;
        Samples = samples;
        Disagreements = disagreements ?? Array.Empty<LabelDisagreement>();
    }

    /// <summary>Classes including background.</summary>
    public int NumClasses => ClassNames.Count;

    public int Count => Samples.Count;

    public SegmentationSample this[int index] => Samples[index];

    public bool HasMasks => Samples.Count > 0 && Samples.All(s => s.MaskPath is not null);

    public bool HasSaliency => Samples.Count > 0 && Samples.All(s => s.SaliencyPath is not null);

    /// <summary>Multi-hot image labels over the foreground classes: length C-1, entry c-1 for class c.</summary>
    public float[] LabelVector(int index)
    {
        var v = new float[NumClasses - 1];
        foreach (int c in Samples[index].Classes) v[c - 1] = 1f;
        return v;
    }

    /// <summary>Decodes the image (as RGB), its mask and saliency map (when present); sizes must agree.</summary>
    public LoadedSample Load(int index)
    {
        var s = Samples[index];
        var image = ImageIO.Read(s.ImagePath).ToRgb();
        Image? mask = s.MaskPath is null ? null : MaskIO.Read(s.MaskPath, NumClasses);
        Image? saliency = s.SaliencyPath is null ? null : ImageIO.Read(s.SaliencyPath).ToGray();
        if (mask is not null && (mask.Width, mask.Height) != (image.Width, image.Height))
            throw new InvalidDataException(
                $"mask '{s.MaskPath}' is {mask.Width}x{mask.Height} but image '{s.ImagePath}' is {image.Width}x{image.Height}");
        if (saliency is not null && (saliency.Width, saliency.Height) != (image.Width, image.Height))
            throw new InvalidDataException(
                $"saliency map '{s.SaliencyPath}' is {saliency.Width}x{saliency.Height} but image '{s.ImagePath}' is {image.Width}x{image.Height}");
        return new LoadedSample(s, image, mask, saliency);
    }

    /// <summary>How many images contain each class (index = class; background entry counts nothing).</summary>
    public int[] ClassCounts()
    {
        var counts = new int[NumClasses];
        foreach (var s in Samples)
            foreach (int c in s.Classes) counts[c]++;
        return counts;
    }
}

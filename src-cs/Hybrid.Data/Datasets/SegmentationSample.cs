namespace Hybrid.Data;

/// <summary>
/// One image of a segmentation dataset: its files and its image-level labels.
/// <see cref="Classes"/> are the foreground class indices present (1..C-1, background 0 excluded),
/// sorted ascending.
/// </summary>
public sealed record SegmentationSample(
    string Id,
    string ImagePath,
    string? MaskPath,
    string? SaliencyPath,
    IReadOnlyList<int> Classes);

/// <summary>An image whose annotation labels and mask classes differ.</summary>
public sealed record LabelDisagreement(string Id, IReadOnlyList<int> OnlyInAnnotation, IReadOnlyList<int> OnlyInMask)
{
    public string Describe(IReadOnlyList<string> classNames) =>
        $"{Id}: annotation-only [{string.Join(", ", OnlyInAnnotation.Select(c => classNames[c]))}], " +
        $"mask-only [{string.Join(", ", OnlyInMask.Select(c => classNames[c]))}]";
}

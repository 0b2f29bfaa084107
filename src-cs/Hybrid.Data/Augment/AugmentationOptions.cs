namespace Hybrid.Data;

/// <summary>How an image is randomly rescaled before cropping.</summary>
public abstract record Rescale
{
    private Rescale() { }

    /// <summary>Keep the size.</summary>
    public sealed record None : Rescale;

    /// <summary>Rescale so that the long side is uniform in [Min, Max] pixels (e.g. 320..640 for VOC).</summary>
    public sealed record LongSide(int Min, int Max) : Rescale;

    /// <summary>Rescale by a factor uniform in [Min, Max] (e.g. 0.5..2.0).</summary>
    public sealed record Factor(double Min, double Max) : Rescale;
}

/// <summary>Random colour jitter (torchvision's ColorJitter): factors in [1 - x, 1 + x], hue shift in [-Hue, Hue] turns.</summary>
public sealed record ColourJitter(double Brightness, double Contrast, double Saturation, double Hue);

/// <summary>Gaussian blur applied with probability <paramref name="Probability"/>, sigma uniform in [SigmaMin, SigmaMax] pixels.</summary>
public sealed record GaussianBlurOptions(double Probability, double SigmaMin, double SigmaMax);

/// <summary>The strong photometric operations of CoSA's strong view (PIL ImageOps / ImageEnhance semantics).</summary>
public enum StrongOp
{
    AutoContrast,
    Equalize,
    Solarize,
    Posterize,
    Colour,
    Contrast,
    Brightness,
    Sharpness,
}

/// <summary>
/// CoSA's strong view: <paramref name="OpsPerImage"/> operations drawn from <see cref="Ops"/>
/// (RandAugment-style) at a magnitude uniform in [0, <paramref name="MaxMagnitude"/>], applied
/// to the same geometry as the weak view.
/// </summary>
public sealed record StrongAugmentation(int OpsPerImage = 2, double MaxMagnitude = 0.9)
{
    public IReadOnlyList<StrongOp> Ops { get; init; } = Enum.GetValues<StrongOp>();
}

/// <summary>
/// The training augmentation: geometry (rescale, crop with padding, flip) shared by image, mask
/// and saliency, then photometric ops on the image, then normalisation.
/// </summary>
public sealed record AugmentationOptions
{
    public Rescale Rescale { get; init; } = new Rescale.None();

    /// <summary>Square crop side; smaller images are padded (image: the mean colour, mask: 255, saliency: 0). Null: no crop.</summary>
    public int? CropSize { get; init; }

    public bool HorizontalFlip { get; init; } = true;
    public ColourJitter? Jitter { get; init; }
    public GaussianBlurOptions? Blur { get; init; }

    /// <summary>Per-channel mean and standard deviation (of [0, 1] RGB) for normalisation; ImageNet's by default.</summary>
    public IReadOnlyList<float> Mean { get; init; } = new[] { 0.485f, 0.456f, 0.406f };
    public IReadOnlyList<float> Std { get; init; } = new[] { 0.229f, 0.224f, 0.225f };

    /// <summary>When set, each sample also gets a strong view (CoSA) sharing its geometry.</summary>
    public StrongAugmentation? Strong { get; init; }

    /// <summary>No randomness: normalisation only (evaluation).</summary>
    public static AugmentationOptions Eval { get; } = new() { HorizontalFlip = false };

    /// <summary>The default training recipe at crop size <paramref name="cropSize"/>: rescale 0.75-1.25, flip, mild jitter.</summary>
    public static AugmentationOptions Train(int cropSize) => new()
    {
        Rescale = new Rescale.Factor(0.75, 1.25),
        CropSize = cropSize,
        HorizontalFlip = true,
        Jitter = new ColourJitter(0.3, 0.3, 0.3, 0.05),
    };

    public void Validate()
    {
        void Check(bool ok, string message)
        {
            if (!ok) throw new ArgumentException("augmentation: " + message);
        }
        switch (Rescale)
        {
            case Rescale.LongSide l: Check(l.Min > 0 && l.Max >= l.Min, "long-side range must satisfy 0 < min <= max"); break;
            case Rescale.Factor f: Check(f.Min > 0 && f.Max >= f.Min, "factor range must satisfy 0 < min <= max"); break;
        }
        Check(CropSize is null or > 0, "crop size must be positive");
        Check(Mean.Count == 3 && Std.Count == 3 && Std.All(s => s > 0), "mean and std need 3 entries, std > 0");
        if (Jitter is { } j) Check(j.Brightness >= 0 && j.Contrast >= 0 && j.Saturation >= 0 && j.Hue is >= 0 and <= 0.5, "jitter strengths must be >= 0 and hue <= 0.5");
        if (Blur is { } b) Check(b.Probability is >= 0 and <= 1 && b.SigmaMin > 0 && b.SigmaMax >= b.SigmaMin, "blur needs probability in [0, 1] and 0 < sigma min <= max");
        if (Strong is { } s) Check(s.OpsPerImage >= 0 && s.MaxMagnitude is >= 0 and <= 1 && s.Ops.Count > 0, "strong augmentation needs ops, ops per image >= 0, magnitude in [0, 1]");
    }
}

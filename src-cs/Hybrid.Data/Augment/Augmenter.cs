namespace Hybrid.Data;

/// <summary>
/// An augmented sample: (3, H, W) normalised image, (H, W) mask (255 = ignore, also the padding),
/// (H, W) saliency in [0, 1], and, with CoSA's strong augmentation, a (3, H, W) strong view that
/// shares <see cref="Geometry"/> with the image. <see cref="Padding"/> (H, W) marks the pixels
/// the crop padded (no image content): a method's pseudo labels must not label them.
/// </summary>
public sealed record AugmentedSample(int Index, Geometry Geometry, int Height, int Width,
    float[] Image, byte[]? Mask, float[]? Saliency, float[]? Strong, bool[] Padding);

/// <summary>Applies <see cref="AugmentationOptions"/> to loaded samples; all randomness comes from the given <see cref="Rng"/>.</summary>
public sealed class Augmenter
{
    public AugmentationOptions Options { get; }
    private readonly float[] _pad; // the mean colour in [0, 255]: zero after normalisation

    public Augmenter(AugmentationOptions options)
    {
        options.Validate();
        Options = options;
        _pad = options.Mean.Select(m => m * 255f).ToArray();
    }

    public AugmentedSample Apply(LoadedSample sample, int index, Rng rng)
    {
        var image = sample.Image.ToRgb();
        var g = Geometry.Sample(Options, image.Width, image.Height, rng);
        int h = g.OutH, w = g.OutW, plane = h * w;

        var valid = new bool[plane];
        var geometric = g.ApplyBilinear(image.Pixels, 3, _pad, valid); // (3, h, w) in [0, 255]
        byte[]? mask = sample.Mask is null ? null : g.ApplyNearest(sample.Mask.Pixels, MaskIO.Ignore);
        float[]? saliency = sample.Saliency is null ? null : g.ApplyBilinear(sample.Saliency.Pixels, 1, new[] { 0f }, scale: 1f / 255f);

        var weak = (float[])geometric.Clone();
        if (Options.Jitter is { } jitter) Photometric.Jitter(weak, valid, jitter, rng);
        if (Options.Blur is { } blur && rng.Bernoulli(blur.Probability))
            Photometric.GaussianBlur(weak, valid, h, w, rng.Uniform(blur.SigmaMin, blur.SigmaMax), _pad);

        float[]? strong = null;
        if (Options.Strong is { } s)
        {
            strong = geometric; // same geometry, its own photometric ops
            for (int k = 0; k < s.OpsPerImage; k++)
            {
                var op = s.Ops[rng.NextInt(s.Ops.Count)];
                StrongOps.Apply(op, strong, valid, h, w, rng.Uniform(0, s.MaxMagnitude), rng);
            }
            Normalise(strong, valid);
        }
        Normalise(weak, valid);
        var padding = Array.ConvertAll(valid, v => !v);
        return new AugmentedSample(index, g, h, w, weak, mask, saliency, strong, padding);
    }

    /// <summary>(x / 255 - mean) / std per channel; padding becomes exactly 0.</summary>
    private void Normalise(float[] img, bool[] valid)
    {
        int plane = valid.Length;
        for (int c = 0; c < 3; c++)
        {
            float mean = Options.Mean[c], inv = 1f / Options.Std[c];
            for (int i = 0; i < plane; i++)
                img[c * plane + i] = valid[i] ? (img[c * plane + i] / 255f - mean) * inv : 0f;
        }
    }
}

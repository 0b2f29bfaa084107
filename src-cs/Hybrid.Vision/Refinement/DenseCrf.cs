namespace Hybrid.Vision;

/// <summary>
/// Fully connected CRF refinement (Krähenbühl and Koltun, NIPS 2011): mean-field inference with
/// an appearance-free Gaussian kernel and a bilateral kernel, Potts compatibility, filtered
/// through permutohedral lattices in time linear in the number of pixels. Parameter sets of the
/// papers: <see cref="CrfParams.For"/>.
/// </summary>
public static partial class DenseCrf
{
    /// <summary>Refines class probabilities (C, H, W) of an image (H, W, 3) RGB 0..255 and returns
    /// the marginals Q (C, H, W); every pixel's column sums to 1. The probabilities become unary
    /// energies -ln(max(p, 1e-5)) (<see cref="CrfUnary.FromProbabilities"/>); they need not be
    /// normalised.</summary>
    public static float[] Infer(ReadOnlySpan<byte> rgbHwc, int h, int w, float[] probsChw, int classes, CrfParams p)
    {
        ArgumentNullException.ThrowIfNull(probsChw);
        CheckProbs(probsChw, h, w, classes);
        return InferUnary(rgbHwc, h, w, CrfUnary.FromProbabilities(probsChw), classes, p);
    }

    /// <summary>As <see cref="Infer(ReadOnlySpan{byte}, int, int, float[], int, CrfParams)"/> with a
    /// named parameter set.</summary>
    public static float[] Infer(ReadOnlySpan<byte> rgbHwc, int h, int w, float[] probsChw, int classes, CrfPreset preset) =>
        Infer(rgbHwc, h, w, probsChw, classes, CrfParams.For(preset));

    /// <summary>Refines unary energies U (C, H, W) (negative log-probabilities, e.g. from
    /// <see cref="CrfUnary"/>) and returns the marginals Q (C, H, W).</summary>
    public static float[] InferUnary(ReadOnlySpan<byte> rgbHwc, int h, int w, float[] unaryChw, int classes, CrfParams p)
    {
        ArgumentNullException.ThrowIfNull(unaryChw);
        return new DenseCrfModel(rgbHwc, h, w, p).Infer(unaryChw, classes);
    }

    /// <summary>The mean-field free energy F(Q) (see <see cref="MeanFieldCrf"/>) of marginals Q
    /// (C, H, W) under unary U (C, H, W): non-increasing over the iterations of
    /// <see cref="InferUnary"/>. Build a <see cref="DenseCrfModel"/> to evaluate many Q on one image.</summary>
    public static double FreeEnergy(ReadOnlySpan<byte> rgbHwc, int h, int w, float[] unaryChw, float[] qChw, int classes, CrfParams p)
    {
        ArgumentNullException.ThrowIfNull(unaryChw);
        ArgumentNullException.ThrowIfNull(qChw);
        return new DenseCrfModel(rgbHwc, h, w, p).FreeEnergy(unaryChw, qChw, classes);
    }

    /// <summary>Per-pixel argmax (H, W) of a (C, H, W) map, ties to the lower class.</summary>
    public static int[] Argmax(ReadOnlySpan<float> chw, int classes)
    {
        if (classes < 1 || chw.Length % classes != 0)
            throw new ArgumentException($"a (C, H, W) map with C = {classes} cannot hold {chw.Length} values");
        int n = chw.Length / classes;
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            float best = chw[i];
            for (int c = 1; c < classes; c++)
                if (chw[c * n + i] > best) { best = chw[c * n + i]; labels[i] = c; }
        }
        return labels;
    }

    static void CheckProbs(float[] probsChw, int h, int w, int classes)
    {
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(classes), classes, "classes must be >= 1");
        if (h < 1 || w < 1) throw new ArgumentException($"image size must be at least 1x1, got {h}x{w}");
        if (probsChw.Length != (long)classes * h * w)
            throw new ArgumentException(
                $"probabilities must hold C*H*W = {classes}*{h}*{w} = {(long)classes * h * w} values laid out (C, H, W), got {probsChw.Length}");
    }
}

namespace Hybrid.Vision;

/// <summary>Unary energies (negative log-probabilities), laid out (C, H, W), for the dense CRF.</summary>
public static class CrfUnary
{
    /// <summary>Lower clip applied to probabilities before the logarithm; pydensecrf's
    /// unary_from_softmax, which all the papers' CRF code calls, clips at the same value.</summary>
    public const float DefaultProbabilityClip = 1e-5f;

    /// <summary>U = -ln(max(p, clip)) for scores p laid out (C, H, W). The scores need not sum to
    /// one per pixel (PSA feeds CAMs with a power background); the CRF's first step renormalises.</summary>
    public static float[] FromProbabilities(ReadOnlySpan<float> probsChw, float clip = DefaultProbabilityClip)
    {
        if (!(clip > 0) || !(clip <= 1))
            throw new ArgumentOutOfRangeException(nameof(clip), clip, "clip must lie in (0, 1]");
        var u = new float[probsChw.Length]; // (C, H, W)
        for (int i = 0; i < u.Length; i++)
        {
            float p = probsChw[i];
            if (float.IsNaN(p) || p < 0)
                throw new ArgumentException(
                    $"probabilities must be >= 0 and not NaN; element {i} is {p}. Pass softmax outputs or non-negative scores.");
            u[i] = -MathF.Log(MathF.Max(p, clip));
        }
        return u;
    }

    /// <summary>Unary from a hard label map (H, W): the labelled class gets probability
    /// <paramref name="gtProb"/>, every other class (1 - gtProb) / (C - 1); pixels whose label equals
    /// <paramref name="unsureLabel"/> get a uniform unary. This is the construction of pydensecrf's
    /// unary_from_labels that SIPE/PLDA-COCO use with gt_prob 0.7 (preset PldaCocoLabels).</summary>
    public static float[] FromLabels(ReadOnlySpan<int> labelsHw, int classes, float gtProb = 0.7f, int? unsureLabel = null)
    {
        if (classes < 2)
            throw new ArgumentOutOfRangeException(nameof(classes), classes, "a label unary needs at least 2 classes");
        if (!(gtProb > 0) || !(gtProb < 1))
            throw new ArgumentOutOfRangeException(nameof(gtProb), gtProb, "gtProb must lie in (0, 1)");
        int n = labelsHw.Length;
        float on = -MathF.Log(gtProb);
        float off = -MathF.Log((1 - gtProb) / (classes - 1));
        float uniform = MathF.Log(classes);
        var u = new float[classes * n]; // (C, H, W)
        for (int i = 0; i < n; i++)
        {
            int l = labelsHw[i];
            if (unsureLabel is int unsure && l == unsure)
            {
                for (int c = 0; c < classes; c++) u[c * n + i] = uniform;
                continue;
            }
            if ((uint)l >= (uint)classes)
                throw new ArgumentException(
                    $"label {l} at pixel {i} is outside 0..{classes - 1}; map ignore values to unsureLabel or pass more classes");
            for (int c = 0; c < classes; c++) u[c * n + i] = c == l ? on : off;
        }
        return u;
    }

    /// <summary>Two-class unary (background, salient), laid out (2, H, W), from a saliency map in
    /// [0, 1]: U_bg = -ln(1 - s + eps) / (tau sigmoid(1 - s)), U_fg = -ln(s + eps) / (tau sigmoid(s)).
    /// This is the DSS saliency CRF (Hou et al., TPAMI 2019) as AuxSegNet's code applies it for the
    /// saliency labels of AuxSegNet+ Eq. 1 (xulianuwa/AuxSegNet tool/imutils.py crf_for_sal,
    /// tau = 1.05, eps = 1e-8); use it with preset AuxSegNetPlusSaliency. Channel 1 of the CRF
    /// output is the refined saliency.</summary>
    public static float[] FromSaliency(ReadOnlySpan<float> saliencyHw, double tau = 1.05, double eps = 1e-8)
    {
        if (!(tau > 0)) throw new ArgumentOutOfRangeException(nameof(tau), tau, "tau must be > 0");
        if (!(eps > 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, "eps must be > 0");
        int n = saliencyHw.Length;
        var u = new float[2 * n]; // (2, H, W)
        for (int i = 0; i < n; i++)
        {
            double s = saliencyHw[i];
            if (double.IsNaN(s) || s < 0 || s > 1)
                throw new ArgumentException($"saliency must lie in [0, 1]; pixel {i} is {s}. Normalise the map first.");
            u[i] = (float)(-Math.Log(1 - s + eps) / (tau * Sigmoid(1 - s)));
            u[n + i] = (float)(-Math.Log(s + eps) / (tau * Sigmoid(s)));
        }
        return u;
    }

    static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));
}

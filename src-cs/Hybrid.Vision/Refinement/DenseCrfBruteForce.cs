namespace Hybrid.Vision;

/// <summary>
/// Reference dense CRF with exact Gaussian sums: the N x N matrix sum_k w_k W_k is formed
/// explicitly (in double precision) and every mean-field step multiplies by it, O(N^2). Same
/// update, normalisation and energy as <see cref="DenseCrfModel"/>, so the two differ only by
/// the lattice approximation. Meant for tests on tiny images; refuses more than
/// <see cref="MaxPixels"/> pixels.
/// </summary>
public sealed class DenseCrfBruteForce : MeanFieldCrf
{
    /// <summary>Largest image (in pixels) the reference accepts (its matrix takes 8 N^2 bytes).</summary>
    public const int MaxPixels = 48 * 48;

    readonly double[] _w; // (N, N): sum_k w_k D_k^-1/2 K_k D_k^-1/2
    readonly double _pairwiseTotal;

    /// <summary>Builds the exact kernels for an image (H, W, 3) RGB in 0..255.</summary>
    public DenseCrfBruteForce(ReadOnlySpan<byte> rgbHwc, int height, int width, CrfParams p)
        : base(height, width, p)
    {
        CrfFeatures.CheckImage(rgbHwc, height, width);
        if (PixelCount > MaxPixels)
            throw new ArgumentException(
                $"the exact O(N^2) CRF is for tiny images (at most {MaxPixels} pixels), got {height}x{width}; use DenseCrfModel");
        int n = PixelCount;
        _w = new double[n * n];
        if (p.PosW > 0) AddKernel(_w, n, p.PosW, CrfFeatures.Spatial(height, width, p.PosXyStd), 2);
        if (p.BiW > 0) AddKernel(_w, n, p.BiW, CrfFeatures.Bilateral(rgbHwc, height, width, p.BiXyStd, p.BiRgbStd), 5);
        double total = 0;
        foreach (double v in _w) total += v;
        _pairwiseTotal = total;
    }

    private protected override double PairwiseTotal => _pairwiseTotal;

    private protected override void AccumulatePairwise(float[] q, float[] msg, int stride)
    {
        int n = PixelCount;
        var acc = new double[stride];
        for (int i = 0; i < n; i++)
        {
            Array.Clear(acc);
            for (int j = 0; j < n; j++)
            {
                double wij = _w[i * n + j];
                for (int c = 0; c < stride; c++) acc[c] += wij * q[j * stride + c];
            }
            for (int c = 0; c < stride; c++) msg[i * stride + c] += (float)acc[c];
        }
    }

    // w += weight * D^-1/2 K D^-1/2 with K_ij = exp(-|f_i - f_j|^2 / 2), D = diag(K 1).
    static void AddKernel(double[] w, int n, double weight, float[] features, int dim)
    {
        var k = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                double d2 = 0;
                for (int t = 0; t < dim; t++)
                {
                    double diff = (double)features[i * dim + t] - features[j * dim + t];
                    d2 += diff * diff;
                }
                k[i * n + j] = Math.Exp(-0.5 * d2);
            }
        var scale = new double[n];
        for (int i = 0; i < n; i++)
        {
            double deg = 0;
            for (int j = 0; j < n; j++) deg += k[i * n + j];
            scale[i] = 1 / Math.Sqrt(deg);
        }
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) w[i * n + j] += weight * scale[i] * k[i * n + j] * scale[j];
    }
}

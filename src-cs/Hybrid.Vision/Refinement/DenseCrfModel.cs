namespace Hybrid.Vision;

/// <summary>
/// Dense CRF on one image with both Gaussian kernels filtered through permutohedral lattices:
/// linear in the number of pixels. Build once per image, then run <see cref="MeanFieldCrf.Infer"/>
/// for as many unaries as needed (e.g. PSA's low- and high-alpha CAM refinements of one image).
/// </summary>
public sealed class DenseCrfModel : MeanFieldCrf
{
    sealed class Kernel(float weight, PermutohedralLattice lattice)
    {
        public readonly float Weight = weight;
        public readonly PermutohedralLattice Lattice = lattice; // points scaled by D^-1/2
        public float[]? BufA, BufB;
    }

    readonly Kernel[] _kernels;
    readonly double _pairwiseTotal;

    /// <summary>Builds the lattices of the spatial kernel (pos_*) and of the bilateral kernel (bi_*)
    /// for an image (H, W, 3) RGB in 0..255. Kernels with zero weight are skipped.</summary>
    public DenseCrfModel(ReadOnlySpan<byte> rgbHwc, int height, int width, CrfParams p)
        : base(height, width, p)
    {
        CrfFeatures.CheckImage(rgbHwc, height, width);
        var kernels = new List<Kernel>();
        if (p.PosW > 0)
            kernels.Add(MakeKernel((float)p.PosW, CrfFeatures.Spatial(height, width, p.PosXyStd), 2));
        if (p.BiW > 0)
            kernels.Add(MakeKernel((float)p.BiW, CrfFeatures.Bilateral(rgbHwc, height, width, p.BiXyStd, p.BiRgbStd), 5));
        _kernels = [.. kernels];

        // sum_k w_k 1^T W_k 1.
        double total = 0;
        var ones = new float[PixelCount];
        Array.Fill(ones, 1f);
        var w1 = new float[PixelCount];
        foreach (var k in _kernels)
        {
            Filter(k, ones, w1, 1, accumulate: false); // w1 = w_k W_k 1
            foreach (float v in w1) total += v;
        }
        _pairwiseTotal = total;
    }

    /// <summary>Lattice vertex counts of the kernels actually used (spatial first), for diagnostics.</summary>
    public IReadOnlyList<int> LatticeVertexCounts => _kernels.Select(k => k.Lattice.VertexCount).ToArray();

    private protected override double PairwiseTotal => _pairwiseTotal;

    private protected override void AccumulatePairwise(float[] q, float[] msg, int stride)
    {
        foreach (var k in _kernels) Filter(k, q, msg, stride, accumulate: true);
    }

    // out (+)= weight * Wk in, Wk = D^-1/2 Kl D^-1/2 (the scales live in the lattice weights).
    static void Filter(Kernel k, float[] input, float[] output, int stride, bool accumulate)
    {
        int m = k.Lattice.VertexCount;
        if (k.BufA is null || k.BufA.Length < m * stride)
            (k.BufA, k.BufB) = k.Lattice.CreateBuffers(stride);
        k.Lattice.Filter(input, output, stride, k.BufA, k.BufB!, k.Weight, accumulate);
    }

    static Kernel MakeKernel(float weight, float[] features, int d)
    {
        int n = features.Length / d;
        var lattice = PermutohedralLattice.Build(features, n, d);
        // D = diag(Kl 1); the lattice's constant factor cancels in D^-1/2 Kl D^-1/2.
        var ones = new float[n];
        Array.Fill(ones, 1f);
        var deg = new float[n];
        var (a, b) = lattice.CreateBuffers(1);
        lattice.Filter(ones, deg, 1, a, b);
        var scale = new float[n];
        for (int i = 0; i < n; i++) scale[i] = 1f / MathF.Sqrt(deg[i]);
        lattice.ScalePoints(scale);
        return new Kernel(weight, lattice);
    }
}

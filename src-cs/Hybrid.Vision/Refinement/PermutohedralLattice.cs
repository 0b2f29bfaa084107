namespace Hybrid.Vision;

/// <summary>
/// Gaussian filtering of N points with d-dimensional features through the permutohedral lattice
/// of Adams, Baek and Davis (Eurographics 2010): each point is splatted onto the d + 1 vertices of
/// the lattice simplex enclosing it (barycentric weights), the lattice values are blurred along
/// the d + 1 lattice directions, and each point reads (slices) its simplex back. Cost is
/// O(N d^2) to build and O((N + M) d C) per filtering of C channels, M = lattice vertices <= N (d+1).
/// <para>
/// Differences from the paper, all deliberate: (1) each [1 2 1]/4 blur along direction j is
/// applied as a forward two-tap pass F_j = (I + N_j)/2 and later its transpose, so the filter is
/// exactly S^T G^T G S with G = F_d ... F_0. That matrix is symmetric positive semidefinite even
/// where the lattice is truncated (missing neighbours), which is what makes the parallel
/// mean-field update provably monotone (see MeanFieldCrf). On a full lattice G^T G equals the
/// paper's blur. (2) Splatting scatters two fixed halves of the points into two buffers in
/// parallel and adds them, so it needs no atomics and gives the same bits on any machine.
/// </para>
/// Features are expected already divided by their standard deviations, so the target kernel is
/// exp(-|f_i - f_j|^2 / 2). The lattice output approximates <see cref="GaussianScale"/> times the
/// exact Gaussian sum.
/// </summary>
internal sealed class PermutohedralLattice
{
    /// <summary>Feature dimension d.</summary>
    public int Dim { get; }
    /// <summary>Number of points N.</summary>
    public int PointCount { get; }
    /// <summary>Number of lattice vertices M.</summary>
    public int VertexCount { get; }

    /// <summary>The factor c in Filter(v)_i ~= c * sum_j exp(-|f_i - f_j|^2 / 2) v_j, from a
    /// uniform-density argument: a vertex collects the points of its Voronoi cell (covolume of the
    /// lattice (d+1) A*_d, (d+1)^(d - 1/2), shrunk by the scale s^d), the normalised blur and the
    /// interpolating slice keep a uniform field unchanged, and the Gaussian integrates to
    /// (2 pi)^(d/2).</summary>
    public double GaussianScale { get; }

    readonly int[] _sliceVertex;   // (N, d+1): the simplex vertices of each point
    readonly float[] _sliceWeight; // (N, d+1): its barycentric weights (times ScalePoints' factor)
    readonly int[] _next;          // (d+1, M): vertex + step_j, or -1
    readonly int[] _prev;          // (d+1, M): vertex - step_j, or -1

    PermutohedralLattice(int d, int n, int m, int[] sliceVertex, float[] sliceWeight, int[] next, int[] prev)
    {
        Dim = d;
        PointCount = n;
        VertexCount = m;
        _sliceVertex = sliceVertex;
        _sliceWeight = sliceWeight;
        _next = next;
        _prev = prev;
        double s = ScaleFactor(d);
        GaussianScale = Math.Pow(d + 1, d - 0.5) / (Math.Pow(s, d) * Math.Pow(2 * Math.PI, d / 2.0));
    }

    /// <summary>Feature scale s = (d+1) sqrt(2/3) (Adams et al. 2010): the blur of [1 2 1]/4 along
    /// the d+1 lattice directions contributes variance (d+1)^2 / 2 per axis, splatting and slicing
    /// the remaining (d+1)^2 / 6, so the whole filter has unit variance in feature units (measured
    /// by the lattice moment test).</summary>
    static double ScaleFactor(int d) => (d + 1) * Math.Sqrt(2.0 / 3.0);

    /// <summary>Builds the lattice for <paramref name="n"/> points whose features are the rows of
    /// <paramref name="features"/> (N, d), each already divided by its standard deviation.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static PermutohedralLattice Build(ReadOnlySpan<float> features, int n, int d)
    {
        if (d < 1 || d > 16) throw new ArgumentOutOfRangeException(nameof(d), d, "feature dimension must be in 1..16");
        if (features.Length != n * d)
            throw new ArgumentException($"features must hold N*d = {n}*{d} values, got {features.Length}");
        int k1 = d + 1;
        double s = ScaleFactor(d);

        // Orthonormal (Helmert) basis of the hyperplane sum(x) = 0 in R^(d+1):
        // b_k = (1, ..., 1 [k times], -k, 0, ...) / sqrt(k (k+1)), k = 1..d.
        Span<double> basis = stackalloc double[k1];
        for (int k = 1; k <= d; k++) basis[k] = s / Math.Sqrt(k * (k + 1.0));

        Span<double> elevated = stackalloc double[k1];
        Span<double> delta = stackalloc double[k1];
        Span<double> sorted = stackalloc double[k1];
        Span<int> rem0 = stackalloc int[k1];
        Span<int> rank = stackalloc int[k1];
        Span<int> key = stackalloc int[d];

        var hash = new LatticeHash(d, Math.Max(16, n));
        var sliceVertex = new int[n * k1];
        var sliceWeight = new float[n * k1];

        for (int i = 0; i < n; i++)
        {
            var f = features.Slice(i * d, d);
            for (int t = 0; t < d; t++)
                if (!float.IsFinite(f[t]))
                    throw new ArgumentException($"feature {t} of point {i} is {f[t]}; features must be finite");

            // Elevate onto the hyperplane: e = sum_k s f_(k-1) b_k, in O(d) with a suffix sum.
            double suffix = 0;
            for (int k = d; k >= 1; k--)
            {
                double c = f[k - 1] * basis[k];
                elevated[k] = suffix - k * c;
                suffix += c;
            }
            elevated[0] = suffix;

            // Nearest remainder-0 point (all coordinates multiples of d+1), coordinate-wise.
            int sum = 0;
            for (int t = 0; t < k1; t++)
            {
                int r = (int)Math.Round(elevated[t] / k1, MidpointRounding.AwayFromZero);
                rem0[t] = r * k1;
                sum += r;
                delta[t] = elevated[t] - rem0[t];
                rank[t] = 0;
            }
            // rank 0 = largest offset; ties broken by coordinate index.
            for (int a = 0; a < k1; a++)
                for (int b = a + 1; b < k1; b++)
                    if (delta[a] < delta[b]) rank[a]++; else rank[b]++;

            // The rounded point must lie on the hyperplane: move |sum| coordinates by d+1,
            // the ones whose offsets are most extreme in the direction of the excess.
            if (sum > 0)
            {
                for (int t = 0; t < k1; t++)
                    if (rank[t] >= k1 - sum) { rem0[t] -= k1; delta[t] += k1; rank[t] += sum - k1; }
                    else rank[t] += sum;
            }
            else if (sum < 0)
            {
                for (int t = 0; t < k1; t++)
                    if (rank[t] < -sum) { rem0[t] += k1; delta[t] -= k1; rank[t] += k1 + sum; }
                    else rank[t] += sum;
            }

            // Barycentric coordinates from the sorted offsets y_(0) >= ... >= y_(d):
            // b_k = (y_(d-k) - y_(d-k+1)) / (d+1), k >= 1; b_0 = 1 - (y_(0) - y_(d)) / (d+1).
            for (int t = 0; t < k1; t++) sorted[rank[t]] = delta[t];
            for (int k = 0; k < k1; k++)
            {
                double bk = k == 0
                    ? 1 - (sorted[0] - sorted[d]) / k1
                    : (sorted[d - k] - sorted[d - k + 1]) / k1;
                // Vertex k of the simplex: remainder-k point, coordinate t shifted by k if its
                // rank is below d+1-k, else by k-(d+1). Its key is the first d coordinates.
                for (int t = 0; t < d; t++) key[t] = rem0[t] + (rank[t] < k1 - k ? k : k - k1);
                sliceVertex[i * k1 + k] = hash.FindOrInsert(key);
                sliceWeight[i * k1 + k] = (float)bk;
            }
        }

        int m = hash.Count;
        var next = new int[k1 * m];
        var prev = new int[k1 * m];
        Array.Fill(prev, -1);
        for (int v = 0; v < m; v++)
        {
            var kv = hash.Key(v);
            for (int j = 0; j < k1; j++)
            {
                // step_j = (1, ..., 1) - (d+1) e_j; on the stored first d coordinates.
                for (int t = 0; t < d; t++) key[t] = kv[t] + 1 - (t == j ? k1 : 0);
                int u = hash.Find(key);
                next[j * m + v] = u;
                if (u >= 0) prev[j * m + u] = v;
            }
        }
        return new PermutohedralLattice(d, n, m, sliceVertex, sliceWeight, next, prev);
    }

    /// <summary>Scratch buffers big enough to filter <paramref name="stride"/> channels.</summary>
    public (float[] A, float[] B) CreateBuffers(int stride) => (new float[VertexCount * stride], new float[VertexCount * stride]);

    /// <summary>Folds a per-point factor into the point weights (used by both splat and slice),
    /// so that afterwards <see cref="Filter"/> computes diag(s) Kl diag(s).</summary>
    public void ScalePoints(ReadOnlySpan<float> s)
    {
        if (s.Length != PointCount) throw new ArgumentException($"need {PointCount} point scales, got {s.Length}");
        int k1 = Dim + 1;
        for (int i = 0; i < PointCount; i++)
            for (int k = 0; k < k1; k++) _sliceWeight[i * k1 + k] *= s[i];
    }

    /// <summary>
    /// output_i (+)= weight * sum_j Kl_ij input_j for rows of <paramref name="stride"/> floats,
    /// Kl = S^T G^T G S the lattice approximation of the Gaussian kernel (times
    /// <see cref="GaussianScale"/>, and scaled as set by <see cref="ScalePoints"/>).
    /// With <paramref name="accumulate"/> false the output rows are overwritten.
    /// </summary>
    public void Filter(float[] input, float[] output, int stride, float[] bufA, float[] bufB, float weight = 1f, bool accumulate = false)
    {
        int n = PointCount, m = VertexCount;
        if (input.Length < n * stride || output.Length < n * stride)
            throw new ArgumentException($"filter input/output must hold N*stride = {n}*{stride} floats");
        if (bufA.Length < m * stride || bufB.Length < m * stride)
            throw new ArgumentException("lattice buffers are too small for this stride");

        long work = (long)(n + m) * stride * (Dim + 1);
        LatticeKernels.Splat(_sliceVertex, _sliceWeight, Dim + 1, input, bufA, bufB, m, stride, work);

        // Blur: G = F_d ... F_0 then G^T = F_0^T ... F_d^T, ping-ponging between the buffers.
        float[] src = bufA, dst = bufB;
        for (int j = 0; j <= Dim; j++)
        {
            LatticeKernels.Pass(_next, j * m, m, src, dst, stride, work);
            (src, dst) = (dst, src);
        }
        for (int j = Dim; j >= 0; j--)
        {
            LatticeKernels.Pass(_prev, j * m, m, src, dst, stride, work);
            (src, dst) = (dst, src);
        }

        LatticeKernels.Slice(_sliceVertex, _sliceWeight, Dim + 1, src, output, stride, weight, accumulate, work);
    }
}

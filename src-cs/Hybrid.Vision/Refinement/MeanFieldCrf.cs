using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Hybrid.Vision;

/// <summary>
/// Parallel mean-field inference for a fully connected CRF with Potts compatibility
/// (Krähenbühl and Koltun 2011, Alg. 1). Subclasses supply the pairwise operator
/// m = sum_k w_k W_k Q over all pixels; this class owns the update and the energy.
/// <para>
/// Update: Q_0 = softmax(-U); Q_(t+1),i = softmax(-U_i + sum_k w_k sum_j W_k,ij Q_t,j), the j = i
/// term included (as the permutohedral filter, and pydensecrf, include it).
/// </para>
/// <para>
/// Monotone quantity: the mean-field free energy with the kernel's diagonal kept,
/// F(Q) = sum_i sum_l Q_il (U_il + ln Q_il) + 1/2 sum_k w_k sum_i,j W_k,ij (1 - Q_i . Q_j).
/// Its pairwise part is, on the simplex, a constant minus a positive semidefinite quadratic form
/// (w_k >= 0, each W_k PSD), hence concave; the update above is exactly the concave-convex
/// (CCCP) step that linearises that part at Q_t and minimises the rest, so
/// F(Q_(t+1)) &lt;= F(Q_t) for every t (the same concave-convex view of parallel mean-field as in
/// Krähenbühl and Koltun, ICML 2013). W_k = D^-1/2 K D^-1/2 (see <see cref="CrfParams"/>) is PSD
/// for the exact Gaussian K (Bochner) and for our lattice filter S^T G^T G S by construction.
/// </para>
/// Instances hold scratch buffers and are not safe for concurrent calls.
/// </summary>
public abstract class MeanFieldCrf
{
    /// <summary>Image height H.</summary>
    public int Height { get; }
    /// <summary>Image width W.</summary>
    public int Width { get; }
    /// <summary>Pixel count N = H W.</summary>
    public int PixelCount => Height * Width;
    /// <summary>The parameters this model was built with.</summary>
    public CrfParams Params { get; }

    private protected MeanFieldCrf(int height, int width, CrfParams p)
    {
        ArgumentNullException.ThrowIfNull(p);
        if (height < 1 || width < 1)
            throw new ArgumentException($"image size must be at least 1x1, got {height}x{width}");
        if ((long)height * width > int.MaxValue / 8)
            throw new ArgumentException($"image {height}x{width} is too large for the CRF");
        p.Validate();
        Height = height;
        Width = width;
        Params = p;
    }

    /// <summary>Adds sum_k w_k W_k q to <paramref name="msg"/>; both are (N, stride), pixel-major,
    /// channels beyond the class count are zero and must stay zero.</summary>
    private protected abstract void AccumulatePairwise(float[] q, float[] msg, int stride);

    /// <summary>sum_k w_k 1^T W_k 1, the constant of the free energy.</summary>
    private protected abstract double PairwiseTotal { get; }

    /// <summary>Marginals Q (C, H, W) after <see cref="CrfParams.Iterations"/> mean-field steps from
    /// unary energies U (C, H, W) (negative log-probabilities, see <see cref="CrfUnary"/>).</summary>
    public float[] Infer(ReadOnlySpan<float> unaryChw, int classes)
    {
        float[]? last = null;
        foreach (var q in Run(unaryChw, classes, yieldAll: false)) last = q;
        return last!;
    }

    /// <summary>Q_0 (= softmax(-U)), Q_1, ..., Q_T with T = <see cref="CrfParams.Iterations"/>,
    /// each a fresh (C, H, W) array.</summary>
    public IReadOnlyList<float[]> Iterates(ReadOnlySpan<float> unaryChw, int classes)
    {
        var all = new List<float[]>();
        foreach (var q in Run(unaryChw, classes, yieldAll: true)) all.Add(q);
        return all;
    }

    /// <summary>The free energy F(Q) above for marginals Q (C, H, W) and unary U (C, H, W). Up to
    /// a constant it is KL(Q || P) of the mean-field approximation.</summary>
    public double FreeEnergy(ReadOnlySpan<float> unaryChw, ReadOnlySpan<float> qChw, int classes)
    {
        int n = PixelCount, stride = Stride(classes);
        CheckUnary(unaryChw, classes);
        if (qChw.Length != classes * n)
            throw new ArgumentException($"marginals must hold C*H*W = {classes}*{Height}*{Width} values, got {qChw.Length}");
        var q = new float[n * stride];
        ToPixelMajor(qChw, classes, stride, q, negate: false, pad: 0f);
        var msg = new float[n * stride];
        AccumulatePairwise(q, msg, stride);
        double unaryAndEntropy = 0, quadratic = 0;
        for (int c = 0; c < classes; c++)
            for (int i = 0; i < n; i++)
            {
                double qi = q[i * stride + c];
                if (qi < 0 || double.IsNaN(qi))
                    throw new ArgumentException($"marginal {qi} at class {c}, pixel {i} is not a probability");
                if (qi > 0) unaryAndEntropy += qi * (unaryChw[c * n + i] + Math.Log(qi));
                quadratic += qi * msg[i * stride + c];
            }
        return unaryAndEntropy + 0.5 * (PairwiseTotal - quadratic);
    }

    /// <summary>The pairwise messages sum_k w_k W_k q (C, H, W) for a (C, H, W) input; for tests
    /// comparing the lattice filter with exact sums.</summary>
    internal float[] PairwiseMessages(ReadOnlySpan<float> qChw, int classes)
    {
        int stride = Stride(classes);
        var q = new float[PixelCount * stride];
        ToPixelMajor(qChw, classes, stride, q, negate: false, pad: 0f);
        var msg = new float[q.Length];
        AccumulatePairwise(q, msg, stride);
        return ToChw(msg, classes, stride);
    }

    // Scratch reused across calls, (N, stride) each.
    float[] _negU = [], _q = [], _msg = [];

    List<float[]> Run(ReadOnlySpan<float> unaryChw, int classes, bool yieldAll)
    {
        CheckUnary(unaryChw, classes);
        int n = PixelCount, stride = Stride(classes);
        if (_q.Length != n * stride)
        {
            _negU = new float[n * stride];
            _q = new float[n * stride];
            _msg = new float[n * stride];
        }
        var (negU, q, msg) = (_negU, _q, _msg);
        // -U with padding channels at -inf, so that the padded softmax gives them zero mass.
        ToPixelMajor(unaryChw, classes, stride, negU, negate: true, pad: float.NegativeInfinity);
        Softmax(negU, q, stride);
        var results = new List<float[]>();
        if (yieldAll || Params.Iterations == 0) results.Add(ToChw(q, classes, stride));
        for (int t = 0; t < Params.Iterations; t++)
        {
            Array.Copy(negU, msg, msg.Length);
            AccumulatePairwise(q, msg, stride);
            Softmax(msg, q, stride);
            if (yieldAll || t == Params.Iterations - 1) results.Add(ToChw(q, classes, stride));
        }
        return results;
    }

    void CheckUnary(ReadOnlySpan<float> unaryChw, int classes)
    {
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(classes), classes, "classes must be >= 1");
        if (unaryChw.Length != (long)classes * PixelCount)
            throw new ArgumentException(
                $"unary must hold C*H*W = {classes}*{Height}*{Width} = {(long)classes * PixelCount} values laid out (C, H, W), got {unaryChw.Length}");
        int n = PixelCount;
        var allowed = new bool[n];
        for (int c = 0; c < classes; c++)
        {
            var plane = unaryChw.Slice(c * n, n);
            for (int i = 0; i < n; i++)
            {
                float u = plane[i];
                if (float.IsNaN(u) || float.IsNegativeInfinity(u))
                    throw new ArgumentException($"unary of class {c} at pixel {i} is {u}; energies must be numbers (use +inf to forbid a label)");
                if (!float.IsPositiveInfinity(u)) allowed[i] = true;
            }
        }
        int bad = Array.IndexOf(allowed, false);
        if (bad >= 0)
            throw new ArgumentException(
                $"pixel {bad} (row {bad / Width}, column {bad % Width}) has +inf unary energy for every class; at least one label must be allowed");
    }

    /// <summary>Channels padded to a whole number of SIMD vectors.</summary>
    private protected static int Stride(int classes)
    {
        int v = Vector<float>.Count;
        return (classes + v - 1) / v * v;
    }

    const int TransposeBlock = 256; // pixels per block: both layouts stay in cache

    static void ToPixelMajor(ReadOnlySpan<float> chw, int classes, int stride, float[] pm, bool negate, float pad)
    {
        int n = chw.Length / classes;
        float sign = negate ? -1f : 1f;
        for (int i0 = 0; i0 < n; i0 += TransposeBlock)
        {
            int i1 = Math.Min(n, i0 + TransposeBlock);
            for (int c = 0; c < classes; c++)
            {
                var plane = chw.Slice(c * n, n);
                for (int i = i0; i < i1; i++) pm[i * stride + c] = sign * plane[i];
            }
            if (stride > classes)
                for (int i = i0; i < i1; i++) pm.AsSpan(i * stride + classes, stride - classes).Fill(pad);
        }
    }

    static float[] ToChw(float[] pm, int classes, int stride)
    {
        int n = pm.Length / stride;
        var chw = new float[classes * n];
        for (int i0 = 0; i0 < n; i0 += TransposeBlock)
        {
            int i1 = Math.Min(n, i0 + TransposeBlock);
            for (int c = 0; c < classes; c++)
                for (int i = i0; i < i1; i++) chw[c * n + i] = pm[i * stride + c];
        }
        return chw;
    }

    // q_i = softmax(logits_i) over whole rows; padding logits are -inf and get zero mass.
    static void Softmax(float[] logits, float[] q, int stride)
    {
        int n = logits.Length / stride;
        Chunked.For(n, 16L * n * stride, (start, end) => SoftmaxRange(logits, q, stride, start, end));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void SoftmaxRange(float[] logits, float[] q, int stride, int start, int end)
    {
        int vw = Vector<float>.Count; // stride is a multiple of it
        ref float x = ref MemoryMarshal.GetArrayDataReference(logits);
        ref float y = ref MemoryMarshal.GetArrayDataReference(q);
        for (int i = start; i < end; i++)
        {
            nuint row = (nuint)(i * stride);
            var vmax = new Vector<float>(float.NegativeInfinity);
            for (int c = 0; c < stride; c += vw) vmax = Vector.Max(vmax, Vector.LoadUnsafe(ref x, row + (nuint)c));
            float max = vmax[0];
            for (int l = 1; l < vw; l++) max = MathF.Max(max, vmax[l]); // finite: CheckUnary allows a label
            var bmax = new Vector<float>(max);
            var vsum = Vector<float>.Zero;
            for (int c = 0; c < stride; c += vw)
            {
                var e = Vector.Exp(Vector.LoadUnsafe(ref x, row + (nuint)c) - bmax);
                e.StoreUnsafe(ref y, row + (nuint)c);
                vsum += e;
            }
            var inv = new Vector<float>(1f / Vector.Sum(vsum));
            for (int c = 0; c < stride; c += vw)
                (Vector.LoadUnsafe(ref y, row + (nuint)c) * inv).StoreUnsafe(ref y, row + (nuint)c);
        }
    }
}

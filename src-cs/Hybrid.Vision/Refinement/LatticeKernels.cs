using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Hybrid.Vision;

/// <summary>The inner loops of permutohedral filtering on rows of <c>stride</c> floats
/// (pixel-major or vertex-major). When the stride is a whole number of SIMD vectors each row is
/// processed as vectors accumulated in registers; otherwise (e.g. the one-channel degree pass) a
/// scalar loop runs. Loops write disjoint rows, so their parallel chunks are deterministic.
/// Indices come from the lattice's own tables, which are in range by construction.</summary>
internal static class LatticeKernels
{
    /// <summary>Splat: A_v = sum over points i with v among their simplex vertices of w_iv input_i.
    /// Points are scattered in order. For large inputs the points are split into two fixed halves
    /// scattered in parallel into <paramref name="lattice"/> and <paramref name="spare"/>, which
    /// are then added (spare is clobbered): the split depends on the input size only, so results
    /// are identical on any machine. Scattering reads the input sequentially and writes the small
    /// lattice, which stays in cache; a gather over vertices would read the input at random.</summary>
    public static void Splat(int[] vertex, float[] weights, int k1, float[] input, float[] lattice, float[] spare, int m, int stride, long work)
    {
        int n = vertex.Length / k1;
        if (!Chunked.WorthParallel(work))
        {
            ScatterRange(vertex, weights, k1, input, lattice, m, stride, 0, n);
            return;
        }
        int half = n / 2;
        Parallel.Invoke(
            () => ScatterRange(vertex, weights, k1, input, lattice, m, stride, 0, half),
            () => ScatterRange(vertex, weights, k1, input, spare, m, stride, half, n));
        Chunked.For(m, (long)m * stride, (v0, v1) => AddRange(lattice, spare, stride, v0, v1));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void ScatterRange(int[] vertex, float[] weights, int k1, float[] input, float[] lattice, int m, int stride, int i0, int i1)
    {
        Array.Clear(lattice, 0, m * stride);
        ref float x = ref MemoryMarshal.GetArrayDataReference(input);
        ref float a = ref MemoryMarshal.GetArrayDataReference(lattice);
        int vw = Vector<float>.Count;
        for (int i = i0; i < i1; i++)
        {
            int b = i * k1;
            if (stride % vw == 0)
            {
                for (int c = 0; c < stride; c += vw)
                {
                    var xi = Vector.LoadUnsafe(ref x, (nuint)(i * stride + c));
                    for (int k = 0; k < k1; k++)
                    {
                        nuint at = (nuint)(vertex[b + k] * stride + c);
                        (Vector.LoadUnsafe(ref a, at) + new Vector<float>(weights[b + k]) * xi).StoreUnsafe(ref a, at);
                    }
                }
            }
            else
            {
                for (int k = 0; k < k1; k++)
                {
                    int row = vertex[b + k] * stride;
                    float wk = weights[b + k];
                    for (int c = 0; c < stride; c++) lattice[row + c] += wk * input[i * stride + c];
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void AddRange(float[] into, float[] from, int stride, int v0, int v1)
    {
        var dst = into.AsSpan(v0 * stride, (v1 - v0) * stride);
        var src = from.AsSpan(v0 * stride, (v1 - v0) * stride);
        int i = 0, vw = Vector<float>.Count;
        for (; i <= dst.Length - vw; i += vw) (new Vector<float>(dst[i..]) + new Vector<float>(src[i..])).CopyTo(dst[i..]);
        for (; i < dst.Length; i++) dst[i] += src[i];
    }

    /// <summary>dst_v = (src_v + src_(link(v))) / 2 for v in [0, M), a link of -1 counting as zero;
    /// link(v) = links[offset + v].</summary>
    public static void Pass(int[] links, int offset, int m, float[] src, float[] dst, int stride, long work) =>
        Chunked.For(m, work, (v0, v1) => PassRange(links, offset, src, dst, stride, v0, v1));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void PassRange(int[] links, int offset, float[] src, float[] dst, int stride, int v0, int v1)
    {
        ref float s = ref MemoryMarshal.GetArrayDataReference(src);
        ref float d = ref MemoryMarshal.GetArrayDataReference(dst);
        int vw = Vector<float>.Count;
        var half = new Vector<float>(0.5f);
        for (int v = v0; v < v1; v++)
        {
            int u = links[offset + v];
            if (stride % vw == 0)
            {
                for (int c = 0; c < stride; c += vw)
                {
                    var own = Vector.LoadUnsafe(ref s, (nuint)(v * stride + c));
                    var sum = u >= 0 ? own + Vector.LoadUnsafe(ref s, (nuint)(u * stride + c)) : own;
                    (sum * half).StoreUnsafe(ref d, (nuint)(v * stride + c));
                }
            }
            else
            {
                for (int c = 0; c < stride; c++)
                    dst[v * stride + c] = 0.5f * (src[v * stride + c] + (u >= 0 ? src[u * stride + c] : 0f));
            }
        }
    }

    /// <summary>out_i (+)= scale * sum_k weights_(i,k) A_(vertex_(i,k)) for every point i.</summary>
    public static void Slice(int[] vertex, float[] weights, int k1, float[] lattice, float[] output, int stride,
        float scale, bool accumulate, long work) =>
        Chunked.For(vertex.Length / k1, work, (i0, i1) => SliceRange(vertex, weights, k1, lattice, output, stride, scale, accumulate, i0, i1));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void SliceRange(int[] vertex, float[] weights, int k1, float[] lattice, float[] output, int stride,
        float scale, bool accumulate, int i0, int i1)
    {
        ref float a = ref MemoryMarshal.GetArrayDataReference(lattice);
        ref float o = ref MemoryMarshal.GetArrayDataReference(output);
        int vw = Vector<float>.Count;
        var vs = new Vector<float>(scale);
        for (int i = i0; i < i1; i++)
        {
            int b = i * k1;
            if (stride % vw == 0)
            {
                for (int c = 0; c < stride; c += vw)
                {
                    var acc = Vector<float>.Zero;
                    for (int k = 0; k < k1; k++)
                        acc += new Vector<float>(weights[b + k]) * Vector.LoadUnsafe(ref a, (nuint)(vertex[b + k] * stride + c));
                    acc *= vs;
                    nuint at = (nuint)(i * stride + c);
                    if (accumulate) acc += Vector.LoadUnsafe(ref o, at);
                    acc.StoreUnsafe(ref o, at);
                }
            }
            else
            {
                for (int c = 0; c < stride; c++)
                {
                    float acc = 0;
                    for (int k = 0; k < k1; k++) acc += weights[b + k] * lattice[vertex[b + k] * stride + c];
                    acc *= scale;
                    output[i * stride + c] = accumulate ? output[i * stride + c] + acc : acc;
                }
            }
        }
    }
}

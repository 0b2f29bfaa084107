using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Hybrid.Vision;

/// <summary>The three inner loops of permutohedral filtering on rows of <c>stride</c> floats
/// (pixel-major or vertex-major). When the stride is a whole number of SIMD vectors each row is
/// processed as vectors accumulated in registers; otherwise (e.g. the one-channel degree pass) a
/// scalar loop runs. Loops write disjoint rows, so their parallel chunks are deterministic.
/// Indices come from the lattice's own tables, which are in range by construction.</summary>
internal static class LatticeKernels
{
    /// <summary>A_v = sum_(e in gather(v)) weight_e input_(point_e), for every vertex v.</summary>
    public static void Splat(int[] start, int[] point, float[] weight, float[] input, float[] lattice, int stride, long work) =>
        Chunked.For(start.Length - 1, work, (v0, v1) => SplatRange(start, point, weight, input, lattice, stride, v0, v1));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void SplatRange(int[] start, int[] point, float[] weight, float[] input, float[] lattice, int stride, int v0, int v1)
    {
        ref float x = ref MemoryMarshal.GetArrayDataReference(input);
        ref float a = ref MemoryMarshal.GetArrayDataReference(lattice);
        int vw = Vector<float>.Count;
        for (int v = v0; v < v1; v++)
        {
            int e0 = start[v], e1 = start[v + 1];
            if (stride % vw == 0)
            {
                for (int c = 0; c < stride; c += vw)
                {
                    var acc = Vector<float>.Zero;
                    for (int e = e0; e < e1; e++)
                        acc += new Vector<float>(weight[e]) * Vector.LoadUnsafe(ref x, (nuint)(point[e] * stride + c));
                    acc.StoreUnsafe(ref a, (nuint)(v * stride + c));
                }
            }
            else
            {
                for (int c = 0; c < stride; c++)
                {
                    float acc = 0;
                    for (int e = e0; e < e1; e++) acc += weight[e] * input[point[e] * stride + c];
                    lattice[v * stride + c] = acc;
                }
            }
        }
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

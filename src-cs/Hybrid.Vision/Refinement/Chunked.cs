using System.Numerics;

namespace Hybrid.Vision;

/// <summary>Loop helpers for the CRF kernels.</summary>
internal static class Chunked
{
    /// <summary>Below this many (estimated) float operations a loop runs on the calling thread:
    /// forking costs more than it saves, above all on a loaded machine.</summary>
    const long ParallelWork = 1L << 21;

    /// <summary>Runs body(start, end) over disjoint ranges covering [0, n), in parallel when
    /// <paramref name="work"/> is large. Each index is handled by exactly one call with a fixed
    /// order inside it, so results do not depend on scheduling as long as body writes only to its
    /// own indices.</summary>
    public static void For(int n, long work, Action<int, int> body)
    {
        int workers = Environment.ProcessorCount;
        if (!WorthParallel(work) || n < 2 * workers)
        {
            body(0, n);
            return;
        }
        int chunks = (int)Math.Min(2L * workers, Math.Max(2, work / (ParallelWork / 2)));
        Parallel.For(0, chunks, c =>
        {
            long start = (long)n * c / chunks, end = (long)n * (c + 1) / chunks;
            body((int)start, (int)end);
        });
    }

    /// <summary>True when a loop of <paramref name="work"/> float operations should fork.</summary>
    public static bool WorthParallel(long work) => Environment.ProcessorCount > 1 && work >= ParallelWork;

    /// <summary>z = a x.</summary>
    public static void Scale(float a, ReadOnlySpan<float> x, Span<float> z)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<float>.Count)
        {
            var va = new Vector<float>(a);
            for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count)
                (va * new Vector<float>(x[i..])).CopyTo(z[i..]);
        }
        for (; i < x.Length; i++) z[i] = a * x[i];
    }
}

namespace Hybrid.Torch.Tests;

/// <summary>Deterministic test inputs from System.Random (independent of libtorch's RNG).</summary>
internal static class Data
{
    /// <summary>Float64 standard normals (Box-Muller), scaled and shifted.</summary>
    public static Tensor Normal(long[] shape, int seed, double scale = 1, double shift = 0)
    {
        var rng = new Random(seed);
        var n = shape.Aggregate(1L, (a, b) => a * b);
        var v = new double[n];
        for (var i = 0; i < n; i++)
        {
            var u1 = 1.0 - rng.NextDouble();
            var u2 = rng.NextDouble();
            v[i] = shift + scale * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
        }
        return torch.tensor(v, shape);
    }

    /// <summary>Float64 uniform in [lo, hi).</summary>
    public static Tensor Uniform(long[] shape, int seed, double lo = 0, double hi = 1)
    {
        var rng = new Random(seed);
        var n = shape.Aggregate(1L, (a, b) => a * b);
        var v = new double[n];
        for (var i = 0; i < n; i++) v[i] = lo + (hi - lo) * rng.NextDouble();
        return torch.tensor(v, shape);
    }

    public static Tensor Longs(long[] values, params long[] shape) => torch.tensor(values, shape);

    public static long[] S(params long[] s) => s;
}

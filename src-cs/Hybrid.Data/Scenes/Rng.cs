namespace Hybrid.Data;

/// <summary>
/// xoshiro256** (Blackman and Vigna, 2018), seeded through <see cref="SplitMix64"/>. An explicit algorithm
/// so that generated data are identical across runtimes; one instance per image, seeded from
/// (seed, stream, index), keeps parallel generation deterministic.
/// </summary>
public sealed class Rng
{
    private ulong _s0, _s1, _s2, _s3;

    public Rng(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix64.Next(ref x);
        _s1 = SplitMix64.Next(ref x);
        _s2 = SplitMix64.Next(ref x);
        _s3 = SplitMix64.Next(ref x);
    }

    /// <summary>An independent generator for item <paramref name="index"/> of stream <paramref name="stream"/>.</summary>
    public static Rng For(long seed, ulong stream, long index)
    {
        ulong x = unchecked((ulong)seed);
        ulong a = SplitMix64.Next(ref x);
        x = a ^ (stream * 0xD1B54A32D192ED03UL);
        ulong b = SplitMix64.Next(ref x);
        x = b ^ unchecked((ulong)index * 0x8CB92BA72F3D8DD7UL);
        return new Rng(SplitMix64.Next(ref x));
    }

    public ulong NextUInt64()
    {
        ulong result = RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = RotateLeft(_s3, 45);
        return result;
    }

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    public float NextFloat() => (float)NextDouble();

    /// <summary>Uniform in [lo, hi).</summary>
    public double Uniform(double lo, double hi) => lo + (hi - lo) * NextDouble();

    /// <summary>Uniform integer in [0, n) (multiply-shift; bias below 2^-32 for n below 2^31).</summary>
    public int NextInt(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), "must be positive");
        return (int)(((NextUInt64() >> 32) * (ulong)n) >> 32);
    }

    /// <summary>Uniform integer in [lo, hi] inclusive.</summary>
    public int NextInt(int lo, int hi) => lo + NextInt(hi - lo + 1);

    public bool Bernoulli(double p) => NextDouble() < p;

    /// <summary>Standard normal (Box-Muller).</summary>
    public double Normal()
    {
        double u1 = 1.0 - NextDouble(), u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>Fisher-Yates shuffle in place.</summary>
    public void Shuffle<T>(IList<T> items)
    {
        for (int i = items.Count - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}

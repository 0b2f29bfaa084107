namespace Hybrid.Data;

/// <summary>
/// SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators",
/// OOPSLA 2014): a 64-bit state advanced by a fixed odd increment, each state mixed into an
/// output. The one implementation: <see cref="Rng"/> seeds xoshiro256** with it, and the pure
/// F# generator (Hybrid.Wsss.Numerics.Rng) draws from it.
/// </summary>
public static class SplitMix64
{
    /// <summary>The increment of the state (the golden ratio's fraction in 64 bits).</summary>
    public const ulong Gamma = 0x9E3779B97F4A7C15UL;

    /// <summary>The output of a state: its bits mixed by two xor-shift-multiplies and a final xor-shift.</summary>
    public static ulong Mix(ulong state)
    {
        ulong z = state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Advances the state by <see cref="Gamma"/> and returns the next 64 random bits.</summary>
    public static ulong Next(ref ulong state)
    {
        state += Gamma;
        return Mix(state);
    }
}

namespace Hybrid.Data;

/// <summary>The five PNG row filters (None, Sub, Up, Average, Paeth), for 1 byte per pixel as in palette images.</summary>
public enum PngFilter
{
    None = 0,
    Sub = 1,
    Up = 2,
    Average = 3,
    Paeth = 4,
    /// <summary>Per row, the filter whose output has the smallest sum of absolute (signed) bytes (libpng's heuristic).</summary>
    Adaptive = 5,
}

/// <summary>
/// Filtering and reconstruction of one scanline. <c>prior</c> is the previous reconstructed row of
/// the same pass (all zeros for the first); <c>bpp</c> is the bytes per complete pixel (at least 1).
/// </summary>
internal static class PngFilters
{
    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    private static int Predict(int type, ReadOnlySpan<byte> row, ReadOnlySpan<byte> prior, int i, int bpp)
    {
        int a = i >= bpp ? row[i - bpp] : 0, b = prior[i], c = i >= bpp ? prior[i - bpp] : 0;
        return type switch
        {
            1 => a,
            2 => b,
            3 => (a + b) >> 1,
            4 => Paeth(a, b, c),
            _ => 0,
        };
    }

    /// <summary>Reverses filter <paramref name="type"/> in place; false for a type outside 0..4.</summary>
    public static bool Unfilter(int type, Span<byte> row, ReadOnlySpan<byte> prior, int bpp)
    {
        if (type is < 0 or > 4) return false;
        if (type == 0) return true;
        for (int i = 0; i < row.Length; i++)
            row[i] = (byte)(row[i] + Predict(type, row, prior, i, bpp)); // left neighbours are already reconstructed
        return true;
    }

    /// <summary>Writes the filtered <paramref name="row"/> into <paramref name="output"/> (same length) with filter 0..4.</summary>
    public static void Filter(int type, ReadOnlySpan<byte> row, ReadOnlySpan<byte> prior, int bpp, Span<byte> output)
    {
        for (int i = 0; i < row.Length; i++)
            output[i] = (byte)(row[i] - Predict(type, row, prior, i, bpp));
    }

    /// <summary>The filter type 0..4 for a row: fixed, or by the smallest sum of absolute signed bytes.</summary>
    public static int Choose(PngFilter filter, ReadOnlySpan<byte> row, ReadOnlySpan<byte> prior, int bpp, Span<byte> scratch)
    {
        if (filter != PngFilter.Adaptive) return (int)filter;
        int best = 0;
        long bestCost = long.MaxValue;
        for (int type = 0; type <= 4; type++)
        {
            Filter(type, row, prior, bpp, scratch);
            long cost = 0;
            foreach (byte v in scratch) cost += Math.Abs((int)(sbyte)v);
            if (cost < bestCost) (best, bestCost) = (type, cost);
        }
        return best;
    }
}

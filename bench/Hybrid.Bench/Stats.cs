namespace Hybrid.Bench;

/// <summary>Order statistics of a sample list.</summary>
public static class Stats
{
    public static double Quantile(IReadOnlyList<double> xs, double q)
    {
        if (xs.Count == 0) return double.NaN;
        var s = xs.OrderBy(x => x).ToArray();
        var pos = q * (s.Length - 1);
        var lo = (int)Math.Floor(pos);
        var hi = (int)Math.Ceiling(pos);
        return s[lo] + (s[hi] - s[lo]) * (pos - lo);
    }

    public static double Median(IReadOnlyList<double> xs) => Quantile(xs, 0.5);
}

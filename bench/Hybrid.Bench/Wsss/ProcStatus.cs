using System.Globalization;

namespace Hybrid.Bench.Wsss;

/// <summary>Memory figures of this process from /proc/self/status (Linux), in MiB.</summary>
internal static class ProcStatus
{
    /// <summary>A kB field ("VmHWM": peak resident set, "VmRSS": current) in MiB.</summary>
    public static double MiB(string field)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (!line.StartsWith(field + ":", StringComparison.Ordinal)) continue;
            var kb = line[(field.Length + 1)..].Trim().Split(' ')[0];
            return double.Parse(kb, CultureInfo.InvariantCulture) / 1024.0;
        }
        throw new InvalidOperationException($"/proc/self/status has no {field} line (peak RSS needs Linux)");
    }
}

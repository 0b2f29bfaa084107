using System.Diagnostics;

namespace Hybrid.Bench;

/// <summary>One wall-clock and one process-CPU value per sample, and the process's minor page
/// faults per sample (memory handed back to the kernel and faulted in again shows here).</summary>
public sealed record Timing(List<double> Wall, List<double> Cpu, double MinorFaultsPerSample)
{
    public void Deconstruct(out List<double> wall, out List<double> cpu) { wall = Wall; cpu = Cpu; }

    /// <summary>Records the fault count beside the other context of a result.</summary>
    public void Describe(Dictionary<string, string> info) =>
        info["minor_faults_per_sample"] = MinorFaultsPerSample.ToString("F0", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>Times a body: <c>warmup</c> untimed calls, then one wall-clock and one process-CPU
/// value per sample, each divided by <c>per</c> (calls per sample, or 1) and given in
/// <c>unitNs</c> nanoseconds (1e6 for milliseconds).</summary>
public static class Sampler
{
    public static Timing Time(int warmup, int samples, Action body, double unitNs = 1e6, double per = 1)
    {
        var wall = new List<double>();
        var cpu = new List<double>();
        long faults0 = 0;
        for (var s = 0; s < warmup + samples; s++)
        {
            if (s == warmup) faults0 = MinorFaults();
            var c0 = CpuClock.Ns();
            var sw = Stopwatch.StartNew();
            body();
            sw.Stop();
            var c1 = CpuClock.Ns();
            if (s < warmup) continue;
            wall.Add(sw.Elapsed.TotalNanoseconds / unitNs / per);
            cpu.Add((c1 - c0) / unitNs / per);
        }
        return new Timing(wall, cpu, samples > 0 ? (double)(MinorFaults() - faults0) / samples : 0);
    }

    /// <summary>Minor page faults of this process so far (/proc/self/stat field 10; 0 elsewhere).</summary>
    public static long MinorFaults()
    {
        if (!OperatingSystem.IsLinux()) return 0;
        var stat = File.ReadAllText("/proc/self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');     // fields from the 3rd on
        return long.Parse(fields[7], System.Globalization.CultureInfo.InvariantCulture);
    }
}

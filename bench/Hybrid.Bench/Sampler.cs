using System.Diagnostics;

namespace Hybrid.Bench;

/// <summary>Times a body: <c>warmup</c> untimed calls, then one wall-clock and one process-CPU
/// value per sample, each divided by <c>per</c> (calls per sample, or 1) and given in
/// <c>unitNs</c> nanoseconds (1e6 for milliseconds).</summary>
public static class Sampler
{
    public static (List<double> Wall, List<double> Cpu) Time(int warmup, int samples, Action body, double unitNs = 1e6, double per = 1)
    {
        var wall = new List<double>();
        var cpu = new List<double>();
        for (var s = 0; s < warmup + samples; s++)
        {
            var c0 = CpuClock.Ns();
            var sw = Stopwatch.StartNew();
            body();
            sw.Stop();
            var c1 = CpuClock.Ns();
            if (s < warmup) continue;
            wall.Add(sw.Elapsed.TotalNanoseconds / unitNs / per);
            cpu.Add((c1 - c0) / unitNs / per);
        }
        return (wall, cpu);
    }
}

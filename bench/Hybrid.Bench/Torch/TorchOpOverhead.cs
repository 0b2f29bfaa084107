using System.Diagnostics;

namespace Hybrid.Bench.Torch;

/// <summary>
/// Per-call cost of a tiny op: `c = a + b` on two one-element float32 tensors, the result
/// disposed at once (`using`), so the time is binding (TorchSharp's P/Invoke and handle) +
/// dispatcher overhead, not arithmetic. Twin: bench/python/bench_torch.py op.
/// </summary>
public sealed class TorchOpOverhead : IBenchmark
{
    public string Name => "torch-op";
    public string Description => "ns per call of a + b on 1-element tensors (TorchSharp + dispatcher overhead)";

    public BenchResult Run(BenchOptions o)
    {
        torch.set_num_threads(o.Threads);
        var samples = o.SamplesOr(30);
        var warmup = o.WarmupOr(5);
        var inner = o.Inner > 0 ? o.Inner : 20_000;
        using var a = torch.ones(1);                                             // (1)
        using var b = torch.ones(1);                                             // (1)
        var times = new List<double>();
        var cpu = new List<double>();
        for (var s = 0; s < warmup + samples; s++)
        {
            var c0 = CpuClock.Ns();
            var sw = Stopwatch.StartNew();
            for (var i = 0; i < inner; i++)
            {
                using var c = a + b;                                             // (1)
            }
            sw.Stop();
            var c1 = CpuClock.Ns();
            if (s >= warmup) { times.Add(sw.Elapsed.TotalNanoseconds / inner); cpu.Add((c1 - c0) / inner); }
        }
        var info = TorchInfo.Of(o.Threads);
        info["calls_per_sample"] = inner.ToString();
        return new BenchResult(Name, "ns/call", times, cpu, info);
    }
}

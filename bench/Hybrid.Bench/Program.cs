using System.Globalization;
using System.Text.Json;

namespace Hybrid.Bench;

/// <summary>
/// hybrid-bench NAME [--threads N] [--samples N] [--warmup N] [--inner N] [--json]
/// Runs one benchmark and prints a summary, or with --json one JSON line (bench, impl, unit,
/// samples, cpu_samples, info) that bench/python/summarize.py reads. `list` shows the benchmarks.
/// hybrid-bench backbones [NAME ...] [--batch N] [--seconds S] [--threads N]: the backbone speed table
/// (<see cref="Backbones.BackboneSpeed"/>).
/// </summary>
public static class Program
{
    private static IReadOnlyList<IBenchmark> All() =>
        typeof(Program).Assembly.GetTypes()
            .Where(t => typeof(IBenchmark).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
            .Select(t => (IBenchmark)Activator.CreateInstance(t)!)
            .OrderBy(b => b.Name, StringComparer.Ordinal)
            .ToList();

    public static int Main(string[] args)
    {
        // Loads Hybrid.Torch before the first tensor: its malloc policy (HYBRID_MALLOC) and
        // thread count (HYBRID_NUM_THREADS) apply from the start, as in `hybrid`.
        Hybrid.Torch.TorchRuntime.Init();
        if (args.Length > 0 && args[0] == Backbones.BackboneSpeed.Command) return Backbones.BackboneSpeed.Run(args[1..]);
        var benches = All();
        if (args.Length == 0 || args[0] is "list" or "--help" or "-h")
        {
            Console.WriteLine("usage: hybrid-bench NAME [--threads N] [--samples N] [--warmup N] [--inner N] [--json]");
            Console.WriteLine($"       hybrid-bench {Backbones.BackboneSpeed.Usage}");
            Console.WriteLine("benchmarks:");
            foreach (var b in benches) Console.WriteLine($"  {b.Name,-14} {b.Description}");
            Console.WriteLine("other commands:");
            Console.WriteLine($"  {Backbones.BackboneSpeed.Command,-14} {Backbones.BackboneSpeed.Description}");
            return args.Length == 0 ? 1 : 0;
        }
        var bench = benches.FirstOrDefault(b => b.Name == args[0]);
        if (bench is null)
        {
            Console.Error.WriteLine($"unknown benchmark '{args[0]}'; known: {string.Join(", ", benches.Select(b => b.Name))}");
            return 2;
        }
        int threads = Environment.ProcessorCount, samples = 0, warmup = -1, inner = 0;
        var json = false;
        for (var i = 1; i < args.Length; i++)
        {
            int Next() => i + 1 < args.Length && int.TryParse(args[++i], NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= 0
                ? v : throw new ArgumentException($"{args[i - 1]} needs a non-negative integer");
            switch (args[i])
            {
                case "--threads": threads = Next(); break;
                case "--samples": samples = Next(); break;
                case "--warmup": warmup = Next(); break;
                case "--inner": inner = Next(); break;
                case "--json": json = true; break;
                default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
            }
        }
        var result = bench.Run(new BenchOptions(Math.Max(1, threads), samples, warmup, inner));
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["bench"] = result.Bench, ["impl"] = "hybrid", ["unit"] = result.Unit,
                ["samples"] = result.Samples, ["cpu_samples"] = result.CpuSamples, ["info"] = result.Info,
            }));
        }
        else
        {
            var s = result.Samples;
            Console.WriteLine($"{result.Bench}: median {Stats.Median(s):F1} {result.Unit} (p25 {Stats.Quantile(s, 0.25):F1}, p75 {Stats.Quantile(s, 0.75):F1}, n {s.Count}); process CPU median {Stats.Median(result.CpuSamples):F1}");
            foreach (var (k, v) in result.Info) Console.WriteLine($"  {k}: {v}");
        }
        return 0;
    }
}

using System.Diagnostics;
using System.Globalization;
using Hybrid.Bench.Torch;
using Hybrid.Vision.Backbones;

namespace Hybrid.Bench.Backbones;

/// <summary>
/// `hybrid-bench backbones [NAME ...] [--batch N] [--seconds S] [--threads N]`: forward and
/// forward+backward time per image of every registered backbone (or the named ones) at its
/// default input size, on the CPU with 2 intra-op threads unless --threads says otherwise (the
/// project's machines have 2 cores). A table, not a JSON line: not part of bench/run.sh.
/// Forward: eval mode, no gradient. Forward+backward: train mode, loss = mean of the final
/// feature, backward, gradients cleared (set to none). Batch 1 unless --batch is given
/// (tiny_resnet: 32, its training batch). Each measurement: one warm-up pass, then passes until
/// S seconds (default 8) and at least 3 (at most 200); the median wall time of a pass per image
/// is reported, and beside it the process CPU time per image over all measured passes (less
/// sensitive to other processes sharing the cores). Twin: bench/python/bench_backbones.py.
/// </summary>
public static class BackboneSpeed
{
    public const string Command = "backbones";
    public const string Usage = "backbones [NAME ...] [--batch N] [--seconds S] [--threads N]";
    public const string Description = "table: forward and forward+backward ms per image of each backbone (not in run.sh)";

    public static int Run(string[] args)
    {
        var names = new List<string>();
        int? batchArg = null;
        var seconds = 8.0;
        var threads = 2;
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--batch": batchArg = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--seconds": seconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--threads": threads = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case var a when a.StartsWith("--", StringComparison.Ordinal):
                    Console.Error.WriteLine($"unknown option {a}; usage: hybrid-bench {Usage}");
                    return 2;
                default: names.Add(args[i]); break;
            }
        }
        if (names.Count == 0) names.AddRange(BackboneRegistry.Names);
        var unknown = names.Where(n => !BackboneRegistry.Names.Contains(n)).ToList();
        if (unknown.Count > 0)
        {
            Console.Error.WriteLine($"unknown backbone(s) {string.Join(", ", unknown)}; known: {string.Join(", ", BackboneRegistry.Names)}");
            return 2;
        }

        torch.set_num_threads(Math.Max(1, threads));
        var info = TorchInfo.Of(threads);
        Console.WriteLine($"{info["binding"]}, libtorch {info["libtorch"]}, {info["threads"]} threads, BLAS: {info["blas"]}, malloc {info["malloc"]}");
        Console.WriteLine($"load average before: {LoadAverage()}");
        Console.WriteLine($"{"backbone",-13} {"params",11} {"input",9} {"batch",5} {"fwd ms/img",11} {"(cpu ms)",9} {"fwd+bwd ms/img",15} {"(cpu ms)",9}");
        foreach (var name in names)
        {
            var batch = batchArg ?? (name == "tiny_resnet" ? 32 : 1);
            var side = BackboneRegistry.Spec(name).DefaultInputSize;
            torch.manual_seed(0);
            using var model = BackboneRegistry.Create(name);
            using var x = torch.randn(batch, 3, side, side);                      // (B, 3, H, W)
            model.eval();
            var fwd = Measure(batch, seconds, () =>
            {
                using var scope = torch.NewDisposeScope();
                using var noGrad = torch.no_grad();
                using var f = model.forward(x);
            });
            model.train();
            var fwdBwd = Measure(batch, seconds, () =>
            {
                using var scope = torch.NewDisposeScope();
                using var f = model.forward(x);
                var loss = f.Final.mean();                                         // ()
                loss.backward();
                model.zero_grad();
            });
            Console.WriteLine($"{name,-13} {model.parameter_count(),11:N0} {side + "x" + side,9} {batch,5} {fwd.Wall,11:F1} {fwd.Cpu,9:F1} {fwdBwd.Wall,15:F1} {fwdBwd.Cpu,9:F1}");
        }
        Console.WriteLine($"load average after: {LoadAverage()}");
        return 0;
    }

    /// <summary>One warm-up pass, then passes until <paramref name="seconds"/> (at least 3, at
    /// most 200): the median wall ms per image and the mean process-CPU ms per image.</summary>
    private static (double Wall, double Cpu) Measure(int batch, double seconds, Action pass)
    {
        pass();
        var times = new List<double>();
        var total = Stopwatch.StartNew();
        var cpu0 = CpuClock.Ns();
        while (times.Count < 3 || total.Elapsed.TotalSeconds < seconds)
        {
            var sw = Stopwatch.StartNew();
            pass();
            times.Add(sw.Elapsed.TotalMilliseconds);
            if (times.Count >= 200) break;
        }
        var cpu = (CpuClock.Ns() - cpu0) / 1e6 / times.Count / batch;
        return (Stats.Median(times) / batch, cpu);
    }

    private static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Trim(); }
        catch (IOException) { return "unknown"; }
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Hybrid.Bench.Wsss;

/// <summary>
/// Peak resident memory of a short training run: each sample starts this program afresh as
/// `peak-rss-child` (the CAM baseline, `--inner` steps, default 5) and reads the VmHWM it
/// reports, so nothing of this process (or of an earlier sample) is counted. Twin:
/// bench/python/bench_wsss.py peak-rss (the same in a fresh python process).
/// </summary>
public sealed class PeakRss : IBenchmark
{
    public string Name => "peak-rss";
    public string Description => "MiB peak RSS (VmHWM) of a fresh process running N CAM training steps";

    public BenchResult Run(BenchOptions o)
    {
        var samples = o.SamplesOr(1);
        var steps = o.Inner > 0 ? o.Inner : 5;
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("peak-rss: cannot find this program's path to start a child");
        var peaks = new List<double>();
        var info = new Dictionary<string, string>();
        for (var s = 0; s < samples; s++)
        {
            var psi = new ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { "peak-rss-child", "--threads", o.Threads.ToString(CultureInfo.InvariantCulture), "--inner", steps.ToString(CultureInfo.InvariantCulture), "--json" })
                psi.ArgumentList.Add(a);
            psi.Environment["HYBRID_NUM_THREADS"] = o.Threads.ToString(CultureInfo.InvariantCulture);
            using var p = Process.Start(psi) ?? throw new InvalidOperationException("peak-rss: the child did not start");
            var errTask = p.StandardError.ReadToEndAsync();
            var output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new InvalidOperationException($"peak-rss: the child failed ({p.ExitCode}): {errTask.Result}");
            var line = output.Split('\n').Last(l => l.TrimStart().StartsWith('{'));
            using var doc = JsonDocument.Parse(line);
            peaks.Add(doc.RootElement.GetProperty("samples")[0].GetDouble());
            foreach (var kv in doc.RootElement.GetProperty("info").EnumerateObject()) info[kv.Name] = kv.Value.GetString() ?? "";
        }
        return new BenchResult(Name, "MiB", peaks, peaks, info);
    }
}

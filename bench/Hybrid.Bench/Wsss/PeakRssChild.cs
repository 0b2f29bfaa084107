using Hybrid.Bench.Torch;
using Hybrid.Wsss.Methods;
using Hybrid.Wsss.Methods.Cam;
using Hybrid.Wsss.Training;

namespace Hybrid.Bench.Wsss;

/// <summary>
/// One sample of <see cref="PeakRss"/>, meant to run alone in a fresh process: the RSS after
/// building the CAM baseline, then `--inner` (default 5) CAM training steps (as cam-step), then
/// the peak resident set VmHWM of the whole process. Twin: bench_wsss.py peak-rss-child.
/// </summary>
public sealed class PeakRssChild : IBenchmark
{
    public string Name => "peak-rss-child";
    public string Description => "(one fresh process of peak-rss) MiB VmHWM after N CAM training steps";

    public BenchResult Run(BenchOptions o)
    {
        torch.set_num_threads(o.Threads);
        var steps = o.Inner > 0 ? o.Inner : 5;
        const int batchSize = 16;
        torch.manual_seed(0);
        var recipe = Registry.camRecipe;
        var m = CamBaseline.create(WsssSetup.Env(1000), CamBaseline.defaults);
        using var model = m.Model;
        using var opt = WsssSetup.Optimizer(recipe, m);
        var batch = WsssSetup.RandomBatch(batchSize, strong: false);
        var before = ProcStatus.MiB("VmRSS");
        model.train();
        for (var s = 0; s < steps; s++) WsssSetup.Step(m, opt, new StepContext(s, 1000), batch);
        var peak = ProcStatus.MiB("VmHWM");
        WsssSetup.Dispose(batch);
        var info = TorchInfo.Of(o.Threads);
        info["steps"] = steps.ToString();
        info["rss_before_steps_mib"] = before.ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
        return new BenchResult(Name, "MiB", new[] { peak }, new[] { peak }, info);
    }
}

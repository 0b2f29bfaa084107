using Hybrid.Bench.Torch;
using Hybrid.Wsss.Methods;
using Hybrid.Wsss.Methods.Cosa;
using Hybrid.Wsss.Training;

namespace Hybrid.Bench.Wsss;

/// <summary>
/// One training step of CoSA at its default CPU configuration after the guidance warm-up (so
/// every term of Eq. 11 is computed), as `hybrid train --method cosa` runs it: Cosa.create on
/// tiny_resnet with CosaConfig.defaults and the registry's recipe (AdamW lr 1e-3, weight decay
/// 0.01), batch (16, 3, 96, 96) with a strong view. The step: the online network on the strong
/// view (classification on the final and low-level features, LargeFOV segmentation); the
/// assignment network without gradient on the weak view at scales 1, 0.5, 1.5 and their flips;
/// CPL with the GMM threshold of a queue of confidences (refitted every step), RAW-weighted
/// CAM2Seg on both CAMs, SPL-guided Seg2CAM, the contrastive separation; backward, AdamW step
/// and the EMA update of the assignment network (WsssSetup.Step). Twin: bench/python/bench_wsss.py
/// cosa-step.
/// </summary>
public sealed class CosaTrainStep : IBenchmark
{
    /// <summary>Online network: tiny_resnet 1,182,560 + classifier 192 x 10 + low-level classifier
    /// 128 x 10 + LargeFOV (192 -> 512 3x3, 512 -> 512 3x3, 512 -> 11 1x1, no bias).</summary>
    public const long ExpectedParameters = 4_435_424;

    public string Name => "cosa-step";
    public string Description => "ms per CoSA training step after the warm-up (tiny_resnet, batch 16 x 3 x 96 x 96, strong view, EMA)";

    public BenchResult Run(BenchOptions o)
    {
        torch.set_num_threads(o.Threads);
        torch.manual_seed(0);
        var cfg = CosaConfigModule.defaults;
        const int total = 100_000;
        var m = Cosa.create(WsssSetup.Env(total), cfg);
        using var model = m.Model;
        return WsssSetup.TimeSteps(Name, o, o.SamplesOr(5), o.WarmupOr(1), Registry.cosaRecipe, m, ExpectedParameters,
                                   firstStep: WarmupModule.steps(total, cfg.Warmup), total, strong: true,   // every term on
                                   info => info["parameters_with_assignment_network"] = model.parameters().Sum(p => p.numel()).ToString());
    }
}

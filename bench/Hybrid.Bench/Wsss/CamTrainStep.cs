using Hybrid.Bench.Torch;
using Hybrid.Wsss.Methods;
using Hybrid.Wsss.Methods.Cam;
using Hybrid.Wsss.Training;

namespace Hybrid.Bench.Wsss;

/// <summary>
/// One training step of the CAM baseline at its default CPU configuration, built and stepped
/// as `hybrid train --method cam` does: CamBaseline.create on tiny_resnet (from scratch, output
/// stride 8) with the CAM classifier (1x1 convolution 192 -> 10 without bias, GAP), multilabel
/// soft margin loss, the registry's recipe (AdamW lr 1e-3, weight decay 1e-4; one rate for
/// every group as the backbone is new), batch (16, 3, 96, 96), through the loop body of
/// Train.run (WsssSetup.Step). Twin: bench/python/bench_wsss.py cam-step.
/// </summary>
public sealed class CamTrainStep : IBenchmark
{
    /// <summary>tiny_resnet 1,182,560 (BackboneRegistry) + classifier 192 x 10.</summary>
    public const long ExpectedParameters = 1_184_480;

    public string Name => "cam-step";
    public string Description => "ms per CAM-baseline training step (tiny_resnet, batch 16 x 3 x 96 x 96, AdamW)";

    public BenchResult Run(BenchOptions o)
    {
        torch.set_num_threads(o.Threads);
        torch.manual_seed(0);
        const int total = 1000;
        var m = CamBaseline.create(WsssSetup.Env(total), CamBaseline.defaults);
        using var model = m.Model;
        return WsssSetup.TimeSteps(Name, o, o.SamplesOr(10), o.WarmupOr(2), Registry.camRecipe, m, ExpectedParameters,
                                   firstStep: 0, total, strong: false);
    }
}

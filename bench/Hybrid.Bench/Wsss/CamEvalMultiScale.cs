using Hybrid.Bench.Torch;
using Hybrid.Wsss.Methods.Cam;
using Hybrid.Wsss.Training;

namespace Hybrid.Bench.Wsss;

/// <summary>
/// Evaluation throughput of the CAM network: the normalised multi-scale + flip CAMs of a batch
/// (16, 3, 96, 96) as the evaluator computes them (Evaluate.cams with Scales.multi: scales 0.5,
/// 1.0, 1.5, each with its horizontal flip, ReLU score maps resized to 96 x 96 and summed,
/// max-normalised per present class), model in eval mode, without gradient. Untrained weights
/// (the time does not depend on them). Twin: bench/python/bench_wsss.py cam-eval.
/// </summary>
public sealed class CamEvalMultiScale : IBenchmark
{
    public string Name => "cam-eval";
    public string Description => "ms per batch of 16 multi-scale (0.5, 1, 1.5) + flip CAMs of the CAM network (eval, no grad)";

    public BenchResult Run(BenchOptions o)
    {
        torch.set_num_threads(o.Threads);
        var samples = o.SamplesOr(10);
        var warmup = o.WarmupOr(1);
        const int batchSize = 16;
        torch.manual_seed(0);
        var m = CamBaseline.create(WsssSetup.Env(1), CamBaseline.defaults);
        using var model = m.Model;
        var batch = WsssSetup.RandomBatch(batchSize, strong: false);
        model.eval();
        var scales = Evaluate.ScalesModule.multi;
        var timing = Sampler.Time(warmup, samples, () =>
        {
            using var noGrad = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            var cams = Evaluate.cams(m.Predict, scales, batch);              // (B, K, 96, 96)
            if (cams.size(2) != WsssSetup.Side) throw new InvalidOperationException("cam-eval: unexpected CAM size");
        });
        WsssSetup.Dispose(batch);
        var info = TorchInfo.Of(o.Threads);
        timing.Describe(info);
        info["parameters"] = model.parameters().Sum(p => p.numel()).ToString();
        info["scales"] = string.Join(",", scales.Scales) + (scales.Flip ? " + flip" : "");
        info["batch"] = $"{batchSize}x3x{WsssSetup.Side}x{WsssSetup.Side}";
        info["images_per_sample"] = batchSize.ToString();
        return new BenchResult(Name, "ms/batch", timing.Wall, timing.Cpu, info);
    }
}

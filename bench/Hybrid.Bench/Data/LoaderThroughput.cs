using Hybrid.Bench.Torch;
using Hybrid.Data;
using Hybrid.Wsss.Data;
using Microsoft.FSharp.Core;

namespace Hybrid.Bench.Data;

/// <summary>
/// Throughput of the training data pipeline alone: a small FMNIST-Scenes set (256 train
/// images, 96 px, no saliency) is generated into a temporary folder, then the training loader
/// of `hybrid train` (DataSource.trainLoader: rescale 0.75-1.25, 96 px crop, flip, colour
/// jitter, normalisation; shuffled, batch 16, drop last; `--threads` workers) is drained through
/// DataSource.trainStream (collation into tensors included), `--inner` batches (default 8) per
/// sample, across epoch boundaries. Compare its images/s with the images/s the cam-step
/// benchmark consumes (bench/RESULTS.md does). No PyTorch twin.
/// </summary>
public sealed class LoaderThroughput : IBenchmark
{
    public string Name => "loader";
    public string Description => "ms per batch of 16 from the training loader (FMNIST-Scenes, training augmentation, --threads workers)";

    public BenchResult Run(BenchOptions o)
    {
        torch.set_num_threads(o.Threads);
        var samples = o.SamplesOr(5);
        var warmup = o.WarmupOr(1);
        var perSample = o.Inner > 0 ? o.Inner : 8;
        const int batchSize = 16, side = 96;
        var root = Path.Combine(Path.GetTempPath(), $"hybrid-bench-scenes-{Environment.ProcessId}");
        try
        {
            FmnistScenes.Generate(new FmnistScenesOptions(root) { Train = 256, Val = 16, Size = side, Saliency = null, Workers = o.Threads });
            var ds = DataSource.openSplit(root, VocSplit.Train, FSharpOption<string>.None);
            var loader = DataSource.trainLoader(ds, side, batchSize, 0, o.Threads, false);
            using var batches = DataSource.trainStream(torch.CPU, loader, 0).GetEnumerator();
            var (wall, cpu) = Sampler.Time(warmup, samples, () =>
            {
                for (var b = 0; b < perSample; b++)
                {
                    using var scope = torch.NewDisposeScope();
                    if (!batches.MoveNext()) throw new InvalidOperationException("loader: the training stream ended");
                    if (batches.Current.Images.size(0) != batchSize) throw new InvalidOperationException("loader: short batch");
                }
            }, per: perSample);
            var info = TorchInfo.Of(o.Threads);
            info["workers"] = loader.Options.Workers.ToString();
            info["dataset"] = $"FMNIST-Scenes, {ds.Count} train images of {side} px";
            info["batches_per_sample"] = perSample.ToString();
            info["images_per_sample"] = batchSize.ToString();
            return new BenchResult(Name, "ms/batch", wall, cpu, info);
        }
        finally
        {
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        }
    }
}

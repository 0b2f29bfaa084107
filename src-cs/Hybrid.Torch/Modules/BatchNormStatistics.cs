using TorchSharp.Modules;

namespace Hybrid.Torch.Modules;

/// <summary>
/// Keeps a module's BatchNorm statistics where they were across a forward that only reads the
/// model (a pseudo-label or teacher forward in train mode). While this is alive every BatchNorm
/// layer under the module runs with momentum 0, so its kernel leaves the running mean and
/// variance as they were (1 * running + 0 * batch); the batch counter is put back on dispose.
/// The forward itself still normalises with the batch's own statistics, as train mode does.
/// Nothing is written into the running statistics from outside the kernel: a graph that saved
/// them for its backward (an earlier forward with gradient) stays valid.
/// <code>using (BatchNormStatistics.Preserve(model)) { ... forward ... }</code>
/// </summary>
public sealed class BatchNormStatistics : IDisposable
{
    private readonly List<(NormBase Layer, double? Momentum, Tensor? Counter)> layers = new();
    private bool disposed;

    private BatchNormStatistics(nn.Module module)
    {
        using var _ = torch.no_grad();
        foreach (var m in module.modules())
        {
            if (m is not NormBase norm || norm.running_mean is null) continue;
            layers.Add((norm, norm.momentum, norm.num_batches_tracked?.clone()));
            norm.momentum = 0.0;
        }
    }

    /// <summary>Holds the running statistics of every BatchNorm layer under <paramref name="module"/>.</summary>
    public static BatchNormStatistics Preserve(nn.Module module) => new(module);

    /// <summary>How many BatchNorm layers are held.</summary>
    public int Count => layers.Count;

    /// <summary>Gives each layer its momentum and batch counter back.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        using var _ = torch.no_grad();
        foreach (var (norm, momentum, counter) in layers)
        {
            norm.momentum = momentum;
            if (counter is null) continue;
            norm.num_batches_tracked?.copy_(counter);
            counter.Dispose();
        }
    }
}

namespace Hybrid.Torch.Modules;

/// <summary>
/// Keeps a module's BatchNorm statistics where they were across a forward that only reads the
/// model (a pseudo-label or teacher forward in train mode): the running means, variances and
/// batch counters are copied when this is created and written back when it is disposed. The
/// forward itself still normalises with the batch's own statistics, as train mode does; only
/// the running estimates, which eval mode and every later prediction use, are left untouched.
/// <code>using (BatchNormStatistics.Preserve(model)) { ... forward ... }</code>
/// </summary>
public sealed class BatchNormStatistics : IDisposable
{
    private static readonly string[] Running = { "running_mean", "running_var", "num_batches_tracked" };
    private readonly List<(Tensor Live, Tensor Saved)> saved = new();
    private bool disposed;

    private BatchNormStatistics(nn.Module module)
    {
        using var _ = torch.no_grad();
        foreach (var (name, buffer) in module.named_buffers())
        {
            var leaf = name[(name.LastIndexOf('.') + 1)..];
            if (Array.IndexOf(Running, leaf) >= 0) saved.Add((buffer, buffer.detach().clone()));
        }
    }

    /// <summary>Snapshots the running statistics of every BatchNorm layer under <paramref name="module"/>.</summary>
    public static BatchNormStatistics Preserve(nn.Module module) => new(module);

    /// <summary>How many buffers are kept (running mean, variance and counter per layer).</summary>
    public int Count => saved.Count;

    /// <summary>Writes the snapshot back into the live buffers.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        using var _ = torch.no_grad();
        foreach (var (live, copy) in saved)
        {
            live.copy_(copy);
            copy.Dispose();
        }
    }
}

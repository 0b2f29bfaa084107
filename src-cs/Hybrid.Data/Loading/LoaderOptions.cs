namespace Hybrid.Data;

/// <summary>Options of <see cref="DataLoader"/>.</summary>
public sealed record LoaderOptions
{
    public int BatchSize { get; init; } = 16;
    public bool Shuffle { get; init; } = true;

    /// <summary>Seeds the order of every epoch and every sample's augmentation.</summary>
    public long Seed { get; init; }

    /// <summary>Leave out the last batch when it would be smaller than <see cref="BatchSize"/>.</summary>
    public bool DropLast { get; init; }

    /// <summary>Background threads decoding and augmenting; 0 builds batches on the caller's thread. Batches are the same either way.</summary>
    public int Workers { get; init; } = 2;

    /// <summary>Batches each worker may have ready ahead of the consumer.</summary>
    public int PrefetchPerWorker { get; init; } = 2;

    /// <summary>The device of the batches' tensors (<see cref="Batch.ToTensors"/>); CPU by default.</summary>
    public Device Device { get; init; } = torch.CPU;

    public void Validate()
    {
        if (BatchSize < 1) throw new ArgumentException("loader: batch size must be >= 1");
        if (Workers < 0) throw new ArgumentException("loader: workers must be >= 0");
        if (PrefetchPerWorker < 1) throw new ArgumentException("loader: prefetch per worker must be >= 1");
        if (Device is null) throw new ArgumentException("loader: device must be set (torch.CPU or a CUDA device)");
    }
}

/// <summary>
/// The pairing hook: picks the partner sample of <paramref name="index"/> in <paramref name="epoch"/>
/// (CSD's resampler), drawing any randomness from <paramref name="rng"/> so that runs repeat.
/// Called from worker threads: it must be thread-safe.
/// </summary>
public delegate int PartnerSampler(int index, int epoch, Rng rng);

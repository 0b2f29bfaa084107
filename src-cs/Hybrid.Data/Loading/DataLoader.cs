namespace Hybrid.Data;

/// <summary>
/// Batches of augmented samples: a seeded permutation per epoch, optional drop_last, background
/// workers with prefetch, and an optional pairing hook (CSD). Every sample's augmentation is
/// seeded from (seed, epoch, index), so batches do not depend on the number of workers or on
/// timing.
/// </summary>
public sealed class DataLoader
{
    private const ulong OrderStream = 11, AugmentStream = 12, PartnerStream = 13, PartnerAugmentStream = 14;

    public SegmentationDataset Dataset { get; }
    public Augmenter Augmenter { get; }
    public LoaderOptions Options { get; }
    public PartnerSampler? Partner { get; }

    public DataLoader(SegmentationDataset dataset, Augmenter augmenter, LoaderOptions options, PartnerSampler? partner = null)
    {
        options.Validate();
        if (dataset.Count == 0) throw new ArgumentException($"{dataset.Name} has no samples");
        Dataset = dataset;
        Augmenter = augmenter;
        Options = options;
        Partner = partner;
    }

    public int BatchesPerEpoch => Options.DropLast
        ? Dataset.Count / Options.BatchSize
        : (Dataset.Count + Options.BatchSize - 1) / Options.BatchSize;

    /// <summary>The sample order of an epoch: a permutation seeded by (seed, epoch), or 0..N-1 without shuffling.</summary>
    public int[] Order(int epoch)
    {
        var order = Enumerable.Range(0, Dataset.Count).ToArray();
        if (Options.Shuffle) Rng.For(Options.Seed, OrderStream, epoch).Shuffle(order);
        return order;
    }

    /// <summary>The device of the batches' tensors (<see cref="LoaderOptions.Device"/>).</summary>
    public Device Device => Options.Device;

    /// <summary>
    /// The batches of one epoch as tensors on <see cref="Device"/>, in order; the caller disposes
    /// each (or holds a dispose scope around its step).
    /// </summary>
    public IEnumerable<TensorBatch> TensorEpoch(int epoch)
    {
        foreach (var batch in Epoch(epoch)) yield return batch.ToTensors();
    }

    /// <summary>The batches of one epoch, in order. Stopping early cancels the workers.</summary>
    public IEnumerable<Batch> Epoch(int epoch)
    {
        var order = Order(epoch);
        int count = BatchesPerEpoch;
        if (Options.Workers == 0)
        {
            for (int b = 0; b < count; b++) yield return Build(order, b, epoch);
            yield break;
        }

        var slots = Enumerable.Range(0, count).Select(_ => new TaskCompletionSource<Batch>(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        using var window = new SemaphoreSlim(Options.Workers * Options.PrefetchPerWorker);
        using var stop = new CancellationTokenSource();
        int next = -1;
        var threads = Enumerable.Range(0, Options.Workers).Select(w => new Thread(() =>
        {
            try
            {
                while (true)
                {
                    window.Wait(stop.Token);
                    int b = Interlocked.Increment(ref next);
                    if (b >= count) return;
                    try
                    {
                        slots[b].SetResult(Build(order, b, epoch));
                    }
                    catch (Exception e)
                    {
                        slots[b].SetException(e);
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        })
        { IsBackground = true, Name = $"data-worker-{w}" }).ToList();
        threads.ForEach(t => t.Start());
        try
        {
            for (int b = 0; b < count; b++)
            {
                var batch = slots[b].Task.GetAwaiter().GetResult();
                window.Release();
                yield return batch;
            }
        }
        finally
        {
            stop.Cancel();
            foreach (var t in threads) t.Join();
        }
    }

    private Batch Build(int[] order, int batchIndex, int epoch)
    {
        int start = batchIndex * Options.BatchSize;
        int end = Math.Min(order.Length, start + Options.BatchSize);
        var samples = new List<AugmentedSample>(end - start);
        var labels = new List<float[]>(end - start);
        var partners = Partner is null ? null : new List<AugmentedSample>(end - start);
        var partnerLabels = Partner is null ? null : new List<float[]>(end - start);
        for (int p = start; p < end; p++)
        {
            int index = order[p];
            long key = (long)epoch * Dataset.Count + index;
            samples.Add(Augmenter.Apply(Dataset.Load(index), index, Rng.For(Options.Seed, AugmentStream, key)));
            labels.Add(Dataset.LabelVector(index));
            if (Partner is null) continue;
            int mate = Partner(index, epoch, Rng.For(Options.Seed, PartnerStream, key));
            if (mate < 0 || mate >= Dataset.Count)
                throw new InvalidOperationException($"the partner sampler returned {mate} for sample {index}; valid are 0..{Dataset.Count - 1}");
            partners!.Add(Augmenter.Apply(Dataset.Load(mate), mate, Rng.For(Options.Seed, PartnerAugmentStream, key)));
            partnerLabels!.Add(Dataset.LabelVector(mate));
        }
        var partnerBatch = partners is null ? null : Batch.Collate(partners, partnerLabels!, device: Options.Device);
        return Batch.Collate(samples, labels, partnerBatch, Options.Device);
    }
}

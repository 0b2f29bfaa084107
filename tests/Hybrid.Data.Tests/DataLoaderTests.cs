using Hybrid.Torch;

namespace Hybrid.Data.Tests;

public class DataLoaderTests
{
    private static SegmentationDataset TinyDataset(TempDir dir, int n)
    {
        var voc = new TinyVoc(dir.Path);
        var ids = Enumerable.Range(0, n).Select(i => $"s{i:D3}").ToArray();
        for (int i = 0; i < n; i++) voc.Add(ids[i], new[] { 0, 1 + i % 20 });
        voc.Split("train", ids);
        return VocReader.Read(new VocOptions(dir.Path));
    }

    private static DataLoader Loader(SegmentationDataset ds, int batch, bool dropLast = false, long seed = 1, int workers = 2,
        PartnerSampler? partner = null) =>
        new(ds, new Augmenter(AugmentationOptions.Train(8)),
            new LoaderOptions { BatchSize = batch, DropLast = dropLast, Seed = seed, Workers = workers }, partner);

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void EveryIndexExactlyOncePerEpoch(int workers)
    {
        using var dir = new TempDir();
        var ds = TinyDataset(dir, 13);
        var loader = Loader(ds, 4, workers: workers);
        Assert.Equal(4, loader.BatchesPerEpoch);
        for (int epoch = 0; epoch < 2; epoch++)
        {
            var batches = loader.Epoch(epoch).ToList();
            Assert.Equal(new[] { 4, 4, 4, 1 }, batches.Select(b => b.Count));
            Assert.Equal(Enumerable.Range(0, 13), batches.SelectMany(b => b.Indices).Order());
        }
    }

    [Fact]
    public void DropLastLeavesOutThePartialBatch()
    {
        using var dir = new TempDir();
        var ds = TinyDataset(dir, 13);
        var batches = Loader(ds, 4, dropLast: true).Epoch(0).ToList();
        Assert.Equal(3, batches.Count);
        var seen = batches.SelectMany(b => b.Indices).ToList();
        Assert.Equal(12, seen.Distinct().Count());
    }

    [Fact]
    public void OrderAndAugmentationAreDeterministicForASeed()
    {
        using var dir = new TempDir();
        var ds = TinyDataset(dir, 10);
        var a = Loader(ds, 3, workers: 2).Epoch(1).ToList();
        var b = Loader(ds, 3, workers: 0).Epoch(1).ToList();
        Assert.Equal(a.SelectMany(x => x.Indices), b.SelectMany(x => x.Indices));
        for (int i = 0; i < a.Count; i++)
        {
            Assert.Equal(a[i].Images, b[i].Images);
            Assert.Equal(a[i].Masks, b[i].Masks);
        }
        var otherEpoch = Loader(ds, 3).Epoch(2).SelectMany(x => x.Indices).ToList();
        var otherSeed = Loader(ds, 3, seed: 2).Epoch(1).SelectMany(x => x.Indices).ToList();
        Assert.NotEqual(a.SelectMany(x => x.Indices), otherEpoch);
        Assert.NotEqual(a.SelectMany(x => x.Indices), otherSeed);
        var unshuffled = new DataLoader(ds, new Augmenter(AugmentationOptions.Eval), new LoaderOptions { BatchSize = 4, Shuffle = false });
        Assert.Equal(Enumerable.Range(0, 10), unshuffled.Epoch(0).SelectMany(x => x.Indices));
    }

    [Fact]
    public void PairingHookChoosesEachPartner()
    {
        using var dir = new TempDir();
        var ds = TinyDataset(dir, 9);
        PartnerSampler next = (index, epoch, rng) => (index + 1 + epoch) % 9;
        var batches = Loader(ds, 4, partner: next).Epoch(1).ToList();
        foreach (var b in batches)
        {
            Assert.NotNull(b.Partners);
            Assert.Equal(b.Indices.Select(i => (i + 2) % 9), b.Partners!.Indices);
            Assert.Equal(b.Images.Length, b.Partners.Images.Length);
            for (int k = 0; k < b.Count; k++)
                Assert.Equal(ds.LabelVector(b.Partners.Indices[k]), b.Partners.Labels[(k * 20)..((k + 1) * 20)]);
        }
        PartnerSampler broken = (_, _, _) => 99;
        var ex = Assert.Throws<InvalidOperationException>(() => Loader(ds, 4, partner: broken).Epoch(0).ToList());
        Assert.Contains("99", ex.Message);
    }

    [Fact]
    public void ErrorsInWorkersReachTheConsumerAndStoppingEarlyEndsWorkers()
    {
        using var dir = new TempDir();
        var ds = TinyDataset(dir, 12);
        File.WriteAllBytes(ds[ds.Count - 1].ImagePath, new byte[] { 0xFF, 0xD8, 0xFF, 0x00 });
        var ex = Assert.Throws<InvalidDataException>(() => Loader(ds, 2).Epoch(0).ToList());
        Assert.Contains(Path.GetFileName(ds[ds.Count - 1].ImagePath), ex.Message);
        // Taking one batch and leaving: the enumerator's disposal stops and joins the workers.
        using var other = new TempDir();
        Assert.Single(Loader(TinyDataset(other, 8), 2).Epoch(0).Take(1));
    }

    [Fact]
    public void BatchesBecomeTensorsOfTheDocumentedShapes()
    {
        using var dir = new TempDir();
        var ds = TinyDataset(dir, 5);
        var batch = new DataLoader(ds, new Augmenter(AugmentationOptions.Train(8) with { Strong = new StrongAugmentation() }),
            new LoaderOptions { BatchSize = 5 }).Epoch(0).Single();
        using var t = batch.ToTensors();
        Assert.Equal(new long[] { 5, 3, 8, 8 }, t.Images.shape);
        Assert.Equal(new long[] { 5, 8, 8 }, t.Masks!.shape);
        Assert.Equal(ScalarType.Int64, t.Masks.dtype);
        Assert.Equal(new long[] { 5, 20 }, t.Labels.shape);
        Assert.Equal(new long[] { 5, 3, 8, 8 }, t.Strong!.shape);
        Assert.Null(t.Saliency);
        Assert.Equal(batch.Images, t.Images.data<float>());
        Assert.Equal(batch.Masks!.Select(v => (long)v), t.Masks.data<long>());
    }
}

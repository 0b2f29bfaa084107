using System.Security.Cryptography;

namespace Hybrid.Data.Tests;

public class FmnistScenesTests
{
    private static FmnistScenesOptions Options(string outDir, string fmnist, int train, int val = 0, int size = 48) =>
        new(outDir) { FashionMnistDir = fmnist, Train = train, Val = val, Size = size };

    private static Dictionary<string, string> HashTree(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(root, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));

    [Fact]
    public void SameSeedGivesByteIdenticalFilesWhateverTheWorkerCount()
    {
        using var dir = new TempDir();
        FakeFashionMnist.Write(dir["fmnist"]);
        FmnistScenes.Generate(Options(dir["a"], dir["fmnist"], 24, 8) with { Seed = 5, Workers = 1 });
        FmnistScenes.Generate(Options(dir["b"], dir["fmnist"], 24, 8) with { Seed = 5, Workers = 2 });
        FmnistScenes.Generate(Options(dir["c"], dir["fmnist"], 24, 8) with { Seed = 6 });
        var a = HashTree(dir["a"]);
        var b = HashTree(dir["b"]);
        var c = HashTree(dir["c"]);
        Assert.Equal(24 * 4 + 8 * 4 + 4, a.Count); // jpg, png, xml, saliency per image + 2 lists, classes, manifest
        Assert.Equal(a, b);
        Assert.NotEqual(a["JPEGImages/train_000000.jpg"], c["JPEGImages/train_000000.jpg"]);

        // Regenerating into an earlier output replaces it, byte for byte.
        FmnistScenes.Generate(Options(dir["a"], dir["fmnist"], 24, 8) with { Seed = 5 });
        Assert.Equal(b, HashTree(dir["a"]));
    }

    [Fact]
    public void ReadsBackThroughTheVocReaderWithMaskClassesEqualToLabels()
    {
        using var dir = new TempDir();
        FakeFashionMnist.Write(dir["fmnist"]);
        var report = FmnistScenes.Generate(Options(dir["out"], dir["fmnist"], 60, 20));
        foreach (var split in new[] { VocSplit.Train, VocSplit.Val })
        {
            // DisagreementPolicy.Fail: the XML labels and the mask classes must be the same sets.
            var ds = VocReader.Read(new VocOptions(dir["out"]) { Split = split, OnDisagreement = DisagreementPolicy.Fail });
            Assert.Equal(FmnistScenes.ClassNames, ds.ClassNames);
            Assert.Equal(split == VocSplit.Train ? 60 : 20, ds.Count);
            Assert.True(ds.HasMasks && ds.HasSaliency);
            for (int i = 0; i < ds.Count; i++)
            {
                var s = ds.Load(i);
                Assert.Equal((48, 48, 3), (s.Image.Width, s.Image.Height, s.Image.Channels));
                Assert.Equal(ds[i].Classes, MaskIO.Classes(s.Mask!.Pixels, ds.NumClasses));
                Assert.InRange(ds[i].Classes.Count, 1, 3);
            }
        }
        Assert.Equal(0, report.DroppedItems);
    }

    [Theory]
    [InlineData(0.4, 0.6)]
    [InlineData(0.8, 0.1)]
    public void LabelDrawsFollowTheFractionsOfTheOptions(double single, double strength)
    {
        using var dir = new TempDir();
        FakeFashionMnist.Write(dir["fmnist"]);
        var options = Options(dir["out"], dir["fmnist"], 1) with { SingleItemFraction = single, CooccurrenceStrength = strength };
        var composer = new SceneComposer(options, FashionMnist.Load(FashionMnistSplit.Train, dir["fmnist"]));
        var partners = options.Partners();
        var draws = Enumerable.Range(0, 20000).Select(i => composer.DrawLabels(Rng.For(3, 9, i))).ToArray();
        var pairs = draws.Where(d => d.Length == 2).ToArray();
        // Binomial standard errors: single 0.0035, three-of-multi < 0.008, partner < 0.015.
        Assert.InRange(draws.Count(d => d.Length == 1) / 20000.0, single - 0.015, single + 0.015);
        Assert.InRange(draws.Count(d => d.Length == 3) / (double)draws.Count(d => d.Length > 1), 0.37, 0.43);
        Assert.InRange(pairs.Count(p => partners[p[0]] == p[1]) / (double)pairs.Length, strength - 0.05, strength + 0.05);
        Assert.All(draws, d => Assert.Equal(d.Length, d.Distinct().Count()));
        // Every class is drawn first about equally often (uniform).
        Assert.All(draws.GroupBy(d => d[0]), g => Assert.InRange(g.Count(), 1700, 2300));
    }

    [Fact]
    public void GeneratedFilesShowTheSingleItemAndCooccurrenceFractions()
    {
        using var dir = new TempDir();
        FakeFashionMnist.Write(dir["fmnist"]);
        var options = Options(dir["out"], dir["fmnist"], 300, size: 40) with { Saliency = null };
        var report = FmnistScenes.Generate(options);
        var ds = VocReader.Read(new VocOptions(dir["out"]) { CheckAgreement = false });
        var partners = options.Partners();
        var counts = ds.Samples.Select(s => s.Classes.Count).ToArray();
        double singleFraction = counts.Count(c => c == 1) / (double)counts.Length;
        var pairs = ds.Samples.Where(s => s.Classes.Count == 2).ToList();
        double partnerFraction = pairs.Count(p => partners[p.Classes[0] - 1] == p.Classes[1] - 1) / (double)pairs.Count;

        Assert.Equal(0, report.DroppedItems); // so that label counts are item counts
        // 3 binomial standard errors: single 0.085 (n = 300); partner 0.15 (about 100 two-item images).
        Assert.InRange(singleFraction, 0.4 - 0.085, 0.4 + 0.085);
        Assert.InRange(partnerFraction, 0.6 - 0.15, 0.6 + 0.15);
        Assert.Equal(singleFraction, report.SingleItemFraction, 6);
        Assert.Equal(partnerFraction, report.PartnerPairFraction, 6);
    }

    [Fact]
    public void SaliencyIsHigherInsideObjectsThanOutside()
    {
        using var dir = new TempDir();
        FakeFashionMnist.Write(dir["fmnist"]);
        FmnistScenes.Generate(Options(dir["out"], dir["fmnist"], 40, size: 64));
        var ds = VocReader.Read(new VocOptions(dir["out"]));
        double inside = 0, outside = 0;
        long nIn = 0, nOut = 0;
        for (int i = 0; i < ds.Count; i++)
        {
            var s = ds.Load(i);
            for (int p = 0; p < s.Mask!.Pixels.Length; p++)
            {
                if (s.Mask.Pixels[p] > 0) { inside += s.Saliency!.Pixels[p]; nIn++; }
                else { outside += s.Saliency!.Pixels[p]; nOut++; }
            }
        }
        Assert.True(inside / nIn > 1.5 * (outside / nOut), $"inside {inside / nIn:F1}, outside {outside / nOut:F1}");
    }

    [Fact]
    public void TrainScenesUseTrainItemsAndValScenesTestItems()
    {
        using var dir = new TempDir();
        FakeFashionMnist.Write(dir["fmnist"]);
        File.Delete(dir["fmnist/t10k-images-idx3-ubyte"]);
        // Train only: the test split is never opened.
        FmnistScenes.Generate(Options(dir["out"], dir["fmnist"], 5, 0));
        // Val needs the test split, and says which file is missing.
        var ex = Assert.Throws<FileNotFoundException>(() => FmnistScenes.Generate(Options(dir["out2"], dir["fmnist"], 0, 5)));
        Assert.Contains("t10k-images-idx3-ubyte", ex.Message);
    }

    [Fact]
    public void RefusesANonEmptyForeignFolderAndMissingFashionMnist()
    {
        using var dir = new TempDir();
        FakeFashionMnist.Write(dir["fmnist"]);
        Directory.CreateDirectory(dir["mine"]);
        File.WriteAllText(dir["mine/thesis.tex"], "precious");
        var ex = Assert.Throws<IOException>(() => FmnistScenes.Generate(Options(dir["mine"], dir["fmnist"], 2)));
        Assert.Contains("not empty", ex.Message);
        Assert.True(File.Exists(dir["mine/thesis.tex"]));

        var missing = Assert.Throws<FileNotFoundException>(() => FmnistScenes.Generate(Options(dir["o"], dir["nowhere"], 2)));
        Assert.Contains("dataset-fashion-mnist", missing.Message);
        Assert.Contains(FashionMnist.EnvironmentVariable, missing.Message);
    }

    [Fact]
    public void InvalidOptionsNameTheProblem()
    {
        var ex = Assert.Throws<ArgumentException>(() => new FmnistScenesOptions("x") { SingleItemFraction = 1.5 }.Validate());
        Assert.Contains("single-item", ex.Message);
        Assert.Throws<ArgumentException>(() => new FmnistScenesOptions("x") { CooccurringPairs = new[] { (0, 1), (1, 2) } }.Validate());
    }
}

public class FashionMnistTests
{
    [Fact]
    public void ReadsPlainAndGzippedIdx()
    {
        using var dir = new TempDir();
        FakeFashionMnist.Write(dir.Path, perClassTrain: 3, perClassTest: 2);
        var train = FashionMnist.Load(FashionMnistSplit.Train, dir.Path);   // gzipped
        var test = FashionMnist.Load(FashionMnistSplit.Test, dir.Path);    // plain
        Assert.Equal(30, train.Count);
        Assert.Equal(20, test.Count);
        Assert.Equal(7, train.Labels[17]);
        Assert.InRange(train.Image(0)[13 * 28 + 13], 240, 255); // the ellipse centre
        Assert.Equal(0, train.Image(0)[0]);
        Assert.All(train.IndicesByClass(), idx => Assert.Equal(3, idx.Length));
    }

    [Fact]
    public void TruncatedIdxIsAnError()
    {
        using var dir = new TempDir();
        FakeFashionMnist.WriteIdx(dir["x-idx1-ubyte"], new byte[10], new[] { 12 }, gzip: false);
        var ex = Assert.Throws<InvalidDataException>(() => FashionMnist.ReadIdx(dir["x-idx1-ubyte"]));
        Assert.Contains("truncated", ex.Message);
        File.WriteAllBytes(dir["y"], new byte[] { 1, 2, 3, 4, 5 });
        Assert.Throws<InvalidDataException>(() => FashionMnist.ReadIdx(dir["y"]));
    }
}

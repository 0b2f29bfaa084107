namespace Hybrid.Data.Tests;

public class VocReaderTests
{
    [Fact]
    public void ReadsImagesMasksLabelsAndSaliency()
    {
        using var dir = new TempDir();
        var voc = new TinyVoc(dir.Path);
        voc.Add("a", new[] { 0, 8, 15 });      // cat, person
        voc.Add("b", new[] { 12 });            // dog
        voc.Split("train", "a", "b");
        Directory.CreateDirectory(dir["saliency"]);
        foreach (var id in new[] { "a", "b" })
            ImageIO.WritePng(dir[$"saliency/{id}.png"], new Image(8, 6, 1, new byte[48]));

        var ds = VocReader.Read(new VocOptions(dir.Path));
        Assert.Equal(21, ds.NumClasses);
        Assert.Equal(new[] { "a", "b" }, ds.Samples.Select(s => s.Id));
        Assert.Equal(new[] { 8, 15 }, ds[0].Classes);
        Assert.Equal(new[] { 12 }, ds[1].Classes);
        Assert.Empty(ds.Disagreements);
        Assert.True(ds.HasMasks);
        Assert.True(ds.HasSaliency);
        var v = ds.LabelVector(0);
        Assert.Equal(20, v.Length);
        Assert.Equal(2f, v.Sum());
        Assert.Equal(1f, v[8 - 1]);

        var loaded = ds.Load(0);
        Assert.Equal(3, loaded.Image.Channels);
        Assert.Equal(MaskIO.Ignore, loaded.Mask![0, 0]);
        Assert.Equal(15, loaded.Mask![5, 7]);
        Assert.NotNull(loaded.Saliency);
    }

    [Fact]
    public void ClassListFileOverridesVocNames()
    {
        using var dir = new TempDir();
        var names = new[] { "background", "shirt", "bag" };
        var voc = new TinyVoc(dir.Path, names);
        ClassList.Write(dir.Path, names);
        voc.Add("x", new[] { 2 });
        voc.Split("val", "x");
        var ds = VocReader.Read(new VocOptions(dir.Path) { Split = VocSplit.Val });
        Assert.Equal(names, ds.ClassNames);
        Assert.Equal(new[] { 2 }, ds[0].Classes);
        Assert.Equal(new[] { 0f, 1f }, ds.LabelVector(0));
    }

    [Fact]
    public void MissingFilesGiveOneErrorWithTheFirstFewAndTheCount()
    {
        using var dir = new TempDir();
        var voc = new TinyVoc(dir.Path);
        var ids = Enumerable.Range(0, 9).Select(i => $"img{i}").ToArray();
        for (int i = 0; i < ids.Length; i++)
            voc.Add(ids[i], new[] { 1 }, image: i % 3 != 0, mask: i != 4);
        voc.Split("train", ids);
        var ex = Assert.Throws<DatasetException>(() => VocReader.Read(new VocOptions(dir.Path)));
        // images 0, 3, 6 and mask 4 are missing
        Assert.Equal(4, ex.Problems.Count);
        Assert.Contains("4 problems", ex.Message);
        Assert.Contains("img0: image JPEGImages/img0.jpg is missing", ex.Message);
        Assert.Contains("img4: mask SegmentationClass/img4.png is missing", ex.Message);
    }

    [Fact]
    public void ManyProblemsAreCountedNotAllPrinted()
    {
        using var dir = new TempDir();
        var voc = new TinyVoc(dir.Path);
        var ids = Enumerable.Range(0, 12).Select(i => $"m{i:D2}").ToArray();
        voc.Split("train", ids); // no files at all: 12 images and 12 masks missing
        var ex = Assert.Throws<DatasetException>(() => VocReader.Read(new VocOptions(dir.Path)));
        Assert.Equal(24, ex.Problems.Count);
        Assert.Contains("24 problems", ex.Message);
        Assert.Contains("... and 19 more", ex.Message);
    }

    [Fact]
    public void DisagreementsAreReportedOrFail()
    {
        using var dir = new TempDir();
        var voc = new TinyVoc(dir.Path);
        voc.Add("ok", new[] { 3 });
        voc.Add("odd", new[] { 3, 7 }, xmlNames: new[] { "bird", "dog" }); // mask: bird, car; xml: bird, dog
        voc.Split("train", "ok", "odd");

        var ds = VocReader.Read(new VocOptions(dir.Path));
        var d = Assert.Single(ds.Disagreements);
        Assert.Equal("odd", d.Id);
        Assert.Equal(new[] { 12 }, d.OnlyInAnnotation);
        Assert.Equal(new[] { 7 }, d.OnlyInMask);
        Assert.Equal(new[] { 3, 12 }, ds[1].Classes); // annotation labels by default
        Assert.Contains("annotation-only [dog]", d.Describe(ds.ClassNames));

        var fromMasks = VocReader.Read(new VocOptions(dir.Path) { Labels = LabelSource.Masks });
        Assert.Equal(new[] { 3, 7 }, fromMasks[1].Classes);

        var ex = Assert.Throws<DatasetException>(() =>
            VocReader.Read(new VocOptions(dir.Path) { OnDisagreement = DisagreementPolicy.Fail }));
        Assert.Contains("odd", ex.Message);
    }

    [Fact]
    public void LabelsComeFromMasksWhenThereIsNoAnnotation()
    {
        using var dir = new TempDir();
        var voc = new TinyVoc(dir.Path);
        voc.Add("n", new[] { 0, 5 }, xml: false);
        voc.Split("train", "n");
        Assert.Equal(new[] { 5 }, VocReader.Read(new VocOptions(dir.Path))[0].Classes);
    }

    [Fact]
    public void UnknownClassesAndBadMaskValuesAreProblems()
    {
        using var dir = new TempDir();
        var voc = new TinyVoc(dir.Path);
        voc.Add("u", new[] { 1 }, xmlNames: new[] { "unicorn" });
        voc.Add("v", new[] { 1, 40 }, xmlNames: new[] { "aeroplane" }); // 40 is not a VOC class
        voc.Split("train", "u", "v");
        var ex = Assert.Throws<DatasetException>(() => VocReader.Read(new VocOptions(dir.Path)));
        Assert.Contains("unknown class 'unicorn'", ex.Message);
        Assert.Contains("value 40", ex.Message);
    }

    [Fact]
    public void MissingSplitListNamesWhatExists()
    {
        using var dir = new TempDir();
        var voc = new TinyVoc(dir.Path);
        voc.Add("a", new[] { 1 });
        voc.Split("train", "a");
        var ex = Assert.Throws<DatasetException>(() => VocReader.Read(new VocOptions(dir.Path) { Split = VocSplit.TrainAug }));
        Assert.Contains("train_aug.txt", ex.Message);
        Assert.Contains("present: train.txt", ex.Message);
    }

    [Fact]
    public void TrainAugUsesSegmentationClassAug()
    {
        using var dir = new TempDir();
        var voc = new TinyVoc(dir.Path);
        voc.Add("s", new[] { 2 }, maskFolder: "SegmentationClassAug");
        voc.Split("train_aug", "s");
        var ds = VocReader.Read(new VocOptions(dir.Path) { Split = VocSplit.TrainAug });
        Assert.Contains("SegmentationClassAug", ds[0].MaskPath);
    }

    [Fact]
    public void SizeMismatchBetweenImageAndMaskIsAnErrorNamingBoth()
    {
        using var dir = new TempDir();
        var voc = new TinyVoc(dir.Path);
        voc.Add("z", new[] { 1 });
        ImageIO.WriteJpeg(dir["JPEGImages/z.jpg"], new Image(9, 6, 3, new byte[9 * 6 * 3]));
        voc.Split("train", "z");
        var ds = VocReader.Read(new VocOptions(dir.Path));
        var ex = Assert.Throws<InvalidDataException>(() => ds.Load(0));
        Assert.Contains("z.png", ex.Message);
        Assert.Contains("z.jpg", ex.Message);
    }
}

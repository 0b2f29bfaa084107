using System.Text.Json;

namespace Hybrid.Data.Tests;

public class CocoReaderTests
{
    // The 80 category ids of COCO 2014 (1..90 with gaps), as in instances_train2014.json.
    private static readonly int[] CocoIds =
    {
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 27, 28,
        31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55,
        56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 67, 70, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 84,
        85, 86, 87, 88, 89, 90,
    };

    private static void WriteSet(TempDir dir, object[] images, object[] annotations, bool writeMasks = true)
    {
        Directory.CreateDirectory(dir["images"]);
        Directory.CreateDirectory(dir["masks"]);
        var json = new
        {
            images,
            annotations,
            categories = CocoIds.Select(id => new { id, name = $"cat{id}", supercategory = "x" }).ToArray(),
        };
        File.WriteAllText(dir["instances.json"], JsonSerializer.Serialize(json));
        foreach (dynamic im in images)
        {
            string file = im.file_name;
            ImageIO.WriteJpeg(Path.Combine(dir["images"], file), new Image(6, 4, 3, new byte[72]));
            if (writeMasks)
            {
                var m = new byte[24];
                m[5] = 80;
                m[6] = 255;
                ImageIO.WritePng(Path.Combine(dir["masks"], Path.ChangeExtension(file, ".png")), new Image(6, 4, 1, m));
            }
        }
    }

    [Fact]
    public void LabelsFromInstancesJsonAndMasksFromPngs()
    {
        using var dir = new TempDir();
        WriteSet(dir,
            new object[]
            {
                new { id = 42, file_name = "COCO_train2014_000000000042.jpg", width = 6, height = 4 },
                new { id = 7, file_name = "COCO_train2014_000000000007.jpg", width = 6, height = 4 },
                new { id = 9, file_name = "COCO_train2014_000000000009.jpg", width = 6, height = 4 },
            },
            new object[]
            {
                new { id = 1, image_id = 42, category_id = 90, bbox = new[] { 0, 0, 1, 1 }, iscrowd = 0 },
                new { id = 2, image_id = 42, category_id = 1, bbox = new[] { 0, 0, 1, 1 }, iscrowd = 0 },
                new { id = 3, image_id = 42, category_id = 1, bbox = new[] { 0, 0, 1, 1 }, iscrowd = 0 },
                new { id = 4, image_id = 7, category_id = 13, bbox = new[] { 0, 0, 1, 1 }, iscrowd = 1 },
            });

        var ds = CocoReader.Read(new CocoOptions(dir["instances.json"], dir["images"]) { MaskFolder = dir["masks"] });
        Assert.Equal(81, ds.NumClasses);
        Assert.Equal("cat90", ds.ClassNames[80]);
        Assert.Equal("cat13", ds.ClassNames[12]); // id 12 is one of COCO's gaps
        // image 9 has no annotation and is skipped; ordered by image id
        Assert.Equal(new[] { "COCO_train2014_000000000007", "COCO_train2014_000000000042" }, ds.Samples.Select(s => s.Id));
        Assert.Equal(new[] { 12 }, ds[0].Classes);
        Assert.Equal(new[] { 1, 80 }, ds[1].Classes);
        var loaded = ds.Load(1);
        Assert.Equal(80, loaded.Mask!.Pixels[5]);
        Assert.Equal(80, ds.LabelVector(1).Length);

        var all = CocoReader.Read(new CocoOptions(dir["instances.json"], dir["images"]) { SkipUnlabelled = false });
        Assert.Equal(3, all.Count);
    }

    [Fact]
    public void MissingFilesAndUnknownCategoriesAreOneError()
    {
        using var dir = new TempDir();
        WriteSet(dir,
            new object[] { new { id = 1, file_name = "a.jpg" }, new { id = 2, file_name = "b.jpg" } },
            new object[]
            {
                new { image_id = 1, category_id = 12 },  // 12 is not a COCO category
                new { image_id = 2, category_id = 5 },
                new { image_id = 3, category_id = 5 },   // image 3 is not listed
            },
            writeMasks: false);
        File.Delete(dir["images/b.jpg"]);
        var ex = Assert.Throws<DatasetException>(() =>
            CocoReader.Read(new CocoOptions(dir["instances.json"], dir["images"]) { MaskFolder = dir["masks"] }));
        Assert.Contains("category id 12", ex.Message);
        Assert.Contains("image id 3", ex.Message);
        Assert.Contains("b.jpg is missing", ex.Message);
        Assert.Contains("b: mask", ex.Message);
        Assert.Equal(4, ex.Problems.Count);
    }

    [Fact]
    public void InvalidJsonIsAClearError()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir["images"]);
        File.WriteAllText(dir["instances.json"], "{ \"images\": [ {\"id\": 1, ");
        var ex = Assert.Throws<InvalidDataException>(() => CocoReader.Read(new CocoOptions(dir["instances.json"], dir["images"])));
        Assert.Contains("instances.json", ex.Message);
    }
}

using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Hybrid.Data;

/// <summary>What a generation run produced, with the measured statistics of its composition.</summary>
public sealed record FmnistScenesReport(
    int Train,
    int Val,
    TimeSpan Elapsed,
    double SingleItemFraction,
    double PartnerPairFraction,
    int DroppedItems,
    IReadOnlyList<int> ClassImageCounts);

/// <summary>
/// FMNIST-Scenes, the embedded benchmark: real Fashion-MNIST items composed into multi-object
/// scenes with exact masks, written in VOC layout (see the design notes). Train scenes use
/// Fashion-MNIST's training items, val scenes its test items. Every image has its own
/// generator seeded from (seed, split, index), so the output is byte-identical for a seed
/// whatever the number of workers.
/// </summary>
public static class FmnistScenes
{
    public const string ManifestFile = "scenes.json";
    public const string FolderName = "FMNIST-Scenes";

    /// <summary>Background plus the ten Fashion-MNIST classes: mask value = Fashion-MNIST label + 1.</summary>
    public static readonly IReadOnlyList<string> ClassNames = new[] { "background" }.Concat(FashionMnist.ClassNames).ToArray();

    private const ulong TrainStream = 1, ValStream = 2;

    public static string ImageId(string split, int index) => $"{split}_{index:D6}";

    /// <summary>
    /// Writes the benchmark into <see cref="FmnistScenesOptions.OutputDir"/> (new, empty, or an
    /// earlier FMNIST-Scenes output, which is replaced). Progress is reported per image, from
    /// worker threads.
    /// </summary>
    public static FmnistScenesReport Generate(FmnistScenesOptions options, IProgress<DataProgress>? progress = null)
    {
        options.Validate();
        var clock = Stopwatch.StartNew();
        string root = options.OutputDir;
        PrepareOutput(root);
        string fmnistDir = FashionMnist.Locate(options.FashionMnistDir);

        VocWriter.CreateLayout(root);
        if (options.Saliency is not null) Directory.CreateDirectory(Path.Combine(root, VocReader.DefaultSaliencyFolder));
        ClassList.Write(root, ClassNames);

        var stats = new List<int[]>();
        int dropped = 0;
        var splits = new (string Name, int Count, FashionMnistSplit Items, ulong Stream)[]
        {
            ("train", options.Train, FashionMnistSplit.Train, TrainStream),
            ("val", options.Val, FashionMnistSplit.Test, ValStream),
        };
        foreach (var (name, count, items, stream) in splits)
        {
            if (count == 0)
            {
                VocWriter.WriteSplit(root, name, Array.Empty<string>());
                continue;
            }
            var composer = new SceneComposer(options, FashionMnist.Load(items, fmnistDir));
            var labels = new int[count][];
            var drops = new int[count];
            int done = 0;
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = options.Workers ?? Environment.ProcessorCount }, i =>
            {
                var rng = Rng.For(options.Seed, stream, i);
                var scene = composer.Compose(rng);
                WriteScene(root, ImageId(name, i), scene, options);
                labels[i] = scene.Objects.Select(o => o.ClassIndex).ToArray();
                drops[i] = scene.DroppedItems;
                progress?.Report(new DataProgress(name, Interlocked.Increment(ref done), count));
            });
            VocWriter.WriteSplit(root, name, Enumerable.Range(0, count).Select(i => ImageId(name, i)));
            stats.AddRange(labels);
            dropped += drops.Sum();
        }

        var report = Summarise(options, stats, dropped, clock.Elapsed);
        WriteManifest(root, options, report);
        return report;
    }

    /// <summary>Refuses to write into a non-empty folder that is not an earlier FMNIST-Scenes output; clears an earlier one.</summary>
    private static void PrepareOutput(string root)
    {
        if (!Directory.Exists(root))
        {
            Directory.CreateDirectory(root);
            return;
        }
        if (!Directory.EnumerateFileSystemEntries(root).Any()) return;
        if (!File.Exists(Path.Combine(root, ManifestFile)))
            throw new IOException($"'{root}' is not empty and holds no {ManifestFile}: choose an empty or new folder for FMNIST-Scenes");
        foreach (var f in VocWriter.Folders.Select(f => f.Split('/')[0]).Append(VocReader.DefaultSaliencyFolder).Distinct())
        {
            string dir = Path.Combine(root, f);
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    private static void WriteScene(string root, string id, Scene scene, FmnistScenesOptions options)
    {
        int n = scene.Size;
        var image = new Image(n, n, 3, scene.Rgb);
        byte[] jpeg = ImageIO.EncodeJpeg(image, options.JpegQuality);
        File.WriteAllBytes(VocWriter.ImagePath(root, id), jpeg);
        ImageIO.WritePng(VocWriter.MaskPath(root, id), Image.Indexed(n, n, scene.Mask, VocPalette.Create()));
        File.WriteAllText(VocWriter.AnnotationPath(root, id), VocWriter.Annotation(FolderName, id, n, n, scene.Objects, ClassNames));
        if (options.Saliency is { } method)
        {
            // From the written JPEG, as for any user's image: never from the ground truth.
            var saliency = SaliencyMaps.ComputeImage(ImageIO.Decode(jpeg, id + ".jpg"), method);
            ImageIO.WritePng(Path.Combine(root, VocReader.DefaultSaliencyFolder, id + ".png"), saliency);
        }
    }

    private static FmnistScenesReport Summarise(FmnistScenesOptions options, List<int[]> labels, int dropped, TimeSpan elapsed)
    {
        var partners = options.Partners();
        int single = labels.Count(l => l.Length == 1);
        var pairs = labels.Where(l => l.Length == 2).ToList();
        int partnered = pairs.Count(l => partners[l[0] - 1] == l[1] - 1);
        var counts = new int[ClassNames.Count];
        foreach (var l in labels)
            foreach (var c in l) counts[c]++;
        return new FmnistScenesReport(options.Train, options.Val, elapsed,
            labels.Count == 0 ? 0 : (double)single / labels.Count,
            pairs.Count == 0 ? 0 : (double)partnered / pairs.Count,
            dropped, counts);
    }

    /// <summary>Writes the options and statistics (no timings, so the file is the same for a seed).</summary>
    private static void WriteManifest(string root, FmnistScenesOptions o, FmnistScenesReport r)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("generator", "FMNIST-Scenes 1");
            w.WriteNumber("seed", o.Seed);
            w.WriteNumber("train", o.Train);
            w.WriteNumber("val", o.Val);
            w.WriteNumber("size", o.Size);
            w.WriteNumber("single_item_fraction", o.SingleItemFraction);
            w.WriteNumber("three_item_fraction", o.ThreeItemFraction);
            w.WriteNumber("cooccurrence_strength", o.CooccurrenceStrength);
            w.WriteStartArray("cooccurring_pairs");
            foreach (var (a, b) in o.CooccurringPairs)
            {
                w.WriteStartArray();
                w.WriteStringValue(FashionMnist.ClassNames[a]);
                w.WriteStringValue(FashionMnist.ClassNames[b]);
                w.WriteEndArray();
            }
            w.WriteEndArray();
            w.WriteNumber("scale_min", o.ScaleMin);
            w.WriteNumber("scale_max", o.ScaleMax);
            w.WriteNumber("context_probability", o.ContextProbability);
            w.WriteNumber("distractor_probability", o.DistractorProbability);
            w.WriteNumber("mask_threshold", o.MaskThreshold);
            w.WriteNumber("min_visible_fraction", o.MinVisibleFraction);
            w.WriteNumber("jpeg_quality", o.JpegQuality);
            w.WriteString("saliency", o.Saliency?.ToString() ?? "none");
            w.WriteStartObject("measured");
            w.WriteNumber("single_item_fraction", Math.Round(r.SingleItemFraction, 4));
            w.WriteNumber("partner_pair_fraction_of_two_item_images", Math.Round(r.PartnerPairFraction, 4));
            w.WriteNumber("dropped_items", r.DroppedItems);
            w.WriteStartObject("images_per_class");
            for (int c = 1; c < ClassNames.Count; c++) w.WriteNumber(ClassNames[c], r.ClassImageCounts[c]);
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
        }
        File.WriteAllText(Path.Combine(root, ManifestFile), Encoding.UTF8.GetString(stream.ToArray()) + "\n");
    }
}

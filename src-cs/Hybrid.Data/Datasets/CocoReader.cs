using System.Text.Json;
using System.Text.Json.Serialization;

namespace Hybrid.Data;

/// <summary>Options of <see cref="CocoReader.Read"/>.</summary>
public sealed record CocoOptions(string InstancesJson, string ImageFolder)
{
    /// <summary>Folder of class-index PNGs named after the images ({stem}.png, 0 = background, 255 = ignore), or null.</summary>
    public string? MaskFolder { get; init; }

    /// <summary>Folder of saliency PNGs named after the images, or null.</summary>
    public string? SaliencyFolder { get; init; }

    /// <summary>Leave out images without any annotation (they carry no image-level label).</summary>
    public bool SkipUnlabelled { get; init; } = true;
}

/// <summary>
/// Reads a COCO split for WSSS: image-level labels from an instances JSON (category ids mapped
/// in ascending order to 1..K, background 0, so COCO 2014 gives 81 classes) and, optionally,
/// masks from a folder of class-index PNGs (the usual conversion of the instance polygons).
/// </summary>
public static class CocoReader
{
    private sealed record Instances(
        [property: JsonPropertyName("images")] List<ImageEntry>? Images,
        [property: JsonPropertyName("annotations")] List<AnnotationEntry>? Annotations,
        [property: JsonPropertyName("categories")] List<CategoryEntry>? Categories);

    private sealed record ImageEntry(
        [property: JsonPropertyName("id")] long Id,
        [property: JsonPropertyName("file_name")] string? FileName);

    private sealed record AnnotationEntry(
        [property: JsonPropertyName("image_id")] long ImageId,
        [property: JsonPropertyName("category_id")] int CategoryId);

    private sealed record CategoryEntry(
        [property: JsonPropertyName("id")] int Id,
        [property: JsonPropertyName("name")] string? Name);

    public static SegmentationDataset Read(CocoOptions options)
    {
        string what = $"COCO dataset '{options.InstancesJson}'";
        if (!File.Exists(options.InstancesJson))
            throw new FileNotFoundException($"{what}: instances JSON not found", options.InstancesJson);
        if (!Directory.Exists(options.ImageFolder))
            throw new DirectoryNotFoundException($"{what}: image folder '{options.ImageFolder}' not found");
        foreach (var folder in new[] { options.MaskFolder, options.SaliencyFolder })
            if (folder is not null && !Directory.Exists(folder))
                throw new DirectoryNotFoundException($"{what}: folder '{folder}' not found");

        Instances instances;
        try
        {
            using var stream = File.OpenRead(options.InstancesJson);
            instances = JsonSerializer.Deserialize<Instances>(stream)
                        ?? throw new InvalidDataException($"{what}: the JSON is null");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{what}: not a valid instances JSON ({e.Message})", e);
        }

        var problems = new ProblemList();
        if (instances.Categories is null || instances.Categories.Count == 0)
            throw new DatasetException(what, new[] { "no \"categories\" list" });
        if (instances.Images is null)
            throw new DatasetException(what, new[] { "no \"images\" list" });
        var categories = instances.Categories.OrderBy(c => c.Id).ToList();
        var classIndex = new Dictionary<int, int>();
        var classNames = new List<string> { "background" };
        foreach (var c in categories)
        {
            if (!classIndex.TryAdd(c.Id, classNames.Count))
            {
                problems.Add($"category id {c.Id} is listed twice");
                continue;
            }
            classNames.Add(c.Name ?? $"category_{c.Id}");
        }
        if (classNames.Count > 255) problems.Add($"{classNames.Count} classes do not fit beside the ignore index 255");

        var labels = new Dictionary<long, SortedSet<int>>();
        foreach (var a in instances.Annotations ?? new List<AnnotationEntry>())
        {
            if (!classIndex.TryGetValue(a.CategoryId, out int c))
            {
                problems.Add($"an annotation of image {a.ImageId} has category id {a.CategoryId}, which is not in \"categories\"");
                continue;
            }
            if (!labels.TryGetValue(a.ImageId, out var set)) labels[a.ImageId] = set = new SortedSet<int>();
            set.Add(c);
        }

        var samples = new List<SegmentationSample>();
        var ids = new HashSet<long>();
        foreach (var image in instances.Images.OrderBy(i => i.Id))
        {
            if (!ids.Add(image.Id)) { problems.Add($"image id {image.Id} is listed twice"); continue; }
            if (string.IsNullOrEmpty(image.FileName)) { problems.Add($"image {image.Id} has no file_name"); continue; }
            var classes = labels.TryGetValue(image.Id, out var set) ? set.ToArray() : Array.Empty<int>();
            if (classes.Length == 0 && options.SkipUnlabelled) continue;
            string stem = Path.GetFileNameWithoutExtension(image.FileName);
            string imagePath = Path.Combine(options.ImageFolder, image.FileName);
            if (!File.Exists(imagePath)) problems.Add($"{stem}: image {imagePath} is missing");
            string? maskPath = Companion(options.MaskFolder, stem, "mask", problems);
            string? saliencyPath = Companion(options.SaliencyFolder, stem, "saliency map", problems);
            samples.Add(new SegmentationSample(stem, imagePath, maskPath, saliencyPath, classes));
        }
        foreach (var imageId in labels.Keys.Where(k => !ids.Contains(k)).Order().Take(1000))
            problems.Add($"annotations refer to image id {imageId}, which is not in \"images\"");
        problems.ThrowIfAny(what);
        return new SegmentationDataset(what, classNames, samples);
    }

    private static string? Companion(string? folder, string stem, string kind, ProblemList problems)
    {
        if (folder is null) return null;
        string path = Path.Combine(folder, stem + ".png");
        if (!File.Exists(path)) problems.Add($"{stem}: {kind} {path} is missing");
        return path;
    }
}

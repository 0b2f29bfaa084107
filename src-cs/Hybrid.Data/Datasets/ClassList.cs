namespace Hybrid.Data;

/// <summary>Class lists of the standard benchmarks and of datasets that ship their own.</summary>
public static class ClassList
{
    /// <summary>PASCAL VOC 2012: background + 20 object classes, in the index order of its masks.</summary>
    public static readonly IReadOnlyList<string> Voc = new[]
    {
        "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair",
        "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
        "train", "tvmonitor",
    };

    /// <summary>The file in a dataset's root listing its classes, one per line, background first.</summary>
    public const string FileName = "classes.txt";

    /// <summary>
    /// The class names of a dataset: <c>classes.txt</c> in <paramref name="root"/> when present
    /// (blank lines and <c>#</c> comments skipped), otherwise <paramref name="fallback"/>.
    /// </summary>
    public static IReadOnlyList<string> Load(string root, IReadOnlyList<string> fallback)
    {
        string path = Path.Combine(root, FileName);
        if (!File.Exists(path)) return fallback;
        var names = File.ReadAllLines(path)
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .ToArray();
        if (names.Length < 2)
            throw new InvalidDataException($"{path}: needs background plus at least one class, one name per line");
        if (names.Length > 255)
            throw new InvalidDataException($"{path}: {names.Length} classes; at most 255 fit beside the ignore index 255");
        var duplicate = names.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new InvalidDataException($"{path}: class '{duplicate.Key}' is listed twice");
        return names;
    }

    /// <summary>Writes a class list in the format <see cref="Load"/> reads.</summary>
    public static void Write(string root, IReadOnlyList<string> names) =>
        File.WriteAllText(Path.Combine(root, FileName), string.Join("\n", names) + "\n");
}

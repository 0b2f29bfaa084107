using System.Xml;
using System.Xml.Linq;

namespace Hybrid.Data;

/// <summary>The image lists of ImageSets/Segmentation: the one split type, also the split an
/// evaluation result names (<see cref="VocReader.SplitFileName"/> is its name) and the CLI's --split.</summary>
public enum VocSplit
{
    Train,
    Val,
    /// <summary>The 10,582-image augmented training set (VOC + SBD), masks in SegmentationClassAug.</summary>
    TrainAug,
}

/// <summary>Where image-level labels come from when an image has both an annotation and a mask.</summary>
public enum LabelSource
{
    Annotations,
    Masks,
}

/// <summary>What to do when annotation labels and mask classes differ.</summary>
public enum DisagreementPolicy
{
    /// <summary>Keep going; the differences are listed in <see cref="SegmentationDataset.Disagreements"/>.</summary>
    Report,
    /// <summary>Throw a <see cref="DatasetException"/> listing them.</summary>
    Fail,
}

/// <summary>Options of <see cref="VocReader.Read"/>.</summary>
public sealed record VocOptions(string Root)
{
    public VocSplit Split { get; init; } = VocSplit.Train;
    public LabelSource Labels { get; init; } = LabelSource.Annotations;
    public DisagreementPolicy OnDisagreement { get; init; } = DisagreementPolicy.Report;

    /// <summary>Mask folder under the root; null: SegmentationClassAug for TrainAug when it exists, else SegmentationClass.</summary>
    public string? MaskFolder { get; init; }

    /// <summary>Saliency folder under the root; null: <c>saliency</c> when it exists (else no saliency).</summary>
    public string? SaliencyFolder { get; init; }

    /// <summary>Decode every mask at load to compare its classes with the annotation (and validate its values).</summary>
    public bool CheckAgreement { get; init; } = true;
}

/// <summary>
/// Reads a dataset in PASCAL VOC layout:
/// <code>
/// root/JPEGImages/{id}.jpg
/// root/SegmentationClass/{id}.png     (or SegmentationClassAug; class indices, 255 = ignore)
/// root/Annotations/{id}.xml           (object names give the image-level labels)
/// root/ImageSets/Segmentation/{train,val,train_aug}.txt
/// root/saliency/{id}.png              (optional)
/// root/classes.txt                    (optional; else the 21 VOC classes)
/// </code>
/// All problems (missing files, unknown class names, bad mask values) are gathered and thrown
/// as one <see cref="DatasetException"/>.
/// </summary>
public static class VocReader
{
    public const string DefaultSaliencyFolder = "saliency";

    public static string SplitFileName(VocSplit split) => split switch
    {
        VocSplit.Train => "train",
        VocSplit.Val => "val",
        VocSplit.TrainAug => "train_aug",
        _ => throw new ArgumentOutOfRangeException(nameof(split)),
    };

    public static SegmentationDataset Read(VocOptions options)
    {
        string root = options.Root;
        string what = $"VOC dataset '{root}' ({SplitFileName(options.Split)})";
        if (!Directory.Exists(root))
            throw new DirectoryNotFoundException($"{what}: folder not found");
        string imageDir = Path.Combine(root, "JPEGImages");
        string setDir = Path.Combine(root, "ImageSets", "Segmentation");
        string splitFile = Path.Combine(setDir, SplitFileName(options.Split) + ".txt");
        if (!Directory.Exists(imageDir))
            throw new DatasetException(what, new[] { $"no JPEGImages folder in {root}" });
        if (!File.Exists(splitFile))
        {
            var present = Directory.Exists(setDir)
                ? string.Join(", ", Directory.GetFiles(setDir, "*.txt").Select(Path.GetFileName).Order())
                : "no ImageSets/Segmentation folder";
            throw new DatasetException(what, new[] { $"split list {splitFile} not found (present: {present})" });
        }

        var classNames = ClassList.Load(root, ClassList.Voc);
        var classIndex = classNames.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => p.i, StringComparer.OrdinalIgnoreCase);
        string? maskDir = ResolveMaskDir(options);
        string? saliencyDir = ResolveSaliencyDir(options);
        string annotationDir = Path.Combine(root, "Annotations");
        bool haveAnnotations = Directory.Exists(annotationDir);

        var problems = new ProblemList();
        var ids = ReadIds(splitFile, problems);
        int n = ids.Length;
        var imagePaths = new string?[n];
        var maskPaths = new string?[n];
        var saliencyPaths = new string?[n];
        var xmlClasses = new int[]?[n];
        var maskClasses = new int[]?[n];

        bool decodeMasks = options.CheckAgreement || options.Labels == LabelSource.Masks;
        Parallel.For(0, n, i =>
        {
            string id = ids[i];
            imagePaths[i] = FindImage(imageDir, id);
            if (imagePaths[i] is null) problems.Add($"{id}: image JPEGImages/{id}.jpg is missing");
            if (maskDir is not null)
            {
                string m = Path.Combine(maskDir, id + ".png");
                if (File.Exists(m)) maskPaths[i] = m;
                else problems.Add($"{id}: mask {Path.GetFileName(maskDir)}/{id}.png is missing");
            }
            if (saliencyDir is not null)
            {
                string s = Path.Combine(saliencyDir, id + ".png");
                if (File.Exists(s)) saliencyPaths[i] = s;
                else problems.Add($"{id}: saliency map {Path.GetFileName(saliencyDir)}/{id}.png is missing");
            }
            string xml = Path.Combine(annotationDir, id + ".xml");
            if (haveAnnotations && File.Exists(xml)) xmlClasses[i] = ReadAnnotation(xml, id, classIndex, problems);
            if (maskPaths[i] is { } maskPath && (decodeMasks || xmlClasses[i] is null))
                maskClasses[i] = ReadMaskClasses(maskPath, id, classNames.Count, problems);
            if (xmlClasses[i] is null && maskPaths[i] is null && maskDir is null)
                problems.Add($"{id}: no labels: neither Annotations/{id}.xml nor a mask folder exists");
        });
        problems.ThrowIfAny(what);

        var samples = new SegmentationSample[n];
        var disagreements = new List<LabelDisagreement>();
        for (int i = 0; i < n; i++)
        {
            int[] labels = (options.Labels, xmlClasses[i], maskClasses[i]) switch
            {
                (LabelSource.Annotations, { } x, _) => x,
                (LabelSource.Masks, _, { } m) => m,
                (_, { } x, null) => x,
                (_, null, { } m) => m,
                _ => throw new InvalidOperationException("unreachable: labels were checked above"),
            };
            if (xmlClasses[i] is { } xc && maskClasses[i] is { } mc && !xc.SequenceEqual(mc))
                disagreements.Add(new LabelDisagreement(ids[i], xc.Except(mc).ToArray(), mc.Except(xc).ToArray()));
            samples[i] = new SegmentationSample(ids[i], imagePaths[i]!, maskPaths[i], saliencyPaths[i], labels);
        }
        if (options.OnDisagreement == DisagreementPolicy.Fail && disagreements.Count > 0)
            throw new DatasetException($"{what}: annotation labels and mask classes disagree",
                disagreements.Select(d => d.Describe(classNames)).ToList());
        return new SegmentationDataset(what, classNames, samples, disagreements);
    }

    private static string? ResolveMaskDir(VocOptions options)
    {
        if (options.MaskFolder is { } folder)
        {
            string dir = Path.Combine(options.Root, folder);
            if (!Directory.Exists(dir))
                throw new DatasetException($"VOC dataset '{options.Root}'", new[] { $"mask folder {dir} not found" });
            return dir;
        }
        string aug = Path.Combine(options.Root, "SegmentationClassAug");
        string plain = Path.Combine(options.Root, "SegmentationClass");
        if (options.Split == VocSplit.TrainAug && Directory.Exists(aug)) return aug;
        if (Directory.Exists(plain)) return plain;
        return Directory.Exists(aug) ? aug : null;
    }

    private static string? ResolveSaliencyDir(VocOptions options)
    {
        string dir = Path.Combine(options.Root, options.SaliencyFolder ?? DefaultSaliencyFolder);
        if (Directory.Exists(dir)) return dir;
        if (options.SaliencyFolder is not null)
            throw new DatasetException($"VOC dataset '{options.Root}'", new[] { $"saliency folder {dir} not found" });
        return null;
    }

    private static string[] ReadIds(string splitFile, ProblemList problems)
    {
        var ids = new List<string>();
        var seen = new HashSet<string>();
        foreach (var line in File.ReadLines(splitFile))
        {
            var tokens = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (tokens.Length == 0) continue;
            // Some lists carry a second column (e.g. "2008_000002 1"); the id is the first.
            string id = tokens[0];
            if (!seen.Add(id)) problems.Add($"{id}: listed twice in {Path.GetFileName(splitFile)}");
            else ids.Add(id);
        }
        if (ids.Count == 0) problems.Add($"{splitFile} lists no images");
        return ids.ToArray();
    }

    private static string? FindImage(string imageDir, string id)
    {
        foreach (var ext in new[] { ".jpg", ".jpeg", ".png", ".JPG" })
        {
            string p = Path.Combine(imageDir, id + ext);
            if (File.Exists(p)) return p;
        }
        return null;
    }

    private static int[]? ReadAnnotation(string path, string id, Dictionary<string, int> classIndex, ProblemList problems)
    {
        XDocument doc;
        try
        {
            doc = XDocument.Load(path);
        }
        catch (XmlException e)
        {
            problems.Add($"{id}: annotation {path} is not valid XML ({e.Message})");
            return null;
        }
        var classes = new SortedSet<int>();
        foreach (var name in doc.Descendants("object").Select(o => o.Element("name")?.Value.Trim()))
        {
            if (string.IsNullOrEmpty(name))
                problems.Add($"{id}: annotation has an <object> without <name>");
            else if (!classIndex.TryGetValue(name, out int c) || c == 0)
                problems.Add($"{id}: annotation names unknown class '{name}' (not in the class list)");
            else
                classes.Add(c);
        }
        return classes.ToArray();
    }

    private static int[]? ReadMaskClasses(string path, string id, int numClasses, ProblemList problems)
    {
        try
        {
            return MaskIO.Classes(MaskIO.Read(path, numClasses).Pixels, numClasses);
        }
        catch (InvalidDataException e)
        {
            problems.Add($"{id}: {e.Message}");
            return null;
        }
    }
}

namespace Hybrid.Data;

/// <summary>Progress of a long data job: a phase name and how many of its steps are done.</summary>
public readonly record struct DataProgress(string Phase, int Done, int Total);

/// <summary>Saliency maps from images, for one image or a whole folder.</summary>
public static class SaliencyMaps
{
    /// <summary>Saliency (H, W) in [0, 1] of an image by <paramref name="method"/>.</summary>
    public static float[] Compute(Image image, SaliencyMethod method)
    {
        var rgb = image.ToRgb();
        return method switch
        {
            SaliencyMethod.SpectralResidual => SpectralResidual.Compute(image.ToGray().ToChw(), image.Height, image.Width),
            SaliencyMethod.FrequencyTuned => FrequencyTuned.Compute(rgb.Pixels, image.Height, image.Width),
            _ => throw new ArgumentOutOfRangeException(nameof(method)),
        };
    }

    /// <summary>The saliency of an image as an 8-bit grayscale image (0 = not salient, 255 = most).</summary>
    public static Image ComputeImage(Image image, SaliencyMethod method)
    {
        var map = Compute(image, method);
        var bytes = new byte[map.Length];
        for (int i = 0; i < map.Length; i++) bytes[i] = (byte)Math.Clamp((int)(map[i] * 255f + 0.5f), 0, 255);
        return new Image(image.Width, image.Height, 1, bytes);
    }

    /// <summary>Rescales to [0, 1] (min to 0, max to 1); a constant map becomes all zeros.</summary>
    public static float[] Normalise(float[] map)
    {
        float lo = float.MaxValue, hi = float.MinValue;
        foreach (var v in map)
        {
            lo = Math.Min(lo, v);
            hi = Math.Max(hi, v);
        }
        var result = new float[map.Length];
        if (hi - lo < 1e-12f) return result;
        for (int i = 0; i < map.Length; i++) result[i] = (map[i] - lo) / (hi - lo);
        return result;
    }

    /// <summary>
    /// Writes {stem}.png saliency maps into <paramref name="outputDir"/> for every JPEG / PNG in
    /// <paramref name="imageDir"/> (sorted by name). Unreadable images are gathered into one
    /// <see cref="DatasetException"/> after the rest are written. Returns how many maps were written.
    /// </summary>
    public static int ComputeFolder(string imageDir, string outputDir, SaliencyMethod method = SaliencyMethod.FrequencyTuned,
        IProgress<DataProgress>? progress = null, int? workers = null)
    {
        if (!Directory.Exists(imageDir)) throw new DirectoryNotFoundException($"image folder '{imageDir}' not found");
        var files = Directory.EnumerateFiles(imageDir)
            .Where(f => Path.GetExtension(f).ToLowerInvariant() is ".jpg" or ".jpeg" or ".png")
            .Order(StringComparer.Ordinal)
            .ToArray();
        if (files.Length == 0) throw new DatasetException($"saliency for '{imageDir}'", new[] { "the folder holds no .jpg, .jpeg or .png images" });
        Directory.CreateDirectory(outputDir);
        var problems = new ProblemList();
        int done = 0;
        Parallel.For(0, files.Length, new ParallelOptions { MaxDegreeOfParallelism = workers ?? Environment.ProcessorCount }, i =>
        {
            try
            {
                var map = ComputeImage(ImageIO.Read(files[i]), method);
                ImageIO.WritePng(Path.Combine(outputDir, Path.GetFileNameWithoutExtension(files[i]) + ".png"), map);
            }
            catch (InvalidDataException e)
            {
                problems.Add(e.Message);
            }
            int d = Interlocked.Increment(ref done);
            progress?.Report(new DataProgress("saliency", d, files.Length));
        });
        problems.ThrowIfAny($"saliency for '{imageDir}'");
        return files.Length;
    }
}

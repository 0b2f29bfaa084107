namespace Hybrid.Data;

/// <summary>Reading class-index masks (palette or grayscale PNGs; colour-coded RGB through the VOC palette).</summary>
public static class MaskIO
{
    /// <summary>The label of pixels excluded from losses and scores (object borders in VOC, crop padding).</summary>
    public const byte Ignore = 255;

    /// <summary>
    /// Reads a mask as a 1-channel image of class indices (0..numClasses-1 or 255). A value
    /// outside that range is an error naming the file.
    /// </summary>
    public static Image Read(string path, int numClasses)
    {
        var image = ImageIO.Read(path);
        var indices = image.Channels switch
        {
            1 => image.Pixels,
            3 => FromColours(image, path),
            _ => throw new InvalidDataException($"mask '{path}' has {image.Channels} channels; expected an indexed or grayscale PNG"),
        };
        int bad = FirstInvalid(indices, numClasses);
        if (bad >= 0)
            throw new InvalidDataException(
                $"mask '{path}' holds value {indices[bad]} at pixel {bad}; valid are 0..{numClasses - 1} and {Ignore} (ignore)");
        return new Image(image.Width, image.Height, 1, indices);
    }

    /// <summary>The foreground classes (1..C-1) present in a mask, ascending; background and ignore excluded.</summary>
    public static int[] Classes(byte[] indices, int numClasses)
    {
        Span<bool> seen = stackalloc bool[256];
        foreach (var v in indices) seen[v] = true;
        var classes = new List<int>();
        for (int c = 1; c < numClasses; c++)
            if (seen[c]) classes.Add(c);
        return classes.ToArray();
    }

    internal static int FirstInvalid(byte[] indices, int numClasses)
    {
        for (int i = 0; i < indices.Length; i++)
            if (indices[i] >= numClasses && indices[i] != Ignore) return i;
        return -1;
    }

    private static byte[] FromColours(Image rgb, string path)
    {
        var palette = VocPalette.Create(256);
        var lookup = new Dictionary<int, byte>();
        for (int i = 0; i < 256; i++)
            lookup.TryAdd((palette[3 * i] << 16) | (palette[3 * i + 1] << 8) | palette[3 * i + 2], (byte)i);
        int n = rgb.Width * rgb.Height;
        var indices = new byte[n];
        for (int i = 0; i < n; i++)
        {
            int key = (rgb.Pixels[3 * i] << 16) | (rgb.Pixels[3 * i + 1] << 8) | rgb.Pixels[3 * i + 2];
            if (!lookup.TryGetValue(key, out indices[i]))
                throw new InvalidDataException(
                    $"mask '{path}' is RGB and colour ({rgb.Pixels[3 * i]}, {rgb.Pixels[3 * i + 1]}, {rgb.Pixels[3 * i + 2]}) " +
                    "is not in the VOC colour map; save masks as indexed (palette) or grayscale PNGs of class indices");
        }
        return indices;
    }
}

namespace Hybrid.Data;

/// <summary>An RGB colour with components in [0, 1].</summary>
internal readonly record struct Rgb(float R, float G, float B)
{
    /// <summary>From hue (turns, wrapped), saturation and value in [0, 1].</summary>
    public static Rgb FromHsv(double h, double s, double v)
    {
        h -= Math.Floor(h);
        double f = h * 6, c = v * s;
        double x = c * (1 - Math.Abs(f % 2 - 1)), m = v - c;
        (double r, double g, double b) = (int)f switch
        {
            0 => (c, x, 0.0),
            1 => (x, c, 0.0),
            2 => (0.0, c, x),
            3 => (0.0, x, c),
            4 => (x, 0.0, c),
            _ => (c, 0.0, x),
        };
        return new Rgb((float)(r + m), (float)(g + m), (float)(b + m));
    }

    public static Rgb Random(Rng rng, double vMin, double vMax, double sMin = 0.2, double sMax = 0.9) =>
        FromHsv(rng.NextDouble(), rng.Uniform(sMin, sMax), rng.Uniform(vMin, vMax));

    public static Rgb Lerp(Rgb a, Rgb b, float t) =>
        new(a.R + (b.R - a.R) * t, a.G + (b.G - a.G) * t, a.B + (b.B - a.B) * t);
}

/// <summary>A float RGB canvas, (H, W, 3) row-major, values in [0, 1].</summary>
internal sealed class Canvas
{
    public int Size { get; }
    public float[] Pixels { get; }

    public Canvas(int size)
    {
        Size = size;
        Pixels = new float[size * size * 3];
    }

    public void Set(int x, int y, Rgb c)
    {
        int i = (y * Size + x) * 3;
        Pixels[i] = c.R;
        Pixels[i + 1] = c.G;
        Pixels[i + 2] = c.B;
    }

    /// <summary>Blends colour <paramref name="c"/> over pixel (x, y) with opacity <paramref name="alpha"/>.</summary>
    public void Blend(int x, int y, Rgb c, float alpha)
    {
        int i = (y * Size + x) * 3;
        Pixels[i] += (c.R - Pixels[i]) * alpha;
        Pixels[i + 1] += (c.G - Pixels[i + 1]) * alpha;
        Pixels[i + 2] += (c.B - Pixels[i + 2]) * alpha;
    }

    public byte[] ToBytes()
    {
        var bytes = new byte[Pixels.Length];
        for (int i = 0; i < bytes.Length; i++)
            bytes[i] = (byte)Math.Clamp((int)(Pixels[i] * 255f + 0.5f), 0, 255);
        return bytes;
    }
}

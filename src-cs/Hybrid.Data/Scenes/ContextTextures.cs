namespace Hybrid.Data;

/// <summary>
/// Class-correlated context: each Fashion-MNIST class has its own texture (pattern and hue)
/// that is painted around its items, outside their masks, like water around boats. CAMs learn
/// to fire on it, which is the coexistence problem CoSA addresses.
/// </summary>
internal static class ContextTextures
{
    /// <summary>Pattern value in [0, 1] of class <paramref name="label"/> at (x, y); p is the period in pixels.</summary>
    public static float Pattern(int label, float x, float y, float p)
    {
        static float Frac(float v) => v - MathF.Floor(v);
        static float Band(float v) => Frac(v) < 0.5f ? 1f : 0f;
        return label switch
        {
            0 => Band(y / p),                                         // horizontal stripes
            1 => Band(x / p),                                         // vertical stripes
            2 => Band((x + y) / p),                                   // diagonal stripes
            3 => Band((x - y) / p),                                   // anti-diagonal stripes
            4 => Band(x / p) == Band(y / p) ? 1f : 0f,                // checkerboard
            5 => Dot(Frac(x / p) - 0.5f, Frac(y / p) - 0.5f, 0.3f),   // dots
            6 => Frac(x / p) < 0.25f || Frac(y / p) < 0.25f ? 1f : 0f, // grid lines
            7 => Band((y + 0.3f * p * MathF.Sin(x * 2.2f / p)) / p),  // waves
            8 => Band((x + y) / p) != Band((x - y) / p) ? 1f : 0f,    // diamonds
            _ => Dot(Frac(x / p) - 0.5f, Frac(y / p) - 0.5f, 0.45f) * (1 - Dot(Frac(x / p) - 0.5f, Frac(y / p) - 0.5f, 0.25f)), // rings
        };
    }

    private static float Dot(float dx, float dy, float r) => dx * dx + dy * dy < r * r ? 1f : 0f;

    /// <summary>The class's texture colour: a fixed hue per class, jittered a little per image.</summary>
    public static Rgb Colour(int label, Rng rng) =>
        Rgb.FromHsv(label / 10.0 + rng.Uniform(-0.02, 0.02), rng.Uniform(0.5, 0.8), rng.Uniform(0.55, 0.9));

    /// <summary>
    /// Paints class <paramref name="label"/>'s texture in the ellipse centred at (cx, cy) with radii
    /// (rx, ry), fading out over the outer quarter of the radius.
    /// </summary>
    public static void Paint(Canvas canvas, Rng rng, int label, float cx, float cy, float rx, float ry)
    {
        var colour = Colour(label, rng);
        float period = (float)rng.Uniform(4.0, 7.0) * canvas.Size / 96f;
        float ox = rng.NextFloat() * period, oy = rng.NextFloat() * period;
        float strength = (float)rng.Uniform(0.55, 0.85);
        int n = canvas.Size;
        int x0 = Math.Max(0, (int)(cx - rx)), x1 = Math.Min(n - 1, (int)(cx + rx) + 1);
        int y0 = Math.Max(0, (int)(cy - ry)), y1 = Math.Min(n - 1, (int)(cy + ry) + 1);
        for (int y = y0; y <= y1; y++)
            for (int x = x0; x <= x1; x++)
            {
                float dx = (x - cx) / rx, dy = (y - cy) / ry;
                float d = MathF.Sqrt(dx * dx + dy * dy);
                if (d >= 1f) continue;
                float fade = Math.Min(1f, (1f - d) * 4f);
                float v = Pattern(label, x + ox, y + oy, period);
                if (v > 0f) canvas.Blend(x, y, colour, strength * fade * v);
            }
    }
}

namespace Hybrid.Data;

/// <summary>The procedural backgrounds of FMNIST-Scenes.</summary>
internal enum BackgroundKind
{
    Solid,
    Gradient,
    Stripes,
    SmoothNoise,
}

internal static class Backgrounds
{
    /// <summary>Fills the canvas with a random background (mid-to-dark colours so that items stand out, mostly).</summary>
    public static void Paint(Canvas canvas, Rng rng)
    {
        var kind = (BackgroundKind)rng.NextInt(4);
        int n = canvas.Size;
        var a = Rgb.Random(rng, 0.12, 0.7, 0.05, 0.8);
        var b = Rgb.Random(rng, 0.12, 0.7, 0.05, 0.8);
        switch (kind)
        {
            case BackgroundKind.Solid:
                for (int y = 0; y < n; y++)
                    for (int x = 0; x < n; x++) canvas.Set(x, y, a);
                break;
            case BackgroundKind.Gradient:
            {
                double angle = rng.Uniform(0, 2 * Math.PI);
                float cos = (float)Math.Cos(angle), sin = (float)Math.Sin(angle);
                for (int y = 0; y < n; y++)
                    for (int x = 0; x < n; x++)
                    {
                        float t = 0.5f + ((x - n / 2f) * cos + (y - n / 2f) * sin) / (n * 1.42f);
                        canvas.Set(x, y, Rgb.Lerp(a, b, Math.Clamp(t, 0f, 1f)));
                    }
                break;
            }
            case BackgroundKind.Stripes:
            {
                b = Rgb.Lerp(a, b, (float)rng.Uniform(0.3, 0.7)); // low contrast
                double angle = rng.Uniform(0, Math.PI);
                float cos = (float)Math.Cos(angle), sin = (float)Math.Sin(angle);
                float period = (float)rng.Uniform(n / 10.0, n / 4.0), phase = rng.NextFloat();
                for (int y = 0; y < n; y++)
                    for (int x = 0; x < n; x++)
                    {
                        float u = (x * cos + y * sin) / period + phase;
                        canvas.Set(x, y, u - MathF.Floor(u) < 0.5f ? a : b);
                    }
                break;
            }
            default:
            {
                // Value noise: random values on a coarse grid, bilinearly interpolated.
                int cell = rng.NextInt(Math.Max(4, n / 12), Math.Max(5, n / 4));
                int g = n / cell + 2;
                var grid = new float[g * g];
                for (int i = 0; i < grid.Length; i++) grid[i] = rng.NextFloat();
                for (int y = 0; y < n; y++)
                    for (int x = 0; x < n; x++)
                    {
                        float fx = (float)x / cell, fy = (float)y / cell;
                        int x0 = (int)fx, y0 = (int)fy;
                        float tx = fx - x0, ty = fy - y0;
                        float v = (grid[y0 * g + x0] * (1 - tx) + grid[y0 * g + x0 + 1] * tx) * (1 - ty)
                                  + (grid[(y0 + 1) * g + x0] * (1 - tx) + grid[(y0 + 1) * g + x0 + 1] * tx) * ty;
                        canvas.Set(x, y, Rgb.Lerp(a, b, v));
                    }
                break;
            }
        }
    }

    /// <summary>Adds independent pixel noise of standard deviation <paramref name="sigma"/> (uniform approximation).</summary>
    public static void AddNoise(Canvas canvas, Rng rng, float sigma)
    {
        // Uniform on [-sqrt(3) sigma, sqrt(3) sigma] has standard deviation sigma.
        float half = 1.7320508f * sigma;
        var p = canvas.Pixels;
        for (int i = 0; i < p.Length; i++) p[i] += (2 * rng.NextFloat() - 1) * half;
    }
}

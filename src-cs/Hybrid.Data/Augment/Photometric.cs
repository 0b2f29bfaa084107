namespace Hybrid.Data;

/// <summary>
/// Photometric operations on an RGB image held as (3, H, W) floats in [0, 255]. Each acts on the
/// pixels marked valid (padding from the crop is left alone) and clamps to [0, 255].
/// </summary>
public static class Photometric
{
    private static float Gray(float r, float g, float b) => 0.299f * r + 0.587f * g + 0.114f * b;

    /// <summary>Scales intensities: x * f (PIL/torchvision brightness).</summary>
    public static void Brightness(float[] img, bool[] valid, float factor)
    {
        int plane = valid.Length;
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < plane; i++)
                if (valid[i]) img[c * plane + i] = Math.Clamp(img[c * plane + i] * factor, 0f, 255f);
    }

    /// <summary>Blends with the mean gray level of the valid pixels (contrast): mean + (x - mean) * f.</summary>
    public static void Contrast(float[] img, bool[] valid, float factor)
    {
        int plane = valid.Length;
        double sum = 0;
        int n = 0;
        for (int i = 0; i < plane; i++)
            if (valid[i])
            {
                sum += Gray(img[i], img[plane + i], img[2 * plane + i]);
                n++;
            }
        float mean = n == 0 ? 0f : (float)(sum / n);
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < plane; i++)
                if (valid[i]) img[c * plane + i] = Math.Clamp(mean + (img[c * plane + i] - mean) * factor, 0f, 255f);
    }

    /// <summary>Blends each pixel with its own gray level (saturation / PIL "Color"): gray + (x - gray) * f.</summary>
    public static void Saturation(float[] img, bool[] valid, float factor)
    {
        int plane = valid.Length;
        for (int i = 0; i < plane; i++)
        {
            if (!valid[i]) continue;
            float g = Gray(img[i], img[plane + i], img[2 * plane + i]);
            for (int c = 0; c < 3; c++)
                img[c * plane + i] = Math.Clamp(g + (img[c * plane + i] - g) * factor, 0f, 255f);
        }
    }

    /// <summary>Rotates the hue by <paramref name="shift"/> turns (in HSV).</summary>
    public static void Hue(float[] img, bool[] valid, float shift)
    {
        int plane = valid.Length;
        for (int i = 0; i < plane; i++)
        {
            if (!valid[i]) continue;
            float r = img[i], g = img[plane + i], b = img[2 * plane + i];
            float max = Math.Max(r, Math.Max(g, b)), min = Math.Min(r, Math.Min(g, b)), d = max - min;
            if (d <= 0) continue; // gray: no hue
            float h = max == r ? (g - b) / d : max == g ? 2 + (b - r) / d : 4 + (r - g) / d;
            h = h / 6f + shift;
            h = (h - MathF.Floor(h)) * 6f;
            int sector = Math.Min(5, (int)h);
            float f = h - sector;
            // HSV -> RGB with value = max and chroma = d (the saturation is kept).
            float rising = min + d * f, falling = max - d * f;
            (r, g, b) = sector switch
            {
                0 => (max, rising, min),
                1 => (falling, max, min),
                2 => (min, max, rising),
                3 => (min, falling, max),
                4 => (rising, min, max),
                _ => (max, min, falling),
            };
            img[i] = r;
            img[plane + i] = g;
            img[2 * plane + i] = b;
        }
    }

    /// <summary>torchvision-style colour jitter: the four adjustments in random order with random factors.</summary>
    public static void Jitter(float[] img, bool[] valid, ColourJitter jitter, Rng rng)
    {
        var order = new List<int> { 0, 1, 2, 3 };
        rng.Shuffle(order);
        foreach (int op in order)
        {
            switch (op)
            {
                case 0 when jitter.Brightness > 0:
                    Brightness(img, valid, (float)rng.Uniform(Math.Max(0, 1 - jitter.Brightness), 1 + jitter.Brightness)); break;
                case 1 when jitter.Contrast > 0:
                    Contrast(img, valid, (float)rng.Uniform(Math.Max(0, 1 - jitter.Contrast), 1 + jitter.Contrast)); break;
                case 2 when jitter.Saturation > 0:
                    Saturation(img, valid, (float)rng.Uniform(Math.Max(0, 1 - jitter.Saturation), 1 + jitter.Saturation)); break;
                case 3 when jitter.Hue > 0:
                    Hue(img, valid, (float)rng.Uniform(-jitter.Hue, jitter.Hue)); break;
            }
        }
    }

    /// <summary>Gaussian blur of each channel (edges replicated); padding is restored afterwards.</summary>
    public static void GaussianBlur(float[] img, bool[] valid, int h, int w, double sigma, IReadOnlyList<float> pad)
    {
        int plane = h * w;
        for (int c = 0; c < 3; c++)
        {
            var blurred = Resize.GaussianBlur(img[(c * plane)..((c + 1) * plane)], h, w, sigma);
            for (int i = 0; i < plane; i++) img[c * plane + i] = valid[i] ? blurred[i] : pad[c];
        }
    }
}

namespace Hybrid.Data;

/// <summary>
/// CoSA's strong photometric operations, following PIL's ImageOps / ImageEnhance definitions, on
/// (3, H, W) floats in [0, 255], valid pixels only. Magnitude m in [0, 1]: enhance factors are
/// 1 +- 0.9 m; solarize threshold 256 (1 - m); posterize keeps 8 - round(4 m) bits.
/// </summary>
public static class StrongOps
{
    public static void Apply(StrongOp op, float[] img, bool[] valid, int h, int w, double magnitude, Rng rng)
    {
        float enhance = (float)(1 + (rng.Bernoulli(0.5) ? 1 : -1) * 0.9 * magnitude);
        switch (op)
        {
            case StrongOp.AutoContrast: AutoContrast(img, valid); break;
            case StrongOp.Equalize: Equalize(img, valid); break;
            case StrongOp.Solarize: Solarize(img, valid, (float)(256 * (1 - magnitude))); break;
            case StrongOp.Posterize: Posterize(img, valid, 8 - (int)Math.Round(4 * magnitude)); break;
            case StrongOp.Colour: Photometric.Saturation(img, valid, enhance); break;
            case StrongOp.Contrast: Photometric.Contrast(img, valid, enhance); break;
            case StrongOp.Brightness: Photometric.Brightness(img, valid, enhance); break;
            case StrongOp.Sharpness: Sharpness(img, valid, h, w, enhance); break;
            default: throw new ArgumentOutOfRangeException(nameof(op));
        }
    }

    /// <summary>Stretches each channel's range over the valid pixels to [0, 255] (truncating, like PIL's lookup table).</summary>
    public static void AutoContrast(float[] img, bool[] valid)
    {
        int plane = valid.Length;
        for (int c = 0; c < 3; c++)
        {
            float lo = float.MaxValue, hi = float.MinValue;
            for (int i = 0; i < plane; i++)
                if (valid[i])
                {
                    lo = Math.Min(lo, img[c * plane + i]);
                    hi = Math.Max(hi, img[c * plane + i]);
                }
            if (!(hi > lo)) continue;
            float scale = 255f / (hi - lo);
            for (int i = 0; i < plane; i++)
                if (valid[i]) img[c * plane + i] = MathF.Floor((img[c * plane + i] - lo) * scale + 1e-4f);
        }
    }

    /// <summary>Histogram equalisation of each channel (PIL's lookup table: cumulative counts over a step that leaves out the top bin).</summary>
    public static void Equalize(float[] img, bool[] valid)
    {
        int plane = valid.Length;
        var hist = new int[256];
        var lut = new float[256];
        for (int c = 0; c < 3; c++)
        {
            Array.Clear(hist);
            for (int i = 0; i < plane; i++)
                if (valid[i]) hist[ToByte(img[c * plane + i])]++;
            int total = hist.Sum(), last = 0;
            for (int v = 255; v >= 0; v--)
                if (hist[v] > 0) { last = hist[v]; break; }
            int step = (total - last) / 255;
            if (step == 0) continue; // (nearly) one level: PIL leaves the channel unchanged
            int running = step / 2;
            for (int v = 0; v < 256; v++)
            {
                lut[v] = Math.Min(255, running / step);
                running += hist[v];
            }
            for (int i = 0; i < plane; i++)
                if (valid[i]) img[c * plane + i] = lut[ToByte(img[c * plane + i])];
        }
    }

    /// <summary>Inverts values at or above the threshold.</summary>
    public static void Solarize(float[] img, bool[] valid, float threshold)
    {
        int plane = valid.Length;
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < plane; i++)
                if (valid[i] && img[c * plane + i] >= threshold) img[c * plane + i] = 255f - img[c * plane + i];
    }

    /// <summary>Keeps the top <paramref name="bits"/> bits of each (rounded) value.</summary>
    public static void Posterize(float[] img, bool[] valid, int bits)
    {
        int keep = 0xFF & ~((1 << (8 - Math.Clamp(bits, 1, 8))) - 1);
        int plane = valid.Length;
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < plane; i++)
                if (valid[i]) img[c * plane + i] = ToByte(img[c * plane + i]) & keep;
    }

    /// <summary>PIL's sharpness: blend with a smoothed copy (kernel 1 1 1 / 1 5 1 / 1 1 1, over 13); border pixels keep their value.</summary>
    public static void Sharpness(float[] img, bool[] valid, int h, int w, float factor)
    {
        int plane = h * w;
        var smooth = new float[plane];
        for (int c = 0; c < 3; c++)
        {
            int b = c * plane;
            for (int i = 0; i < plane; i++) smooth[i] = img[b + i];
            for (int y = 1; y < h - 1; y++)
                for (int x = 1; x < w - 1; x++)
                {
                    float sum = 4 * img[b + y * w + x];
                    for (int dy = -1; dy <= 1; dy++)
                        for (int dx = -1; dx <= 1; dx++) sum += img[b + (y + dy) * w + x + dx];
                    smooth[y * w + x] = sum / 13f;
                }
            for (int i = 0; i < plane; i++)
                if (valid[i]) img[b + i] = Math.Clamp(smooth[i] + (img[b + i] - smooth[i]) * factor, 0f, 255f);
        }
    }

    private static int ToByte(float v) => Math.Clamp((int)(v + 0.5f), 0, 255);
}

namespace Hybrid.Data;

/// <summary>
/// Frequency-tuned saliency (Achanta et al., CVPR 2009): the distance in CIE Lab between the
/// image's mean colour and each pixel of a slightly blurred copy (the paper's 5x5 binomial
/// kernel, 1 4 6 4 1 / 16 in each direction).
/// </summary>
public static class FrequencyTuned
{
    /// <summary>Saliency (H, W) in [0, 1] of an RGB image (H, W, 3 bytes).</summary>
    public static float[] Compute(byte[] rgb, int h, int w)
    {
        int n = h * w;
        var lab = new float[3][];
        for (int c = 0; c < 3; c++) lab[c] = new float[n];
        for (int i = 0; i < n; i++)
        {
            var (l, a, b) = ToLab(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]);
            lab[0][i] = l;
            lab[1][i] = a;
            lab[2][i] = b;
        }
        var map = new float[n];
        for (int c = 0; c < 3; c++)
        {
            float mean = lab[c].Average();
            var blurred = Binomial5(lab[c], h, w);
            for (int i = 0; i < n; i++)
            {
                float d = blurred[i] - mean;
                map[i] += d * d;
            }
        }
        for (int i = 0; i < n; i++) map[i] = MathF.Sqrt(map[i]);
        return SaliencyMaps.Normalise(map);
    }

    private static float[] Binomial5(float[] src, int h, int w)
    {
        ReadOnlySpan<float> k = stackalloc float[] { 1 / 16f, 4 / 16f, 6 / 16f, 4 / 16f, 1 / 16f };
        var tmp = new float[h * w];
        var dst = new float[h * w];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                float acc = 0;
                for (int d = -2; d <= 2; d++) acc += k[d + 2] * src[y * w + Math.Clamp(x + d, 0, w - 1)];
                tmp[y * w + x] = acc;
            }
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                float acc = 0;
                for (int d = -2; d <= 2; d++) acc += k[d + 2] * tmp[Math.Clamp(y + d, 0, h - 1) * w + x];
                dst[y * w + x] = acc;
            }
        return dst;
    }

    // sRGB transfer function inverted, for each byte value.
    private static readonly float[] LinearLut = Enumerable.Range(0, 256).Select(v =>
    {
        double c = v / 255.0;
        return (float)(c <= 0.04045 ? c / 12.92 : Math.Pow((c + 0.055) / 1.055, 2.4));
    }).ToArray();

    /// <summary>sRGB (D65 white) to CIE L*a*b*.</summary>
    public static (float L, float A, float B) ToLab(byte r8, byte g8, byte b8)
    {
        float r = LinearLut[r8], g = LinearLut[g8], b = LinearLut[b8];
        float x = (0.4124564f * r + 0.3575761f * g + 0.1804375f * b) / 0.95047f;
        float y = 0.2126729f * r + 0.7151522f * g + 0.0721750f * b;
        float z = (0.0193339f * r + 0.1191920f * g + 0.9503041f * b) / 1.08883f;
        static float F(float t) => t > 216f / 24389f ? MathF.Cbrt(t) : (24389f / 27f * t + 16f) / 116f;
        float fx = F(x), fy = F(y), fz = F(z);
        return (116f * fy - 16f, 500f * (fx - fy), 200f * (fy - fz));
    }
}

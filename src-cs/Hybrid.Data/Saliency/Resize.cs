namespace Hybrid.Data;

/// <summary>Resizing of single-channel float maps (H, W).</summary>
public static class Resize
{
    /// <summary>Bilinear with half-pixel centres (as align_corners=False), for upsampling.</summary>
    public static float[] Bilinear(float[] src, int h, int w, int outH, int outW)
    {
        var dst = new float[outH * outW];
        float sy = (float)h / outH, sx = (float)w / outW;
        for (int y = 0; y < outH; y++)
        {
            float fy = Math.Clamp((y + 0.5f) * sy - 0.5f, 0f, h - 1);
            int y0 = (int)fy, y1 = Math.Min(y0 + 1, h - 1);
            float ty = fy - y0;
            for (int x = 0; x < outW; x++)
            {
                float fx = Math.Clamp((x + 0.5f) * sx - 0.5f, 0f, w - 1);
                int x0 = (int)fx, x1 = Math.Min(x0 + 1, w - 1);
                float tx = fx - x0;
                dst[y * outW + x] = (src[y0 * w + x0] * (1 - tx) + src[y0 * w + x1] * tx) * (1 - ty)
                                    + (src[y1 * w + x0] * (1 - tx) + src[y1 * w + x1] * tx) * ty;
            }
        }
        return dst;
    }

    /// <summary>Area averaging (each output pixel is the mean of the input area it covers), for downsampling.</summary>
    public static float[] Area(float[] src, int h, int w, int outH, int outW)
    {
        if (outH > h || outW > w) return Bilinear(src, h, w, outH, outW);
        // Separable: columns first into (h, outW), then rows.
        var tmp = new float[h * outW];
        var wx = Weights(w, outW);
        for (int y = 0; y < h; y++)
            foreach (var (o, i, weight) in wx) tmp[y * outW + o] += src[y * w + i] * weight;
        var dst = new float[outH * outW];
        foreach (var (o, i, weight) in Weights(h, outH))
            for (int x = 0; x < outW; x++) dst[o * outW + x] += tmp[i * outW + x] * weight;
        return dst;
    }

    /// <summary>(output, input, weight) triples of 1-D area averaging from n to m samples.</summary>
    private static List<(int Out, int In, float Weight)> Weights(int n, int m)
    {
        var list = new List<(int, int, float)>();
        double scale = (double)n / m;
        for (int o = 0; o < m; o++)
        {
            double lo = o * scale, hi = (o + 1) * scale;
            for (int i = (int)lo; i < Math.Min(n, (int)Math.Ceiling(hi)); i++)
            {
                double overlap = Math.Min(hi, i + 1) - Math.Max(lo, i);
                if (overlap > 0) list.Add((o, i, (float)(overlap / scale)));
            }
        }
        return list;
    }

    /// <summary>Gaussian blur with standard deviation sigma (kernel radius 3 sigma, edges replicated).</summary>
    public static float[] GaussianBlur(float[] src, int h, int w, double sigma)
    {
        if (sigma <= 0) return (float[])src.Clone();
        int radius = Math.Max(1, (int)Math.Ceiling(3 * sigma));
        var kernel = new float[2 * radius + 1];
        double sum = 0;
        for (int i = -radius; i <= radius; i++) sum += kernel[i + radius] = (float)Math.Exp(-i * i / (2 * sigma * sigma));
        for (int i = 0; i < kernel.Length; i++) kernel[i] /= (float)sum;
        var tmp = new float[h * w];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                float acc = 0;
                for (int k = -radius; k <= radius; k++) acc += kernel[k + radius] * src[y * w + Math.Clamp(x + k, 0, w - 1)];
                tmp[y * w + x] = acc;
            }
        var dst = new float[h * w];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                float acc = 0;
                for (int k = -radius; k <= radius; k++) acc += kernel[k + radius] * tmp[Math.Clamp(y + k, 0, h - 1) * w + x];
                dst[y * w + x] = acc;
            }
        return dst;
    }
}

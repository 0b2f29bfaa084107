namespace Hybrid.Data;

/// <summary>
/// One draw of the geometric augmentation: rescale by (ScaleX, ScaleY), take the OutW x OutH
/// window at (CropX, CropY) of the rescaled image (negative or overhanging offsets pad), then
/// mirror if <see cref="Flip"/>. Applying the same value to image, mask and saliency keeps them
/// aligned; CoSA's strong view reuses it.
/// </summary>
public sealed record Geometry(int SourceW, int SourceH, double ScaleX, double ScaleY, int CropX, int CropY, int OutW, int OutH, bool Flip)
{
    public static Geometry Identity(int w, int h) => new(w, h, 1, 1, 0, 0, w, h, false);

    public static Geometry Sample(AugmentationOptions options, int w, int h, Rng rng)
    {
        double s = options.Rescale switch
        {
            Rescale.LongSide l => rng.Uniform(l.Min, l.Max + 1e-9) / Math.Max(w, h),
            Rescale.Factor f => rng.Uniform(f.Min, f.Max),
            _ => 1.0,
        };
        int sw = Math.Max(1, (int)Math.Round(w * s)), sh = Math.Max(1, (int)Math.Round(h * s));
        int outW = options.CropSize ?? sw, outH = options.CropSize ?? sh;
        // Crop inside a larger image; place a smaller image at a random offset inside the crop.
        int cropX = sw >= outW ? rng.NextInt(sw - outW + 1) : -rng.NextInt(outW - sw + 1);
        int cropY = sh >= outH ? rng.NextInt(sh - outH + 1) : -rng.NextInt(outH - sh + 1);
        bool flip = options.HorizontalFlip && rng.Bernoulli(0.5);
        return new Geometry(w, h, (double)sw / w, (double)sh / h, cropX, cropY, outW, outH, flip);
    }

    /// <summary>The rescaled-image column of output column x (after undoing the flip).</summary>
    private int ScaledX(int x) => (Flip ? OutW - 1 - x : x) + CropX;

    private int ScaledW => (int)Math.Round(SourceW * ScaleX);
    private int ScaledH => (int)Math.Round(SourceH * ScaleY);

    /// <summary>
    /// Bilinear resampling of an interleaved (H, W, C) byte image into a (C, OutH, OutW) float map
    /// multiplied by <paramref name="scale"/>; padding gets <paramref name="pad"/>[c].
    /// valid (OutH, OutW), when given, marks the pixels that come from the image.
    /// </summary>
    public float[] ApplyBilinear(byte[] src, int channels, IReadOnlyList<float> pad, bool[]? valid = null, float scale = 1f)
    {
        if (src.Length != SourceW * SourceH * channels)
            throw new ArgumentException($"expected a {SourceW}x{SourceH}x{channels} image, got {src.Length} bytes");
        int outPlane = OutW * OutH, stride = SourceW * channels;
        var dst = new float[channels * outPlane]; // (C, OutH, OutW)
        int sw = ScaledW, sh = ScaledH;
        // Source offsets and weights of each output column (x0 = -1: padding).
        var x0s = new int[OutW];
        var x1s = new int[OutW];
        var txs = new float[OutW];
        for (int x = 0; x < OutW; x++)
        {
            int xs = ScaledX(x);
            if (xs < 0 || xs >= sw) { x0s[x] = -1; continue; }
            float fx = Math.Clamp((float)((xs + 0.5) / ScaleX - 0.5), 0f, SourceW - 1);
            int x0 = (int)fx;
            x0s[x] = x0 * channels;
            x1s[x] = Math.Min(x0 + 1, SourceW - 1) * channels;
            txs[x] = fx - x0;
        }
        var source = src.AsSpan();
        for (int y = 0; y < OutH; y++)
        {
            int ys = y + CropY, row = y * OutW;
            if (ys < 0 || ys >= sh)
            {
                for (int c = 0; c < channels; c++) dst.AsSpan(c * outPlane + row, OutW).Fill(pad[c]);
                continue;
            }
            float fy = Math.Clamp((float)((ys + 0.5) / ScaleY - 0.5), 0f, SourceH - 1);
            int y0 = (int)fy;
            float ty = fy - y0;
            var top = source.Slice(y0 * stride, stride);
            var bottom = source.Slice(Math.Min(y0 + 1, SourceH - 1) * stride, stride);
            for (int c = 0; c < channels; c++)
            {
                var o = dst.AsSpan(c * outPlane + row, OutW);
                float p = pad[c];
                for (int x = 0; x < o.Length; x++)
                {
                    int x0 = x0s[x];
                    if (x0 < 0) { o[x] = p; continue; }
                    int x1 = x1s[x];
                    float tx = txs[x];
                    float a = top[x0 + c] + (top[x1 + c] - top[x0 + c]) * tx;
                    float b = bottom[x0 + c] + (bottom[x1 + c] - bottom[x0 + c]) * tx;
                    o[x] = (a + (b - a) * ty) * scale;
                }
            }
            if (valid is not null)
                for (int x = 0; x < OutW; x++) valid[row + x] = x0s[x] >= 0;
        }
        return dst;
    }

    /// <summary>Nearest-neighbour resampling of a (H, W) label map; padding gets <paramref name="pad"/>.</summary>
    public byte[] ApplyNearest(byte[] src, byte pad)
    {
        var dst = new byte[OutW * OutH];
        int sw = ScaledW, sh = ScaledH;
        for (int y = 0; y < OutH; y++)
        {
            int ys = y + CropY;
            int sy = Math.Min(SourceH - 1, (int)((ys + 0.5) / ScaleY));
            for (int x = 0; x < OutW; x++)
            {
                int xs = ScaledX(x);
                dst[y * OutW + x] = ys < 0 || ys >= sh || xs < 0 || xs >= sw
                    ? pad
                    : src[sy * SourceW + Math.Min(SourceW - 1, (int)((xs + 0.5) / ScaleX))];
            }
        }
        return dst;
    }
}

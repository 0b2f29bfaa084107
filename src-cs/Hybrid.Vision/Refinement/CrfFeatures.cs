namespace Hybrid.Vision;

/// <summary>Per-pixel kernel features, already divided by the kernel's standard deviations, so
/// both CRF kernels read exp(-|f_i - f_j|^2 / 2).</summary>
internal static class CrfFeatures
{
    /// <summary>(N, 2): (x / std, y / std), x the column and y the row.</summary>
    public static float[] Spatial(int h, int w, double xyStd)
    {
        var f = new float[h * w * 2];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int i = y * w + x;
                f[2 * i] = (float)(x / xyStd);
                f[2 * i + 1] = (float)(y / xyStd);
            }
        return f;
    }

    /// <summary>(N, 5): (x / xyStd, y / xyStd, R / rgbStd, G / rgbStd, B / rgbStd), colours 0..255.</summary>
    public static float[] Bilateral(ReadOnlySpan<byte> rgbHwc, int h, int w, double xyStd, double rgbStd)
    {
        var f = new float[h * w * 5];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int i = y * w + x;
                f[5 * i] = (float)(x / xyStd);
                f[5 * i + 1] = (float)(y / xyStd);
                for (int c = 0; c < 3; c++) f[5 * i + 2 + c] = (float)(rgbHwc[3 * i + c] / rgbStd);
            }
        return f;
    }

    /// <summary>Throws unless the image holds H*W*3 bytes.</summary>
    public static void CheckImage(ReadOnlySpan<byte> rgbHwc, int h, int w)
    {
        if (rgbHwc.Length != (long)h * w * 3)
            throw new ArgumentException(
                $"image must hold H*W*3 = {h}*{w}*3 = {(long)h * w * 3} bytes laid out (H, W, RGB), got {rgbHwc.Length}");
    }
}

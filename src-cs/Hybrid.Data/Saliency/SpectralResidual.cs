namespace Hybrid.Data;

/// <summary>
/// Spectral residual saliency (Hou and Zhang, CVPR 2007): on a 64x64 grayscale copy, the log
/// amplitude spectrum minus its 3x3 local mean is the "residual"; transformed back with the
/// original phase and squared it marks what is unexpected in the image. The paper smooths with
/// a Gaussian (sigma 8 at its 64 px scale, quoted from the paper); we default to a smaller one
/// (sigma 3 at 64 px) because our objects are small relative to the image.
/// </summary>
public static class SpectralResidual
{
    public const int WorkingSize = 64;

    /// <summary>Saliency (H, W) in [0, 1] of a grayscale map (H, W) in [0, 1].</summary>
    public static float[] Compute(float[] gray, int h, int w, double sigma = 3.0)
    {
        int n = WorkingSize;
        var small = Resize.Area(gray, h, w, n, n);
        var re = new double[n * n];
        var im = new double[n * n];
        for (int i = 0; i < re.Length; i++) re[i] = small[i];
        Fft.Transform2D(re, im, n, n, inverse: false);

        var logAmp = new double[n * n];
        var phaseRe = new double[n * n];
        var phaseIm = new double[n * n];
        for (int i = 0; i < re.Length; i++)
        {
            double amp = Math.Sqrt(re[i] * re[i] + im[i] * im[i]);
            logAmp[i] = Math.Log(amp + 1e-9);
            phaseRe[i] = amp > 0 ? re[i] / amp : 1;
            phaseIm[i] = amp > 0 ? im[i] / amp : 0;
        }
        // Residual = log amplitude - its 3x3 mean (the spectrum is periodic: wrap around).
        for (int y = 0; y < n; y++)
            for (int x = 0; x < n; x++)
            {
                double mean = 0;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++)
                        mean += logAmp[((y + dy + n) % n) * n + (x + dx + n) % n];
                double residual = logAmp[y * n + x] - mean / 9;
                double magnitude = Math.Exp(residual);
                re[y * n + x] = magnitude * phaseRe[y * n + x];
                im[y * n + x] = magnitude * phaseIm[y * n + x];
            }
        Fft.Transform2D(re, im, n, n, inverse: true);
        var map = new float[n * n];
        for (int i = 0; i < map.Length; i++) map[i] = (float)(re[i] * re[i] + im[i] * im[i]);
        map = Resize.GaussianBlur(map, n, n, sigma);
        return SaliencyMaps.Normalise(Resize.Bilinear(map, n, n, h, w));
    }
}

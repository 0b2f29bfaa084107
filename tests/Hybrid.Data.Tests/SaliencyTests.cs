namespace Hybrid.Data.Tests;

public class SaliencyTests
{
    [Fact]
    public void FftMatchesTheDefinitionOfTheDft()
    {
        // Reference: X[k] = sum_n x[n] exp(-2 pi i k n / N), summed directly.
        int n = 16;
        var re = new double[n];
        var im = new double[n];
        for (int i = 0; i < n; i++) { re[i] = Math.Sin(i * 0.7) + i % 3; im[i] = 0.1 * i; }
        var (r0, i0) = ((double[])re.Clone(), (double[])im.Clone());
        Fft.Transform(re, im, inverse: false);
        for (int k = 0; k < n; k++)
        {
            double sr = 0, si = 0;
            for (int t = 0; t < n; t++)
            {
                double a = -2 * Math.PI * k * t / n;
                sr += r0[t] * Math.Cos(a) - i0[t] * Math.Sin(a);
                si += r0[t] * Math.Sin(a) + i0[t] * Math.Cos(a);
            }
            Assert.Equal(sr, re[k], 9);
            Assert.Equal(si, im[k], 9);
        }
        Fft.Transform(re, im, inverse: true);
        for (int t = 0; t < n; t++) Assert.Equal(r0[t], re[t], 9);
        Assert.Throws<ArgumentException>(() => Fft.Transform(new double[12], new double[12], false));
    }

    [Fact]
    public void AreaResizeAveragesAndBilinearInterpolates()
    {
        var src = new float[] { 0, 2, 4, 6, 8, 10, 12, 14 }; // (2, 4)
        Assert.Equal(new float[] { 1, 5, 9, 13 }, Resize.Area(src, 2, 4, 2, 2)); // pairs of columns
        Assert.Equal(new float[] { 5, 9 }, Resize.Area(src, 2, 4, 1, 2));
        var up = Resize.Bilinear(new float[] { 0, 4 }, 1, 2, 1, 4); // half-pixel centres: 0, 1, 3, 4
        Assert.Equal(new float[] { 0, 1, 3, 4 }, up);
    }

    [Theory]
    [InlineData(SaliencyMethod.SpectralResidual)]
    [InlineData(SaliencyMethod.FrequencyTuned)]
    public void AnOddObjectIsSalient(SaliencyMethod method)
    {
        // Gray noisy background with a small yellow square (it differs in colour and in luminance,
        // which is all spectral residual sees): the square should stand out.
        int w = 80, h = 60;
        var rng = new Rng(2);
        var px = new byte[w * h * 3];
        for (int i = 0; i < w * h; i++)
            for (int c = 0; c < 3; c++) px[3 * i + c] = (byte)(100 + rng.NextInt(20));
        for (int y = 20; y < 32; y++)
            for (int x = 50; x < 62; x++) { px[(y * w + x) * 3] = 230; px[(y * w + x) * 3 + 1] = 220; px[(y * w + x) * 3 + 2] = 40; }
        var map = SaliencyMaps.Compute(new Image(w, h, 3, px), method);
        double inside = 0, outside = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                if (y is >= 20 and < 32 && x is >= 50 and < 62) inside += map[y * w + x];
                else outside += map[y * w + x];
        inside /= 144;
        outside /= w * h - 144;
        Assert.True(inside > 3 * outside, $"{method}: inside {inside:F3}, outside {outside:F3}");
        Assert.InRange(map.Max(), 0.999f, 1f);
    }

    [Fact]
    public void FolderSaliencyWritesOneMapPerImageAndGathersErrors()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir["img"]);
        ImageIO.WriteJpeg(dir["img/a.jpg"], new Image(16, 12, 3, Enumerable.Range(0, 576).Select(i => (byte)i).ToArray()));
        ImageIO.WritePng(dir["img/b.png"], new Image(10, 10, 1, new byte[100]));
        File.WriteAllText(dir["img/notes.txt"], "not an image");
        Assert.Equal(2, SaliencyMaps.ComputeFolder(dir["img"], dir["sal"]));
        var a = ImageIO.Read(dir["sal/a.png"]);
        Assert.Equal((16, 12, 1), (a.Width, a.Height, a.Channels));
        Assert.True(File.Exists(dir["sal/b.png"]));

        File.WriteAllBytes(dir["img/c.jpg"], new byte[] { 0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10 });
        var ex = Assert.Throws<DatasetException>(() => SaliencyMaps.ComputeFolder(dir["img"], dir["sal2"], SaliencyMethod.FrequencyTuned));
        Assert.Contains("c.jpg", ex.Message);
        Assert.True(File.Exists(dir["sal2/a.png"])); // the readable ones were still written
    }
}

public class LabTests
{
    [Fact]
    public void SrgbToLabMatchesKnownValues()
    {
        // Reference values from the CIE definitions (D65): white is L 100, a b 0; sRGB red is
        // L 53.24, a 80.09, b 67.20; mid gray 128 is L 53.59 (as listed by Bruce Lindbloom's calculator).
        var white = FrequencyTuned.ToLab(255, 255, 255);
        Assert.Equal(100f, white.L, 1);
        Assert.Equal(0f, white.A, 1);
        Assert.Equal(0f, white.B, 1);
        var red = FrequencyTuned.ToLab(255, 0, 0);
        Assert.Equal(53.24f, red.L, 1);
        Assert.Equal(80.09f, red.A, 1);
        Assert.Equal(67.20f, red.B, 1);
        Assert.Equal(53.59f, FrequencyTuned.ToLab(128, 128, 128).L, 1);
    }
}

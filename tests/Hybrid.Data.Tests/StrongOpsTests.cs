namespace Hybrid.Data.Tests;

/// <summary>The strong ops against PIL's own (Fixtures/pil_ops.txt, made by Fixtures/pil_ops.py with python3-pil 9.4.0).</summary>
public class StrongOpsTests
{
    private const int W = 32, H = 16;

    private static float[] Input()
    {
        var chw = new float[3 * W * H]; // (3, H, W)
        for (int i = 0; i < W * H; i++)
        {
            chw[i] = (i * i * 7 + 3) % 200;
            chw[W * H + i] = (i * 53 % 256) / 2;
            chw[2 * W * H + i] = 255 - 2 * (i % 64);
        }
        return chw;
    }

    private static byte[] Reference(string name)
    {
        foreach (var line in File.ReadAllLines(Fixtures.File("pil_ops.txt")))
        {
            var parts = line.Split(' ');
            if (parts[0] == name) return Convert.FromHexString(parts[1]);
        }
        throw new InvalidOperationException($"no reference '{name}'");
    }

    [Theory]
    [InlineData("autocontrast", 0)]
    [InlineData("equalize", 0)]
    [InlineData("solarize128", 0)]
    [InlineData("posterize3", 0)]
    [InlineData("sharpness1.7", 1)]
    [InlineData("colour0.3", 1)]
    [InlineData("contrast1.5", 1)]
    [InlineData("brightness0.6", 1)]
    public void MatchesPil(string name, int tolerance)
    {
        var img = Input();
        var valid = Enumerable.Repeat(true, W * H).ToArray();
        switch (name)
        {
            case "autocontrast": StrongOps.AutoContrast(img, valid); break;
            case "equalize": StrongOps.Equalize(img, valid); break;
            case "solarize128": StrongOps.Solarize(img, valid, 128); break;
            case "posterize3": StrongOps.Posterize(img, valid, 3); break;
            case "sharpness1.7": StrongOps.Sharpness(img, valid, H, W, 1.7f); break;
            case "colour0.3": Photometric.Saturation(img, valid, 0.3f); break;
            case "contrast1.5": Photometric.Contrast(img, valid, 1.5f); break;
            case "brightness0.6": Photometric.Brightness(img, valid, 0.6f); break;
        }
        var reference = Reference(name); // (H, W, 3)
        int worst = 0;
        for (int i = 0; i < W * H; i++)
            for (int c = 0; c < 3; c++)
            {
                int ours = (int)MathF.Round(img[c * W * H + i]);
                worst = Math.Max(worst, Math.Abs(ours - reference[3 * i + c]));
            }
        // Exact for the integer ops; PIL rounds its blends in 8-bit integer arithmetic, we keep floats.
        Assert.True(worst <= tolerance, $"{name}: max difference to PIL {worst}");
    }

    [Fact]
    public void PaddingIsNotTouched()
    {
        var img = Input();
        var valid = Enumerable.Range(0, W * H).Select(i => i % 3 != 0).ToArray();
        var before = (float[])img.Clone();
        foreach (var op in Enum.GetValues<StrongOp>())
            StrongOps.Apply(op, img, valid, H, W, 0.8, new Rng(1));
        for (int i = 0; i < W * H; i += 3)
            for (int c = 0; c < 3; c++)
                Assert.Equal(before[c * W * H + i], img[c * W * H + i]);
    }
}

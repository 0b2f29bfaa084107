namespace Hybrid.Data.Tests;

public class AugmentationTests
{
    // Colour of each class in the synthetic pattern: the mask can be read back from the image.
    private static readonly byte[][] Colours = { new byte[] { 128, 128, 128 }, new byte[] { 250, 20, 20 }, new byte[] { 20, 20, 250 } };

    /// <summary>A w x h scene of axis-aligned blocks of classes 1 and 2 on class 0, with matching mask and saliency.</summary>
    private static LoadedSample Pattern(int w, int h)
    {
        var rgb = new byte[w * h * 3];
        var mask = new byte[w * h];
        var sal = new byte[w * h];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                byte c = (byte)((x / 9 + y / 7) % 3 == 0 ? 0 : x < w / 2 ? 1 : 2);
                mask[y * w + x] = c;
                sal[y * w + x] = (byte)(c == 0 ? 0 : 255);
                Colours[c].CopyTo(rgb, (y * w + x) * 3);
            }
        var sample = new SegmentationSample("p", "p.jpg", "p.png", "s.png", new[] { 1, 2 });
        return new LoadedSample(sample, new Image(w, h, 3, rgb), new Image(w, h, 1, mask), new Image(w, h, 1, sal));
    }

    /// <summary>The class whose colour is nearest to the (de-normalised) pixel.</summary>
    private static int ClassOf(AugmentedSample a, AugmentationOptions o, int i)
    {
        int plane = a.Height * a.Width;
        int best = -1;
        double bestD = double.MaxValue;
        for (int k = 0; k < Colours.Length; k++)
        {
            double d = 0;
            for (int c = 0; c < 3; c++)
            {
                double v = (a.Image[c * plane + i] * o.Std[c] + o.Mean[c]) * 255;
                d += (v - Colours[k][c]) * (v - Colours[k][c]);
            }
            if (d < bestD) { bestD = d; best = k; }
        }
        return best;
    }

    [Fact]
    public void CropAndFlipKeepImageAndMaskExactlyAligned()
    {
        var o = new AugmentationOptions { CropSize = 40, HorizontalFlip = true };
        var aug = new Augmenter(o);
        var sample = Pattern(57, 33); // crop wider than tall side: pads vertically, crops horizontally
        int flips = 0;
        for (int seed = 0; seed < 20; seed++)
        {
            var a = aug.Apply(sample, 0, new Rng((ulong)seed));
            flips += a.Geometry.Flip ? 1 : 0;
            for (int i = 0; i < a.Mask!.Length; i++)
            {
                if (a.Mask[i] == MaskIO.Ignore) continue;
                Assert.Equal(a.Mask[i], ClassOf(a, o, i));
                Assert.Equal(a.Mask[i] == 0 ? 0f : 1f, a.Saliency![i], 3);
            }
        }
        Assert.InRange(flips, 3, 17);
    }

    [Fact]
    public void RescaleKeepsImageAndMaskAlignedExceptAtBlockEdges()
    {
        var o = new AugmentationOptions { Rescale = new Rescale.Factor(0.6, 1.7), CropSize = 48 };
        var aug = new Augmenter(o);
        var sample = Pattern(64, 48);
        long agree = 0, agreeMirrored = 0, total = 0;
        for (int seed = 0; seed < 20; seed++)
        {
            var a = aug.Apply(sample, 0, new Rng((ulong)seed));
            for (int i = 0; i < a.Mask!.Length; i++)
            {
                int x = i % a.Width, mirrored = i - x + a.Width - 1 - x;
                if (a.Mask[i] == MaskIO.Ignore || a.Mask[mirrored] == MaskIO.Ignore) continue;
                total++;
                int seen = ClassOf(a, o, i);
                if (a.Mask[i] == seen) agree++;
                if (a.Mask[mirrored] == seen) agreeMirrored++;
            }
        }
        // Bilinear image vs nearest mask differ only on a one-pixel band along block edges.
        Assert.True(agree > 0.95 * total, $"agreement {agree}/{total}");
        // The criterion can fail: a mask that missed the flip (mirrored) agrees far less.
        Assert.True(agreeMirrored < 0.8 * total, $"mirrored agreement {agreeMirrored}/{total}");
    }

    [Fact]
    public void PaddingIsIgnoreInMasksZeroInImagesAndSaliency()
    {
        var o = new AugmentationOptions { CropSize = 32, HorizontalFlip = false };
        var a = new Augmenter(o).Apply(Pattern(20, 12), 0, new Rng(4));
        var mask = a.Mask!;
        int ignore = mask.Count(v => v == MaskIO.Ignore);
        Assert.Equal(32 * 32 - 20 * 12, ignore);
        int plane = 32 * 32;
        for (int i = 0; i < plane; i++)
        {
            if (a.Mask![i] != MaskIO.Ignore) continue;
            for (int c = 0; c < 3; c++) Assert.Equal(0f, a.Image[c * plane + i]);
            Assert.Equal(0f, a.Saliency![i]);
        }
    }

    [Fact]
    public void SameSeedSameOutputDifferentSeedDifferentOutput()
    {
        var o = AugmentationOptions.Train(40) with { Blur = new GaussianBlurOptions(0.5, 0.1, 1.5), Strong = new StrongAugmentation() };
        var aug = new Augmenter(o);
        var s = Pattern(50, 45);
        var a = aug.Apply(s, 0, Rng.For(9, 1, 3));
        var b = aug.Apply(s, 0, Rng.For(9, 1, 3));
        var c = aug.Apply(s, 0, Rng.For(9, 1, 4));
        Assert.Equal(a.Image, b.Image);
        Assert.Equal(a.Strong, b.Strong);
        Assert.Equal(a.Mask, b.Mask);
        Assert.Equal(a.Geometry, b.Geometry);
        Assert.NotEqual(a.Image, c.Image);
    }

    [Fact]
    public void StrongAndWeakViewsShareGeometry()
    {
        // Pointwise strong ops keep the partition of a two-level image: pixels equal in the weak
        // view stay equal in the strong one, so both views must show the same blocks in the same place.
        var pointwise = Enum.GetValues<StrongOp>().Where(op => op != StrongOp.Sharpness).ToArray();
        var o = new AugmentationOptions
        {
            Rescale = new Rescale.Factor(0.8, 1.4),
            CropSize = 36,
            Strong = new StrongAugmentation(OpsPerImage: 3, MaxMagnitude: 0.9) { Ops = pointwise },
        };
        var aug = new Augmenter(o);
        var sample = Pattern(48, 40);
        for (int seed = 0; seed < 10; seed++)
        {
            var a = aug.Apply(sample, 0, new Rng((ulong)seed));
            int plane = a.Height * a.Width;
            // For each mask class, the strong view's pixels deep inside blocks of that class share one colour.
            var colourOf = new Dictionary<int, (float, float, float)>();
            for (int i = 0; i < plane; i++)
            {
                int cls = a.Mask![i];
                if (cls == MaskIO.Ignore || !Interior(a.Mask, a.Width, a.Height, i)) continue;
                var v = (a.Strong![i], a.Strong[plane + i], a.Strong[2 * plane + i]);
                if (!colourOf.TryAdd(cls, v))
                {
                    var u = colourOf[cls];
                    Assert.Equal(u.Item1, v.Item1, 3);
                    Assert.Equal(u.Item2, v.Item2, 3);
                    Assert.Equal(u.Item3, v.Item3, 3);
                }
            }
        }

        // With no strong ops and no jitter, the strong view is the weak view.
        var identity = new Augmenter(o with { Strong = new StrongAugmentation(OpsPerImage: 0) });
        var same = identity.Apply(sample, 0, new Rng(3));
        Assert.Equal(same.Image, same.Strong);
    }

    private static bool Interior(byte[] mask, int w, int h, int i)
    {
        int x = i % w, y = i / w;
        for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++)
            {
                int xx = x + dx, yy = y + dy;
                if (xx < 0 || yy < 0 || xx >= w || yy >= h || mask[yy * w + xx] != mask[i]) return false;
            }
        return true;
    }

    [Fact]
    public void LongSideRescaleHitsTheRange()
    {
        var o = new AugmentationOptions { Rescale = new Rescale.LongSide(30, 40), HorizontalFlip = false };
        var aug = new Augmenter(o);
        for (int seed = 0; seed < 10; seed++)
        {
            var a = aug.Apply(Pattern(60, 24), 0, new Rng((ulong)seed));
            Assert.InRange(a.Width, 30, 40);
            Assert.InRange(a.Height, 11, 17);
        }
    }

    [Fact]
    public void JitterChangesColoursButNotPadding()
    {
        var o = new AugmentationOptions { CropSize = 30, HorizontalFlip = false, Jitter = new ColourJitter(0.4, 0.4, 0.4, 0.1) };
        var plain = new Augmenter(o with { Jitter = null }).Apply(Pattern(24, 24), 0, new Rng(8));
        var jittered = new Augmenter(o).Apply(Pattern(24, 24), 0, new Rng(8));
        Assert.Equal(plain.Geometry, jittered.Geometry);
        Assert.NotEqual(plain.Image, jittered.Image);
        int plane = 30 * 30;
        for (int i = 0; i < plane; i++)
            if (jittered.Mask![i] == MaskIO.Ignore) Assert.Equal(0f, jittered.Image[i]);
    }

    [Fact]
    public void InvalidOptionsAreRejected()
    {
        Assert.Throws<ArgumentException>(() => new Augmenter(new AugmentationOptions { Rescale = new Rescale.Factor(2, 1) }));
        Assert.Throws<ArgumentException>(() => new Augmenter(new AugmentationOptions { Std = new[] { 1f, 0f, 1f } }));
    }
}

namespace Hybrid.Vision.Tests.Refinement;

public class CrfUnaryTests
{
    [Fact]
    public void ProbabilitiesBecomeClippedNegativeLogs()
    {
        var u = CrfUnary.FromProbabilities([0.5f, 1f, 0f, 2e-5f]);
        Assert.Equal(-Math.Log(0.5), u[0], 1e-6);
        Assert.Equal(0f, u[1]);
        Assert.Equal(-Math.Log(1e-5), u[2], 1e-4); // clipped
        Assert.Equal(-Math.Log(2e-5), u[3], 1e-4);
        Assert.Throws<ArgumentException>(() => CrfUnary.FromProbabilities([0.2f, -0.1f]));
    }

    [Fact]
    public void LabelUnaryPutsGtProbOnTheLabel()
    {
        // (H, W) = (1, 3), C = 4: labels 2, 0 and unsure (255).
        var u = CrfUnary.FromLabels([2, 0, 255], 4, gtProb: 0.7f, unsureLabel: 255);
        int n = 3;
        Assert.Equal(-Math.Log(0.7), u[2 * n + 0], 1e-6);
        Assert.Equal(-Math.Log(0.1), u[1 * n + 0], 1e-6); // (1 - 0.7) / 3
        Assert.Equal(-Math.Log(0.7), u[0 * n + 1], 1e-6);
        for (int c = 0; c < 4; c++) Assert.Equal(Math.Log(4), u[c * n + 2], 1e-6);
        Assert.Contains("outside 0..3", Assert.Throws<ArgumentException>(() => CrfUnary.FromLabels([4], 4)).Message);
    }

    /// <summary>Reference values computed with python3's math module:
    /// -log(1 - s + 1e-8) / (1.05 sigmoid(1 - s)) and -log(s + 1e-8) / (1.05 sigmoid(s)) for
    /// s = 0.3 give 0.5083756742376588 and 1.9960930828081722; s = 0 gives the foreground
    /// energy 35.08701094086165.</summary>
    [Fact]
    public void SaliencyUnaryMatchesTheDssFormula()
    {
        var u = CrfUnary.FromSaliency([0.3f, 0f]);
        int n = 2;
        Assert.Equal(0.5083756742376588, u[0], 1e-5);
        Assert.Equal(1.9960930828081722, u[n + 0], 1e-5);
        Assert.Equal(35.08701094086165, u[n + 1], 1e-4);
        Assert.Throws<ArgumentException>(() => CrfUnary.FromSaliency([1.2f]));
    }

    /// <summary>The saliency preset on a bright square: refined saliency (channel 1) is high inside
    /// and low outside, and the CRF sharpens a soft saliency map towards the square.</summary>
    [Fact]
    public void SaliencyCrfSharpensASoftMap()
    {
        const int h = 24, w = 24, n = h * w;
        var rgb = new byte[n * 3];
        var sal = new float[n];
        var rng = new Random(8);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int i = y * w + x;
                bool inside = x is >= 6 and < 18 && y is >= 6 and < 18;
                for (int c = 0; c < 3; c++) rgb[3 * i + c] = (byte)((inside ? 220 : 30) + rng.Next(-10, 11));
                sal[i] = Math.Clamp((inside ? 0.6f : 0.4f) + (float)(rng.NextDouble() - 0.5) * 0.3f, 0f, 1f);
            }
        var q = DenseCrf.InferUnary(rgb, h, w, CrfUnary.FromSaliency(sal), 2, CrfParams.AuxSegNetPlusSaliency);
        double inMean = 0, outMean = 0, inRaw = 0, outRaw = 0;
        int inCount = 0;
        for (int i = 0; i < n; i++)
        {
            bool inside = i % w is >= 6 and < 18 && i / w is >= 6 and < 18;
            if (inside) { inMean += q[n + i]; inRaw += sal[i]; inCount++; }
            else { outMean += q[n + i]; outRaw += sal[i]; }
        }
        inMean /= inCount; inRaw /= inCount;
        outMean /= n - inCount; outRaw /= n - inCount;
        Assert.True(inMean - outMean > inRaw - outRaw, $"contrast {inRaw - outRaw:F3} -> {inMean - outMean:F3}");
        Assert.True(inMean > 0.5 && outMean < 0.5);
    }
}

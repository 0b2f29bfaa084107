namespace Hybrid.Vision.Tests.Refinement;

/// <summary>Tiny synthetic images and class maps for the CRF tests.</summary>
internal static class CrfScenes
{
    /// <summary>Three regions (left half red, top-right green, bottom-right blue) with uniform RGB
    /// noise of +-25, and class probabilities (C, H, W) that favour the region's class by a
    /// margin of 0.8 over uniform noise. Returns the image (H, W, 3) and the probabilities.</summary>
    public static (byte[] Rgb, float[] Probs) ThreeRegions(int h, int w, int classes, int seed)
    {
        var rng = new Random(seed);
        int n = h * w;
        var rgb = new byte[n * 3];
        var probs = new float[classes * n];
        int[][] colours = [[200, 40, 40], [40, 180, 60], [50, 60, 190]];
        var p = new double[classes];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int i = y * w + x;
                int region = x < w / 2 ? 0 : y < h / 2 ? 1 : 2;
                for (int c = 0; c < 3; c++)
                    rgb[3 * i + c] = (byte)Math.Clamp(colours[region][c] + rng.Next(-25, 26), 0, 255);
                double sum = 0;
                for (int c = 0; c < classes; c++)
                {
                    p[c] = rng.NextDouble() + (c == region % classes ? 0.8 : 0);
                    sum += p[c];
                }
                for (int c = 0; c < classes; c++) probs[c * n + i] = (float)(p[c] / sum);
            }
        return (rgb, probs);
    }

    /// <summary>Max |a - b| and mean |a - b|.</summary>
    public static (double Max, double Mean) AbsDiff(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        double max = 0, sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = Math.Abs(a[i] - b[i]);
            max = Math.Max(max, d);
            sum += d;
        }
        return (max, sum / a.Length);
    }

    /// <summary>||a - reference|| / ||reference||.</summary>
    public static double RelL2(float[] a, float[] reference)
    {
        Assert.Equal(a.Length, reference.Length);
        double num = 0, den = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = a[i] - reference[i];
            num += d * d;
            den += (double)reference[i] * reference[i];
        }
        return Math.Sqrt(num / den);
    }

    /// <summary>Number of 4-neighbour pixel pairs with different labels.</summary>
    public static int LabelChanges(int[] labels, int h, int w)
    {
        int changes = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int i = y * w + x;
                if (x + 1 < w && labels[i] != labels[i + 1]) changes++;
                if (y + 1 < h && labels[i] != labels[i + w]) changes++;
            }
        return changes;
    }
}

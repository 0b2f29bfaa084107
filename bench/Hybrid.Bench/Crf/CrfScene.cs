using System.Diagnostics;
using Hybrid.Vision;

namespace Hybrid.Bench.Crf;

/// <summary>
/// The dense-CRF timing shared by crf-96 and crf-321: a procedural scene (coloured discs on a
/// gradient with sensor noise) and a noisy class-probability map roughly following it, 21
/// classes, PSA's parameters (CrfPreset.Psa); one sample = building the permutohedral model
/// (DenseCrfModel) and running its mean-field inference. Pure managed code (no libtorch), so
/// there is no PyTorch twin.
/// </summary>
internal static class CrfScene
{
    public const int Classes = 21;

    public static BenchResult Run(string name, int size, BenchOptions o)
    {
        var samples = o.SamplesOr(5);
        var warmup = o.WarmupOr(1);
        var p = CrfParams.For(CrfPreset.Psa);
        var (img, probs) = Scene(size, size, Classes, seed: 7);
        var unary = CrfUnary.FromProbabilities(probs);
        IReadOnlyList<int> vertices = [];
        var build = new List<double>();
        var (wall, cpu) = Sampler.Time(warmup, samples, () =>
        {
            var sw = Stopwatch.StartNew();
            var model = new DenseCrfModel(img, size, size, p);
            build.Add(sw.Elapsed.TotalMilliseconds);
            GC.KeepAlive(model.Infer(unary, Classes));
            vertices = model.LatticeVertexCounts;
        });
        var pixels = size * size;
        var info = new Dictionary<string, string>
        {
            ["pixels"] = pixels.ToString(),
            ["classes"] = Classes.ToString(),
            ["preset"] = "Psa",
            ["lattice_vertices"] = string.Join(",", vertices),
            ["build_ms_median"] = Stats.Median(build.Skip(warmup).ToList()).ToString("F2", System.Globalization.CultureInfo.InvariantCulture),
            ["runtime"] = $".NET {Environment.Version}",
            ["threads"] = "1 (managed, single-threaded)",
        };
        return new BenchResult(name, "ms/image", wall, cpu, info);
    }

    /// <summary>A few coloured discs on a gradient with noise (RGB, H x W x 3) and a noisy,
    /// normalised probability map (C, H, W) that favours each pixel's disc class.</summary>
    public static (byte[] Rgb, float[] Probs) Scene(int h, int w, int classes, int seed)
    {
        var rng = new Random(seed);
        var n = h * w;
        var label = new int[n];
        var discs = Enumerable.Range(0, 6).Select(_ => (cx: rng.NextDouble() * w, cy: rng.NextDouble() * h,
            r: (0.1 + 0.2 * rng.NextDouble()) * Math.Min(h, w), c: 1 + rng.Next(classes - 1))).ToArray();
        var colour = Enumerable.Range(0, classes).Select(_ => new[] { rng.Next(256), rng.Next(256), rng.Next(256) }).ToArray();
        var rgb = new byte[n * 3];
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                var i = y * w + x;
                foreach (var d in discs)
                    if ((x - d.cx) * (x - d.cx) + (y - d.cy) * (y - d.cy) < d.r * d.r) label[i] = d.c;
                for (var c = 0; c < 3; c++)
                {
                    var baseV = label[i] == 0 ? 255.0 * (x + c * y) / (w + c * h + 1) : colour[label[i]][c];
                    rgb[3 * i + c] = (byte)Math.Clamp(baseV + rng.Next(-12, 13), 0, 255);
                }
            }
        var probs = new float[classes * n];                                   // (C, H, W)
        for (var i = 0; i < n; i++)
        {
            double sum = 0;
            for (var c = 0; c < classes; c++)
            {
                var v = rng.NextDouble() * 0.5 + (c == label[i] ? 1.5 : 0);
                probs[c * n + i] = (float)v;
                sum += v;
            }
            for (var c = 0; c < classes; c++) probs[c * n + i] /= (float)sum;
        }
        return (rgb, probs);
    }
}

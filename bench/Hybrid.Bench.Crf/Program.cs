// Dense-CRF timing harness (not a test): CRF time at 96x96 and 321x321 with 21 classes, to show
// that the cost grows linearly with the number of pixels. Usage:
//   dotnet run -c Release --project bench/Hybrid.Bench.Crf [-- --preset Psa --reps 5]
using System.Diagnostics;
using Hybrid.Vision;

var preset = CrfPreset.Psa;
int reps = 5;
for (int a = 0; a < args.Length; a++)
{
    if (args[a] == "--preset" && a + 1 < args.Length) preset = Enum.Parse<CrfPreset>(args[++a], ignoreCase: true);
    else if (args[a] == "--reps" && a + 1 < args.Length) reps = int.Parse(args[++a]);
    else { Console.Error.WriteLine($"unknown argument {args[a]}; use --preset NAME --reps N"); return 2; }
}
const int classes = 21;
var p = CrfParams.For(preset);
Console.WriteLine($"preset {preset}: {p}");
Console.WriteLine($"{Environment.ProcessorCount} cores, {classes} classes, median of {reps} runs");
Console.WriteLine("wall = elapsed time; cpu = this process's CPU time (less sensitive to other load on the machine)");
Console.WriteLine("size      pixels  lattice(pos,bi)  build ms (cpu)   infer ms (cpu)    total ms (cpu)  us/pixel wall (cpu)");
foreach (int size in new[] { 96, 321 })
{
    var (img, probs) = Synthetic.Scene(size, size, classes, seed: 7);
    var unary = CrfUnary.FromProbabilities(probs);
    var build = new List<double>();
    var infer = new List<double>();
    var buildCpu = new List<double>();
    var inferCpu = new List<double>();
    IReadOnlyList<int> vertices = [];
    for (int r = 0; r < reps + 1; r++) // first run warms up the JIT
    {
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        var model = new DenseCrfModel(img, size, size, p);
        double b = sw.Elapsed.TotalMilliseconds;
        var cpu1 = Process.GetCurrentProcess().TotalProcessorTime;
        sw.Restart();
        var q = model.Infer(unary, classes);
        double i = sw.Elapsed.TotalMilliseconds;
        GC.KeepAlive(q);
        var cpu2 = Process.GetCurrentProcess().TotalProcessorTime;
        vertices = model.LatticeVertexCounts;
        if (r == 0) continue;
        build.Add(b);
        buildCpu.Add((cpu1 - cpu0).TotalMilliseconds);
        inferCpu.Add((cpu2 - cpu1).TotalMilliseconds);
        infer.Add(i);
    }
    double mb = Median(build), mi = Median(infer), cb = Median(buildCpu), ci = Median(inferCpu), n = size * size;
    Console.WriteLine($"{size,3}x{size,-3} {n,7}  {string.Join(",", vertices),-15}  {mb,6:F1} ({cb,6:F1})  {mi,7:F1} ({ci,7:F1})  {mb + mi,7:F1} ({cb + ci,7:F1})  {1000 * (mb + mi) / n,6:F2} ({1000 * (cb + ci) / n,5:F2})");
}
return 0;

static double Median(List<double> xs)
{
    var s = xs.Order().ToArray();
    return s.Length % 2 == 1 ? s[s.Length / 2] : 0.5 * (s[s.Length / 2 - 1] + s[s.Length / 2]);
}

/// <summary>A procedural test scene: a few coloured discs on a gradient with sensor noise, and a
/// noisy, blurred class-probability map that roughly follows the discs.</summary>
static class Synthetic
{
    public static (byte[] Rgb, float[] Probs) Scene(int h, int w, int classes, int seed)
    {
        var rng = new Random(seed);
        int n = h * w;
        var label = new int[n];
        var discs = Enumerable.Range(0, 6).Select(_ => (cx: rng.NextDouble() * w, cy: rng.NextDouble() * h,
            r: (0.1 + 0.2 * rng.NextDouble()) * Math.Min(h, w), c: 1 + rng.Next(classes - 1))).ToArray();
        var colour = Enumerable.Range(0, classes).Select(_ => new[] { rng.Next(256), rng.Next(256), rng.Next(256) }).ToArray();
        var rgb = new byte[n * 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int i = y * w + x;
                foreach (var d in discs)
                    if ((x - d.cx) * (x - d.cx) + (y - d.cy) * (y - d.cy) < d.r * d.r) label[i] = d.c;
                for (int c = 0; c < 3; c++)
                {
                    double baseV = label[i] == 0 ? 255.0 * (x + c * y) / (w + c * h + 1) : colour[label[i]][c];
                    rgb[3 * i + c] = (byte)Math.Clamp(baseV + rng.Next(-12, 13), 0, 255);
                }
            }
        var probs = new float[classes * n]; // (C, H, W)
        for (int i = 0; i < n; i++)
        {
            double sum = 0;
            for (int c = 0; c < classes; c++)
            {
                double v = rng.NextDouble() * 0.5 + (c == label[i] ? 1.5 : 0);
                probs[c * n + i] = (float)v;
                sum += v;
            }
            for (int c = 0; c < classes; c++) probs[c * n + i] /= (float)sum;
        }
        return (rgb, probs);
    }
}

using Xunit.Abstractions;

namespace Hybrid.Vision.Tests.Refinement;

public class DenseCrfTests(ITestOutputHelper output)
{
    /// <summary>Kernel widths that fit a 12x12 image, so both kernels matter.</summary>
    static readonly CrfParams Tiny = new() { Iterations = 5, PosW = 3, PosXyStd = 2, BiW = 5, BiXyStd = 6, BiRgbStd = 20 };

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    public void ZeroPairwiseWeightReturnsTheNormalisedUnary(int iterations)
    {
        var (rgb, probs) = CrfScenes.ThreeRegions(10, 14, 4, seed: 1);
        probs[7] = 0; // clipped to 1e-5 before the log
        var p = new CrfParams { Iterations = iterations, PosW = 0, BiW = 0 };
        var q = DenseCrf.Infer(rgb, 10, 14, probs, 4, p);
        int n = 140;
        for (int i = 0; i < n; i++)
        {
            double sum = 0;
            for (int c = 0; c < 4; c++) sum += Math.Max(probs[c * n + i], 1e-5);
            for (int c = 0; c < 4; c++)
                Assert.Equal(Math.Max(probs[c * n + i], 1e-5) / sum, q[c * n + i], 1e-6);
        }
        Assert.Equal(DenseCrf.Argmax(probs, 4), DenseCrf.Argmax(q, 4));
    }

    /// <summary>
    /// The lattice CRF against the exact O(N^2) one on 12x12 images, 3 classes, seeds 1-3.
    /// One pairwise message (sum_k w_k W_k Q_0) differs from the exact one by a relative L2 error
    /// of 0.074-0.080 (measured); the tolerance is 0.11. That tolerance is tight enough to catch a
    /// 1.5x error in either weight, or a missing kernel: the exact messages of such mutants differ
    /// from the true ones by at least 0.18 (asserted below). The marginals agree to a mean
    /// absolute difference of 0.006-0.008 after one step (tolerance 0.012) and to 0.01 at most
    /// after five (tolerance 0.02).
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void LatticeAgreesWithBruteForceMeanField(int seed)
    {
        const int h = 12, w = 12, classes = 3;
        var (rgb, probs) = CrfScenes.ThreeRegions(h, w, classes, seed);
        var unary = CrfUnary.FromProbabilities(probs);
        var lattice = new DenseCrfModel(rgb, h, w, Tiny);
        var exact = new DenseCrfBruteForce(rgb, h, w, Tiny);

        var q0 = exact.Iterates(unary, classes)[0];
        var exactMsg = exact.PairwiseMessages(q0, classes);
        double msgErr = CrfScenes.RelL2(lattice.PairwiseMessages(q0, classes), exactMsg);

        var ql = lattice.Iterates(unary, classes);
        var qe = exact.Iterates(unary, classes);
        var step1 = CrfScenes.AbsDiff(ql[1], qe[1]);
        var step5 = CrfScenes.AbsDiff(ql[^1], qe[^1]);
        var agree = DenseCrf.Argmax(ql[^1], classes).Zip(DenseCrf.Argmax(qe[^1], classes)).Count(t => t.First == t.Second);
        output.WriteLine($"seed {seed}: message relL2 {msgErr:F4}; Q1 mean |d| {step1.Mean:F4}; Q5 max |d| {step5.Max:F4}; argmax agreement {agree}/{h * w}");

        const double msgTol = 0.11;
        Assert.True(msgErr < msgTol, $"message error {msgErr}");
        Assert.True(step1.Mean < 0.012, $"Q1 mean difference {step1.Mean}");
        Assert.True(step5.Max < 0.02, $"Q5 max difference {step5.Max}");

        // The tolerance would catch these bugs.
        CrfParams[] mutants =
        [
            Tiny with { PosW = Tiny.PosW * 1.5 },
            Tiny with { BiW = Tiny.BiW * 1.5 },
            Tiny with { PosW = 0 },
            Tiny with { BiW = 0 },
        ];
        foreach (var m in mutants)
        {
            double err = CrfScenes.RelL2(new DenseCrfBruteForce(rgb, h, w, m).PairwiseMessages(q0, classes), exactMsg);
            Assert.True(err > msgTol, $"mutant {m} differs by only {err}");
        }
    }

    /// <summary>
    /// The monotone quantity is the mean-field free energy with the kernel diagonal kept,
    /// F(Q) = sum Q (U + ln Q) + 1/2 sum_k w_k sum_ij W_k,ij (1 - Q_i . Q_j)
    /// (<see cref="MeanFieldCrf"/>): each parallel update is a concave-convex step on it, so
    /// F(Q_t+1) &lt;= F(Q_t) up to float rounding, for the lattice and the exact model alike.
    /// </summary>
    [Fact]
    public void FreeEnergyDoesNotRiseOverIterations()
    {
        var (rgb, probs) = CrfScenes.ThreeRegions(24, 24, 4, seed: 5);
        var unary = CrfUnary.FromProbabilities(probs);
        var models = new (string Name, MeanFieldCrf Model, int Classes, float[] Unary)[]
        {
            ("lattice, PSA preset", new DenseCrfModel(rgb, 24, 24, CrfParams.Psa with { Iterations = 12 }), 4, unary),
            ("lattice, CoSA weights, 12 its", new DenseCrfModel(rgb, 24, 24, CrfParams.Cosa with { Iterations = 12 }), 4, unary),
            ("exact, tiny kernels", new DenseCrfBruteForce(rgb, 24, 24, Tiny with { Iterations = 12 }), 4, unary),
        };
        foreach (var (name, model, classes, u) in models)
        {
            var f = model.Iterates(u, classes).Select(q => model.FreeEnergy(u, q, classes)).ToArray();
            output.WriteLine($"{name}: {string.Join(" ", f.Select(e => e.ToString("F3")))}");
            Assert.True(f[1] < f[0] - 1, $"{name}: the first step should lower F clearly ({f[0]} -> {f[1]})");
            for (int t = 1; t < f.Length; t++)
                Assert.True(f[t] <= f[t - 1] + 1e-5 * Math.Abs(f[t - 1]), $"{name}: F rose at step {t}: {f[t - 1]} -> {f[t]}");
        }
    }

    /// <summary>Mean-field stationary points minimise F: the free energy of the CRF output is lower
    /// than that of the unary's own softmax and of a perturbed output.</summary>
    [Fact]
    public void OutputHasLowerFreeEnergyThanPerturbations()
    {
        var (rgb, probs) = CrfScenes.ThreeRegions(16, 16, 3, seed: 9);
        var unary = CrfUnary.FromProbabilities(probs);
        var model = new DenseCrfModel(rgb, 16, 16, Tiny with { Iterations = 20 });
        var q = model.Infer(unary, 3);
        double fq = model.FreeEnergy(unary, q, 3);
        var rng = new Random(2);
        for (int rep = 0; rep < 5; rep++)
        {
            var r = (float[])q.Clone();
            int n = 256;
            for (int i = 0; i < n; i++)
            {
                double s = 0;
                for (int c = 0; c < 3; c++) s += r[c * n + i] += (float)(0.05 * rng.NextDouble());
                for (int c = 0; c < 3; c++) r[c * n + i] /= (float)s;
            }
            Assert.True(model.FreeEnergy(unary, r, 3) > fq);
        }
    }

    /// <summary>Two flat regions with colour noise and a unary that is wrong on 30% of the pixels:
    /// the CRF must repair most of them and leave far fewer label changes between neighbours.</summary>
    [Theory]
    [InlineData(CrfPreset.Psa)]
    [InlineData(CrfPreset.DeepLabLargeFov)]
    [InlineData(CrfPreset.CsdSegmentation)]
    public void NoisyTwoRegionImageIsCleaned(CrfPreset preset)
    {
        const int h = 32, w = 32, n = h * w;
        var rng = new Random(3);
        var rgb = new byte[n * 3];
        var truth = new int[n];
        var probs = new float[2 * n];
        for (int i = 0; i < n; i++)
        {
            truth[i] = i % w < w / 2 ? 0 : 1;
            int[] colour = truth[i] == 0 ? [150, 40, 30] : [60, 120, 200];
            for (int c = 0; c < 3; c++) rgb[3 * i + c] = (byte)Math.Clamp(colour[c] + rng.Next(-20, 21), 0, 255);
            int believed = rng.NextDouble() < 0.3 ? 1 - truth[i] : truth[i];
            float conf = 0.55f + 0.15f * (float)rng.NextDouble();
            probs[believed * n + i] = conf;
            probs[(1 - believed) * n + i] = 1 - conf;
        }
        var before = DenseCrf.Argmax(probs, 2);
        var after = DenseCrf.Argmax(DenseCrf.Infer(rgb, h, w, probs, 2, preset), 2);
        int errBefore = before.Zip(truth).Count(t => t.First != t.Second);
        int errAfter = after.Zip(truth).Count(t => t.First != t.Second);
        int flipsBefore = CrfScenes.LabelChanges(before, h, w), flipsAfter = CrfScenes.LabelChanges(after, h, w);
        output.WriteLine($"{preset}: wrong pixels {errBefore} -> {errAfter}, neighbour label changes {flipsBefore} -> {flipsAfter}");
        Assert.True(errAfter * 10 < errBefore, $"wrong pixels {errBefore} -> {errAfter}");
        Assert.True(flipsAfter * 5 < flipsBefore, $"label changes {flipsBefore} -> {flipsAfter}");
    }

    public static TheoryData<CrfPreset> Presets()
    {
        var data = new TheoryData<CrfPreset>();
        foreach (var p in Enum.GetValues<CrfPreset>()) data.Add(p);
        return data;
    }

    [Theory]
    [MemberData(nameof(Presets))]
    public void OutputColumnsAreDistributions(CrfPreset preset)
    {
        const int h = 20, w = 28, classes = 5, n = h * w;
        var (rgb, probs) = CrfScenes.ThreeRegions(h, w, classes, seed: 2);
        var q = DenseCrf.Infer(rgb, h, w, probs, classes, preset);
        Assert.Equal(classes * n, q.Length);
        for (int i = 0; i < n; i++)
        {
            double sum = 0;
            for (int c = 0; c < classes; c++)
            {
                float v = q[c * n + i];
                Assert.True(v >= 0 && v <= 1, $"Q[{c}, {i}] = {v}");
                sum += v;
            }
            Assert.Equal(1.0, sum, 1e-5);
        }
    }

    /// <summary>Parallel chunks write disjoint rows in a fixed order: two runs on an image big
    /// enough to be split across threads give identical bits.</summary>
    [Fact]
    public void ResultIsDeterministic()
    {
        var (rgb, probs) = CrfScenes.ThreeRegions(160, 150, 21, seed: 4);
        var a = DenseCrf.Infer(rgb, 160, 150, probs, 21, CrfParams.Psa with { Iterations = 3 });
        var b = DenseCrf.Infer(rgb, 160, 150, probs, 21, CrfParams.Psa with { Iterations = 3 });
        Assert.Equal(a, b);
    }

    [Fact]
    public void ForbiddenLabelsStayAtZero()
    {
        var (rgb, probs) = CrfScenes.ThreeRegions(12, 12, 3, seed: 6);
        var unary = CrfUnary.FromProbabilities(probs);
        for (int i = 0; i < 144; i++) unary[2 * 144 + i] = float.PositiveInfinity; // class 2 absent
        var q = DenseCrf.InferUnary(rgb, 12, 12, unary, 3, Tiny);
        for (int i = 0; i < 144; i++) Assert.Equal(0f, q[2 * 144 + i]);
    }

    [Fact]
    public void BadInputsAreReportedWithWhatToFix()
    {
        var (rgb, probs) = CrfScenes.ThreeRegions(8, 8, 3, seed: 1);
        Assert.Contains("H*W*3", Assert.Throws<ArgumentException>(() => DenseCrf.Infer(rgb.AsSpan(0, 10), 8, 8, probs, 3, CrfParams.Psa)).Message);
        Assert.Contains("C*H*W", Assert.Throws<ArgumentException>(() => DenseCrf.Infer(rgb, 8, 8, probs, 4, CrfParams.Psa)).Message);
        var negative = (float[])probs.Clone();
        negative[3] = -0.1f;
        Assert.Contains(">= 0", Assert.Throws<ArgumentException>(() => DenseCrf.Infer(rgb, 8, 8, negative, 3, CrfParams.Psa)).Message);
        var nan = (float[])probs.Clone();
        nan[5] = float.NaN;
        Assert.Throws<ArgumentException>(() => DenseCrf.Infer(rgb, 8, 8, nan, 3, CrfParams.Psa));
        Assert.Contains("BiW", Assert.Throws<ArgumentException>(() => DenseCrf.Infer(rgb, 8, 8, probs, 3, CrfParams.Psa with { BiW = -1 })).Message);
        Assert.Contains("PosXyStd", Assert.Throws<ArgumentException>(() => DenseCrf.Infer(rgb, 8, 8, probs, 3, CrfParams.Psa with { PosXyStd = 0 })).Message);
        Assert.Contains("Iterations", Assert.Throws<ArgumentException>(() => DenseCrf.Infer(rgb, 8, 8, probs, 3, CrfParams.Psa with { Iterations = -1 })).Message);
        var allForbidden = new float[3 * 64];
        for (int c = 0; c < 3; c++) allForbidden[c * 64 + 9] = float.PositiveInfinity;
        Assert.Contains("row 1, column 1", Assert.Throws<ArgumentException>(() => DenseCrf.InferUnary(rgb, 8, 8, allForbidden, 3, CrfParams.Psa)).Message);
        Assert.Contains("DenseCrfModel", Assert.Throws<ArgumentException>(() => new DenseCrfBruteForce(new byte[49 * 49 * 3], 49, 49, CrfParams.Psa)).Message);
    }
}

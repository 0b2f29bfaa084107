using Xunit.Abstractions;

namespace Hybrid.Vision.Tests.Refinement;

public class PermutohedralLatticeTests(ITestOutputHelper output)
{
    /// <summary>Radical-inverse (Halton) coordinate of index i in base b: low-discrepancy points
    /// make the moment integrals below accurate without many samples.</summary>
    static double Halton(int i, int b)
    {
        double f = 1, r = 0;
        for (; i > 0; i /= b)
        {
            f /= b;
            r += f * (i % b);
        }
        return r;
    }

    /// <summary>
    /// The lattice's impulse response, integrated over a dense quasi-uniform cloud, must have the
    /// mass of GaussianScale * (2 pi)^(d/2) and unit variance along every feature axis, i.e. it
    /// must act as GaussianScale * exp(-|x|^2 / 2). Measured (64 impulse positions for d = 2, 6
    /// for d = 5): mass ratio 1.000 and 1.003, per-axis variances 0.993-1.005 and 0.984-1.004.
    /// A wrong feature scale (e.g. (d+1) instead of (d+1) sqrt(2/3)) moves the variance by 50%, a
    /// wrong elevation makes it anisotropic, a bad barycentric or blur step breaks the mass.
    /// </summary>
    [Theory]
    [InlineData(2, 20000, 5.0, 64)]
    [InlineData(5, 50000, 4.0, 6)]
    public void ImpulseResponseHasUnitGaussianMoments(int d, int n, double half, int trials)
    {
        var primes = new[] { 2, 3, 5, 7, 11 };
        var rng = new Random(11);
        double vol = Math.Pow(2 * half, d) / (n - 1);
        double mass = 0;
        var second = new double[d];
        double gaussianScale = 0;
        for (int t = 0; t < trials; t++)
        {
            var f = new float[n * d];
            for (int k = 0; k < d; k++) f[k] = (float)(2 * rng.NextDouble() - 1); // impulse near the centre, anywhere in its simplex
            for (int i = 1; i < n; i++)
                for (int k = 0; k < d; k++)
                    f[i * d + k] = (float)((2 * Halton(i + 1000 * t, primes[k]) - 1) * half);
            var lattice = PermutohedralLattice.Build(f, n, d);
            gaussianScale = lattice.GaussianScale;
            var (a, b) = lattice.CreateBuffers(1);
            var impulse = new float[n];
            impulse[0] = 1;
            var response = new float[n];
            lattice.Filter(impulse, response, 1, a, b);
            for (int i = 1; i < n; i++)
            {
                mass += response[i] * vol / trials;
                for (int k = 0; k < d; k++)
                {
                    double dx = f[i * d + k] - f[k];
                    second[k] += response[i] * dx * dx * vol / trials;
                }
            }
        }
        double massRatio = mass / (gaussianScale * Math.Pow(2 * Math.PI, d / 2.0));
        var variances = second.Select(s => s / mass).ToArray();
        output.WriteLine($"d={d}: mass ratio {massRatio:F4}, per-axis variance {string.Join(" ", variances.Select(v => v.ToString("F4")))}");
        Assert.InRange(massRatio, 0.97, 1.03);
        foreach (double v in variances) Assert.InRange(v, 0.94, 1.06);
    }

    /// <summary>Filter = S^T G^T G S is symmetric (u.Kv = v.Ku) and positive semidefinite by
    /// construction; the monotone mean-field energy relies on both.</summary>
    [Theory]
    [InlineData(2, 1)]
    [InlineData(5, 2)]
    [InlineData(3, 3)]
    public void FilterIsSymmetricAndPositiveSemidefinite(int d, int seed)
    {
        var rng = new Random(seed);
        int n = 600;
        var f = new float[n * d];
        for (int i = 0; i < f.Length; i++) f[i] = (float)(rng.NextDouble() * 6);
        var lattice = PermutohedralLattice.Build(f, n, d);
        var (a, b) = lattice.CreateBuffers(1);
        for (int rep = 0; rep < 5; rep++)
        {
            var u = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
            var v = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
            var ku = new float[n];
            var kv = new float[n];
            lattice.Filter(u, ku, 1, a, b);
            lattice.Filter(v, kv, 1, a, b);
            double uKv = Dot(u, kv), vKu = Dot(v, ku), uKu = Dot(u, ku);
            double scale = Math.Sqrt(Dot(u, u) * Dot(v, v)) * lattice.GaussianScale;
            Assert.True(Math.Abs(uKv - vKu) <= 1e-5 * scale, $"u.Kv = {uKv}, v.Ku = {vKu}");
            Assert.True(uKu >= -1e-6 * Dot(u, u) * lattice.GaussianScale, $"u.Ku = {uKu} < 0");
        }
    }

    [Fact]
    public void ScalePointsGivesDiagonalCongruence()
    {
        var rng = new Random(4);
        int n = 300, d = 3;
        var f = Enumerable.Range(0, n * d).Select(_ => (float)(rng.NextDouble() * 4)).ToArray();
        var s = Enumerable.Range(0, n).Select(_ => (float)(0.5 + rng.NextDouble())).ToArray();
        var v = Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble()).ToArray();
        var plain = PermutohedralLattice.Build(f, n, d);
        var scaled = PermutohedralLattice.Build(f, n, d);
        scaled.ScalePoints(s);
        var (a, b) = plain.CreateBuffers(1);
        var sv = v.Select((x, i) => x * s[i]).ToArray();
        var k = new float[n];
        plain.Filter(sv, k, 1, a, b);
        var expected = k.Select((x, i) => x * s[i]).ToArray(); // diag(s) K diag(s) v
        var got = new float[n];
        scaled.Filter(v, got, 1, a, b);
        Assert.True(CrfScenes.RelL2(got, expected) < 1e-6);
    }

    [Fact]
    public void FeatureCountMismatchIsReported()
    {
        var ex = Assert.Throws<ArgumentException>(() => PermutohedralLattice.Build(new float[10], 4, 3));
        Assert.Contains("N*d", ex.Message);
    }

    static double Dot(float[] a, float[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += (double)a[i] * b[i];
        return s;
    }
}

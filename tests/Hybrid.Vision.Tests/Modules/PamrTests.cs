using Hybrid.Torch;
using static Hybrid.Vision.Tests.Modules.ModulesTestKit;

namespace Hybrid.Vision.Tests.Modules;

public class PamrTests
{
    [Fact]
    public void Constant_mask_stays_constant()
    {
        using var scope = torch.NewDisposeScope();
        var image = Rand(1, 1, 3, 9, 11);                                 // (1, 3, 9, 11)
        var mask = torch.cat(new[] { torch.full(new long[] { 1, 1, 9, 11 }, 0.3), torch.full(new long[] { 1, 1, 9, 11 }, 0.7) }, 1); // (1, 2, 9, 11)
        var refined = new Pamr().Refine(image, mask);
        Close(mask, refined, 1e-5, "constant mask");                      // float32 rounding of 10 weighted sums
    }

    [Fact]
    public void Affinities_are_convex_weights_and_outputs_convex_combinations()
    {
        using var scope = torch.NewDisposeScope();
        var pamr = new Pamr(iterations: 3, dilations: new[] { 1, 2, 4 });
        var image = Rand(2, 2, 3, 10, 8);                                 // (2, 3, 10, 8)
        var alpha = pamr.Affinity(image);                                 // (2, 1, 24, 10, 8)
        Assert.Equal(new long[] { 2, 1, 24, 10, 8 }, alpha.shape);
        Assert.True(alpha.ge(0).all().item<bool>());
        Close(torch.ones(new long[] { 2, 1, 10, 8 }), alpha.sum(2), 1e-5, "affinity rows");

        // A probability map stays one: non-negative and summing to 1 over classes.
        var logits = Randn(3, 2, 4, 10, 8);
        var probs = logits.softmax(1);                                    // (2, 4, 10, 8)
        var refined = pamr.Refine(image, probs);
        Assert.True(refined.ge(0).all().item<bool>());
        Close(torch.ones(new long[] { 2, 10, 8 }), refined.sum(1), 1e-5, "class sums");

        // Every output lies within the range of the input values (of its own image and channel).
        var m = Randn(4, 2, 1, 10, 8);
        var r = pamr.Refine(image, m);
        for (var b = 0; b < 2; b++)
        {
            var (lo, hi) = (m[b].min().ToDouble(), m[b].max().ToDouble());
            Assert.True(r[b].min().ToDouble() >= lo - 1e-6 && r[b].max().ToDouble() <= hi + 1e-6);
        }
    }

    [Fact]
    public void Matches_a_brute_force_per_pixel_reference()
    {
        using var scope = torch.NewDisposeScope();
        var dil = new[] { 1, 2 };
        const int iters = 2, K = 3, C = 2, H = 5, W = 6;
        var image = Rand(5, 1, K, H, W);
        var mask = Rand(6, 1, C, H, W);
        var got = new Pamr(iters, dil).Refine(image, mask).data<float>();

        var I = image.data<float>().Select(v => (double)v).ToArray();
        var M = mask.data<float>().Select(v => (double)v).ToArray();
        double Img(int k, int y, int x) => I[(k * H + Math.Clamp(y, 0, H - 1)) * W + Math.Clamp(x, 0, W - 1)];
        var offsets = dil.SelectMany(d => from dy in new[] { -1, 0, 1 } from dx in new[] { -1, 0, 1 } select (dy * d, dx * d)).ToArray(); // 9|D| window samples
        var neighbours = offsets.Where(o => o != (0, 0)).ToArray();       // 8|D|
        var alpha = new double[H, W][];
        for (var y = 0; y < H; y++)
        for (var x = 0; x < W; x++)
        {
            var kappa = new double[neighbours.Length];
            for (var k = 0; k < K; k++)
            {
                var samples = offsets.Select(o => Img(k, y + o.Item1, x + o.Item2)).ToArray();
                var mean = samples.Average();
                var std = Math.Sqrt(samples.Sum(v => (v - mean) * (v - mean)) / (samples.Length - 1)); // unbiased
                for (var j = 0; j < neighbours.Length; j++)
                    kappa[j] += -Math.Abs(Img(k, y, x) - Img(k, y + neighbours[j].Item1, x + neighbours[j].Item2)) / (0.1 * std + 1e-8) / K;
            }
            var mx = kappa.Max();
            var e = kappa.Select(v => Math.Exp(v - mx)).ToArray();
            alpha[y, x] = e.Select(v => v / e.Sum()).ToArray();
        }
        for (var it = 0; it < iters; it++)
        {
            var next = new double[M.Length];
            for (var c = 0; c < C; c++)
            for (var y = 0; y < H; y++)
            for (var x = 0; x < W; x++)
            {
                double s = 0;
                for (var j = 0; j < neighbours.Length; j++)
                {
                    var (yy, xx) = (Math.Clamp(y + neighbours[j].Item1, 0, H - 1), Math.Clamp(x + neighbours[j].Item2, 0, W - 1));
                    s += alpha[y, x][j] * M[(c * H + yy) * W + xx];
                }
                next[(c * H + y) * W + x] = s;
            }
            M = next;
        }
        for (var i = 0; i < M.Length; i++) Assert.True(Math.Abs(M[i] - got[i]) < 1e-5, $"element {i}: reference {M[i]} vs PAMR {got[i]}");
    }

    [Fact]
    public void Gradients_reach_the_mask_but_not_the_image()
    {
        using var scope = torch.NewDisposeScope();
        var image = Rand(7, 1, 3, 8, 8).requires_grad_();
        var mask = Rand(8, 1, 2, 8, 8).requires_grad_();
        var refined = new Pamr(iterations: 2, dilations: new[] { 1, 2 }).Refine(image, mask);
        refined.square().sum().backward();
        Assert.Null(image.grad);
        using var g = mask.grad;
        Assert.NotNull(g);
        Assert.True(g!.abs().sum().ToDouble() > 0);
    }

    [Fact]
    public void Rejects_mismatched_sizes_and_bad_options_clearly()
    {
        using var scope = torch.NewDisposeScope();
        var ex = Assert.Throws<ArgumentException>(() => new Pamr().Refine(torch.zeros(new long[] { 1, 3, 8, 8 }), torch.zeros(new long[] { 1, 2, 4, 4 })));
        Assert.Contains("spatial size", ex.Message);
        Assert.Throws<ArgumentException>(() => new Pamr(dilations: new[] { 0 }));
        // RefineAtMaskSize resizes the image instead.
        var r = new Pamr(iterations: 1).RefineAtMaskSize(Rand(9, 1, 3, 16, 16), Rand(10, 1, 2, 4, 4));
        Assert.Equal(new long[] { 1, 2, 4, 4 }, r.shape);
    }
}

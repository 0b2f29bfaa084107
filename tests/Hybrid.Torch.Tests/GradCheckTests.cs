using static Hybrid.Torch.Tests.Data;
using F = Hybrid.Torch.torch.nn.functional;

namespace Hybrid.Torch.Tests;

/// <summary>Autograd of the ops the WSSS methods differentiate through, against float64
/// central differences (see <see cref="GradCheck"/>).</summary>
public class GradCheckTests
{
    [Fact]
    public void Checker_accepts_a_true_gradient_and_catches_a_wrong_one()
    {
        using var x = Normal(S(3, 4), 1);
        var good = GradCheck.Run(t => t[0] * t[0], new[] { x });
        Assert.True(good.Passed, good.ToString());
        Assert.Equal(12, good.Checked);
        // x * x.detach() has autograd gradient x but true derivative 2x: the checker must object.
        var bad = GradCheck.Run(t => { using var d = t[0].detach(); return t[0] * d; }, new[] { x });
        Assert.False(bad.Passed);
        Assert.Equal(2.0, bad.Numeric / bad.Analytic, 5);                          // the factor autograd missed
        Assert.Contains("finite differences", bad.ToString());
    }

    [Fact]
    public void Checker_rejects_float32_inputs()
    {
        using var x = torch.ones(S(2), ScalarType.Float32);
        Assert.Throws<ArgumentException>(() => GradCheck.Run(t => t[0] * 2, new[] { x }));
    }

    [Fact]
    public void Conv2d_with_stride_dilation_and_groups()
    {
        using var x = Normal(S(1, 4, 7, 6), 2);                                     // (B, Cin, H, W)
        using var w = Normal(S(4, 2, 3, 3), 3, 0.5);                               // (Cout, Cin/groups, k, k)
        using var b = Normal(S(4), 4);
        GradCheck.Check("conv2d s2 d2 g2", t => F.conv2d(t[0], t[1], t[2], stride: 2, padding: 1, dilation: 2, groups: 2), x, w, b);
        GradCheck.Check("conv2d s(1,2) p(1,0) d(2,1)",
            t => F.conv2d(t[0], t[1], null, new long[] { 1, 2 }, new long[] { 1, 0 }, new long[] { 2, 1 }, groups: 2), x, w);
    }

    [Fact]
    public void Conv_transpose2d()
    {
        using var x = Normal(S(1, 2, 3, 3), 5);
        using var w = Normal(S(2, 3, 3, 3), 6, 0.5);                               // (Cin, Cout, k, k)
        using var b = Normal(S(3), 7);
        GradCheck.Check("conv_transpose2d", t => F.conv_transpose2d(t[0], t[1], t[2], stride: 2, padding: 1, output_padding: 1), x, w, b);
    }

    [Fact]
    public void Batch_norm_in_training_mode()
    {
        using var x = Normal(S(4, 3, 2, 3), 8, 2, 1);                               // (B, C, H, W)
        using var w = Normal(S(3), 9);
        using var b = Normal(S(3), 10);
        GradCheck.Check("batch_norm train", t =>
        {
            using var rm = torch.zeros(S(3), ScalarType.Float64);
            using var rv = torch.ones(S(3), ScalarType.Float64);
            return F.batch_norm(t[0], rm, rv, t[1], t[2], training: true);
        }, x, w, b);
    }

    [Fact]
    public void Layer_norm_and_group_norm()
    {
        using var x = Normal(S(2, 4, 3), 11);
        using var w = Normal(S(3), 12);
        using var b = Normal(S(3), 13);
        GradCheck.Check("layer_norm", t => F.layer_norm(t[0], S(3), t[1], t[2]), x, w, b);
        using var y = Normal(S(2, 4, 2, 2), 14);
        using var gw = Normal(S(4), 15);
        using var gb = Normal(S(4), 16);
        GradCheck.Check("group_norm", t => F.group_norm(t[0], 2, t[1], t[2]), y, gw, gb);
    }

    [Fact]
    public void Interpolate_bilinear_with_and_without_align_corners()
    {
        using var x = Normal(S(1, 2, 3, 4), 17);
        GradCheck.Check("interpolate bilinear", t => F.interpolate(t[0], size: S(5, 7), mode: InterpolationMode.Bilinear), x);
        GradCheck.Check("interpolate bilinear align_corners", t => F.interpolate(t[0], size: S(5, 7), mode: InterpolationMode.Bilinear, align_corners: true), x);
        GradCheck.Check("interpolate bilinear downsample", t => F.interpolate(t[0], size: S(2, 3), mode: InterpolationMode.Bilinear), x);
    }

    [Fact]
    public void Grid_sample_with_respect_to_input_and_grid()
    {
        using var x = Normal(S(1, 2, 4, 5), 18);                                    // (B, C, H, W)
        using var grid = Uniform(S(1, 3, 3, 2), 19, -1.1, 1.1);                     // (B, Ho, Wo, 2)
        GradCheck.Check("grid_sample bilinear zeros", t => F.grid_sample(t[0], t[1]), x, grid);
        GradCheck.Check("grid_sample bilinear border align_corners",
            t => F.grid_sample(t[0], t[1], GridSampleMode.Bilinear, GridPaddingMode.Border, align_corners: true), x, grid);
    }

    [Fact]
    public void Softmax_and_log_softmax()
    {
        using var x = Normal(S(2, 4, 3), 20, 2);
        GradCheck.Check("softmax dim 1", t => F.softmax(t[0], 1), x);
        GradCheck.Check("log_softmax dim 1", t => F.log_softmax(t[0], 1), x);
        GradCheck.Check("log_softmax dim -1", t => F.log_softmax(t[0], -1), x);
    }

    [Fact]
    public void Cross_entropy_with_ignore_index_and_class_weights()
    {
        using var x = Normal(S(3, 4, 2, 2), 21);                                    // (N, C, H, W) logits
        using var target = Longs(new long[] { 0, 3, 255, 1, 2, 255, 2, 0, 1, 1, 3, 255 }, 3, 2, 2);
        using var weight = torch.tensor(new double[] { 0.5, 2.0, 1.0, 1.5 });
        var check = new[] { true, false, false };
        foreach (var red in new[] { Reduction.Mean, Reduction.Sum, Reduction.None })
        {
            var w = GradCheck.Run(t => F.cross_entropy(t[0], t[1], t[2], ignore_index: 255, reduction: red), new[] { x, target, weight }, check);
            Assert.True(w.Passed, $"cross_entropy {red}: {w}");
        }
        // Ignored pixels receive no gradient at all.
        using var leaf = x.detach().requires_grad_();
        using var loss = F.cross_entropy(leaf, target, weight, ignore_index: 255);
        loss.backward();
        using var g = leaf.grad!;
        using var gIgnored = g[0, TensorIndex.Colon, 1, 0];                        // target[0, 1, 0] == 255
        Assert.All(gIgnored.data<double>(), v => Assert.Equal(0.0, v));
    }

    [Fact]
    public void Multilabel_soft_margin_loss()
    {
        using var x = Normal(S(3, 5), 22, 2);
        using var y = torch.tensor(new double[] { 1, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0 }, S(3, 5));
        using var wt = Uniform(S(5), 23, 0.5, 1.5);
        var w1 = GradCheck.Run(t => F.multilabel_soft_margin_loss(t[0], t[1]), new[] { x, y }, new[] { true, false });
        Assert.True(w1.Passed, w1.ToString());
        var w2 = GradCheck.Run(t => F.multilabel_soft_margin_loss(t[0], t[1], t[2], Reduction.None), new[] { x, y, wt }, new[] { true, false, false });
        Assert.True(w2.Passed, w2.ToString());
    }

    [Fact]
    public void Kl_div_with_respect_to_input_and_target()
    {
        using var logits = Normal(S(3, 4), 24);
        using var logp = F.log_softmax(logits, 1);
        using var q = Uniform(S(3, 4), 25, 0.1, 1.0);
        GradCheck.Check("kl_div mean", t => F.kl_div(t[0], t[1]), logp, q);
        GradCheck.Check("kl_div sum", t => F.kl_div(t[0], t[1], Reduction.Sum), logp, q);
        using var logq = q.log();
        GradCheck.Check("kl_div log_target", t => F.kl_div(t[0], t[1], Reduction.Sum, log_target: true), logp, logq);
    }

    [Fact]
    public void Unfold()
    {
        using var x = Normal(S(1, 2, 4, 5), 26);
        GradCheck.Check("unfold k3 p1 s2", t => F.unfold(t[0], 3, padding: 1, stride: 2), x);
        GradCheck.Check("unfold k2 d2", t => F.unfold(t[0], 2, dilation: 2), x);
    }

    [Fact]
    public void Einsum()
    {
        using var a = Normal(S(2, 3, 4), 27);
        using var b = Normal(S(2, 4, 2), 28);
        GradCheck.Check("einsum bij,bjk->bik", t => torch.einsum("bij,bjk->bik", t[0], t[1]), a, b);
        using var f = Normal(S(2, 3, 2, 2), 29);                                    // (B, C, H, W)
        using var w = Normal(S(2, 4, 3), 30);                                       // (B, K, C)
        GradCheck.Check("einsum bchw,bkc->bkhw", t => torch.einsum("bchw,bkc->bkhw", t[0], t[1]), f, w);
        using var sq = Normal(S(2, 3, 3), 31);
        GradCheck.Check("einsum diagonal bii->bi", t => torch.einsum("bii->bi", t[0]), sq);
    }

    [Fact]
    public void Gather_scatter_and_scatter_add()
    {
        using var x = Normal(S(3, 4), 32);
        using var idx = Longs(new long[] { 0, 3, 1, 1, 2, 0 }, 3, 2);             // repeats allowed in gather
        var g = GradCheck.Run(t => t[0].gather(1, t[1]), new[] { x, idx });
        Assert.True(g.Passed, $"gather: {g}");

        using var self = Normal(S(3, 5), 33);
        using var uidx = Longs(new long[] { 4, 0, 1, 3, 2, 1 }, 3, 2);             // distinct per row: scatter is well defined
        using var src = Normal(S(3, 2), 34);
        var s = GradCheck.Run(t => t[0].scatter(1, t[1], t[2]), new[] { self, uidx, src });
        Assert.True(s.Passed, $"scatter: {s}");

        using var didx = Longs(new long[] { 1, 1, 0, 2, 2, 2 }, 3, 2);             // duplicates accumulate
        var sa = GradCheck.Run(t => t[0].scatter_add(1, t[1], t[2]), new[] { self, didx, src });
        Assert.True(sa.Passed, $"scatter_add: {sa}");
    }

    [Fact]
    public void Pooling()
    {
        using var x = Normal(S(1, 2, 5, 6), 35);                                    // distinct values: no ties at the max
        GradCheck.Check("max_pool2d k3 s2 p1", t => F.max_pool2d(t[0], 3, 2, 1), x);
        GradCheck.Check("adaptive_avg_pool2d (2, 4)", t => F.adaptive_avg_pool2d(t[0], 2, 4), x);
        GradCheck.Check("avg_pool2d k2", t => F.avg_pool2d(t[0], 2), x);
    }
}

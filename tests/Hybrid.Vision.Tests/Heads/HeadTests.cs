using Hybrid.Torch;
using Hybrid.Vision.Heads;
using F = Hybrid.Torch.torch.nn.functional;

namespace Hybrid.Vision.Tests.Heads;

public class HeadTests
{
    [Fact]
    public void Gap_scores_are_the_spatial_mean_of_the_raw_cam_plus_bias()
    {
        torch.manual_seed(11);
        using var head = new CamClassifier(8, 5, CamPooling.Gap, bias: true);
        using var scope = torch.NewDisposeScope();
        var f = torch.randn(new[] { 2L, 8, 4, 6 });
        var scores = head.forward(f);                                         // (2, 5)
        Assert.Equal(new[] { 2L, 5 }, scores.shape);
        var viaCam = head.RawCam(f).mean(new long[] { 2, 3 }) + head.Bias!; // (2, 5)
        Assert.True(scores.allclose(viaCam, 1e-5, 1e-6));
    }

    [Fact]
    public void Gmp_scores_apply_the_weights_to_max_pooled_features()
    {
        torch.manual_seed(12);
        using var head = new CamClassifier(8, 5, CamPooling.Gmp);
        using var scope = torch.NewDisposeScope();
        var f = torch.randn(new[] { 2L, 8, 4, 6 });
        var pooled = f.amax(new long[] { 2, 3 });                             // (2, 8)
        var expected = pooled.matmul(head.Weight.t());                        // (2, 5)
        Assert.True(head.forward(f).allclose(expected, 1e-5, 1e-6));
        Assert.Null(head.Bias);
    }

    [Fact]
    public void Cam_is_relu_of_W_dot_F_and_Weight_is_a_live_C_by_D_view()
    {
        torch.manual_seed(13);
        using var head = new CamClassifier(8, 5);
        using var scope = torch.NewDisposeScope();
        var f = torch.randn(new[] { 2L, 8, 3, 3 });
        var w = head.Weight;                                                  // (5, 8)
        Assert.Equal(new[] { 5L, 8 }, w.shape);
        var expected = torch.einsum("cd,bdhw->bchw", w, f).relu();
        var cam = head.Cam(f);
        Assert.True(cam.allclose(expected, 1e-5, 1e-6));
        Assert.True(cam.ge(0).all().item<bool>());
        using (torch.no_grad()) head.named_parameters().Single().parameter.mul_(2);
        Assert.True(head.Weight.allclose(w, 1e-6, 0), "Weight shares the parameter's storage");
    }

    [Fact]
    public void Detach_modes_cut_the_gradient_where_they_say()
    {
        torch.manual_seed(14);
        using var head = new CamClassifier(4, 3);
        var weight = head.named_parameters().Single().parameter;
        foreach (var (mode, toFeatures, toWeights) in new[] { (CamDetach.None, true, true), (CamDetach.Features, false, true), (CamDetach.Weights, true, false), (CamDetach.All, false, false) })
        {
            using var scope = torch.NewDisposeScope();
            head.zero_grad();
            var f = torch.randn(new[] { 1L, 4, 2, 2 }, requires_grad: true);
            var cam = head.RawCam(f, mode);
            if (!toFeatures && !toWeights) { Assert.False(cam.requires_grad); continue; }
            cam.square().sum().backward();
            Assert.Equal(toFeatures, f.grad is not null);
            Assert.Equal(toWeights, weight.grad is not null);
        }
    }

    [Fact]
    public void LargeFov_v1_has_the_papers_widths_and_keeps_the_resolution()
    {
        // DeepLab-LargeFOV on VGG-16's 512-channel conv5 for 21 VOC classes: fc6 3x3 rate 12 (1024),
        // fc7 1x1 (1024), fc8 1x1 (21). With VGG-16's 14,714,688 convolutional parameters this makes
        // the 20.5M of Chen et al. 2015, Table 2.
        using var head = new DeepLabLargeFov(512, 21, LargeFovConfig.DeepLabV1);
        Assert.Equal(9L * 512 * 1024 + 1024 + 1024L * 1024 + 1024 + 1024L * 21 + 21, head.parameter_count());
        Assert.InRange(head.parameter_count() + 14_714_688, 20_450_000, 20_550_000);

        torch.manual_seed(15);
        using var small = new DeepLabLargeFov(16, 3, LargeFovConfig.DeepLabV1 with { Hidden = 32 });
        using var scope = torch.NewDisposeScope();
        var f = torch.randn(new[] { 2L, 16, 7, 9 });
        small.eval();
        var a = small.forward(f);
        Assert.Equal(new[] { 2L, 3, 7, 9 }, a.shape);
        Assert.True(a.equal(small.forward(f)), "eval: no dropout");
        small.train();
        Assert.False(small.forward(f).allclose(small.forward(f)), "train: dropout 0.5 after fc6 and fc7");
    }

    [Fact]
    public void LargeFov_CoSA_variant_is_deterministic_in_train_and_has_no_bias()
    {
        torch.manual_seed(16);
        using var head = new DeepLabLargeFov(16, 4, LargeFovConfig.CoSA with { Hidden = 8 });
        Assert.All(head.named_parameters(), p => Assert.EndsWith("weight", p.name));
        Assert.Equal(9L * 16 * 8 + 9L * 8 * 8 + 8L * 4, head.parameter_count());
        using var scope = torch.NewDisposeScope();
        var f = torch.randn(new[] { 1L, 16, 12, 12 });
        head.train();
        var a = head.forward(f);
        Assert.Equal(new[] { 1L, 4, 12, 12 }, a.shape);
        Assert.True(a.equal(head.forward(f)));
        Assert.Throws<ArgumentException>(() => head.forward(torch.zeros(new[] { 1L, 15, 4, 4 })));
    }

    [Fact]
    public void A_dilated_fc6_sees_twelve_pixels_away()
    {
        // A single impulse moves fc6's output 12 positions away (rate 12), not 1.
        using var head = new DeepLabLargeFov(1, 1, new LargeFovConfig(1, 12, 1, 0, false));
        head.eval();
        using var scope = torch.NewDisposeScope();
        using (torch.no_grad()) foreach (var (_, p) in head.named_parameters()) p.fill_(1);
        var x = torch.zeros(new[] { 1L, 1, 25, 25 });
        x[0, 0, 12, 12].fill_(1);
        var y = head.forward(x);                                              // (1, 1, 25, 25)
        var nz = y.squeeze().gt(0).nonzero().data<long>();
        var positions = Enumerable.Range(0, nz.Length / 2).Select(i => (nz[2 * i], nz[2 * i + 1])).ToHashSet();
        Assert.Equal(9, positions.Count);
        Assert.Contains((0L, 0L), positions);
        Assert.Contains((24L, 12L), positions);
    }
}

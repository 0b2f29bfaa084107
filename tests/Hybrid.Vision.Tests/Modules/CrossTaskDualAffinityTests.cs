using Hybrid.Torch;
using static Hybrid.Vision.Tests.Modules.ModulesTestKit;
using F = Hybrid.Torch.torch.nn.functional;

namespace Hybrid.Vision.Tests.Modules;

public class CrossTaskDualAffinityTests
{
    private const long B = 2, C = 6, H = 5, W = 6, N = H * W;

    private static CrossTaskDualAffinity Make(DualAffinityOptions o, long seed)
    {
        torch.manual_seed(seed);
        return new CrossTaskDualAffinity(o);
    }

    private static CrossTaskDualAffinity CopyOf(CrossTaskDualAffinity from, DualAffinityOptions o)
    {
        var m = new CrossTaskDualAffinity(o);
        m.load_state_dict(from.state_dict(), strict: false);
        return m;
    }

    [Fact]
    public void Shapes_of_features_affinity_and_refinements()
    {
        using var scope = torch.NewDisposeScope();
        using var m = Make(new DualAffinityOptions(C), 21);
        var (sal, seg) = (Randn(22, B, C, H, W), Randn(23, B, C, H, W));
        using var o = m.forward(sal, seg);
        Assert.Equal(new[] { B, C, H, W }, o.SaliencyFeatures.shape);
        Assert.Equal(new[] { B, C, H, W }, o.SegmentationFeatures.shape);
        Assert.Equal(new[] { B, N, N }, o.Affinity.Dense().shape);
        Assert.Equal(new[] { B, N }, o.Affinity.Unary!.shape);
        var (rs, rl) = o.RefinePredictions(Randn(24, B, 4, H, W), Randn(25, B, 1, H, W));
        Assert.Equal(new[] { B, 4, H, W }, rs.shape);
        Assert.Equal(new[] { B, 1, H, W }, rl!.shape);
        Assert.Equal(new[] { B, 3, H, W }, o.Affinity.RefineCam(Rand(26, B, 3, H, W)).shape);
        Assert.Throws<ArgumentException>(() => o.Affinity.Refine(torch.zeros(new[] { B, 3, H + 1, W })));
        Assert.Throws<ArgumentException>(() => m.forward(sal, Randn(27, B, C, H, W + 1)));
    }

    [Fact]
    public void Fused_affinity_matches_a_direct_full_matrix_computation()
    {
        using var scope = torch.NewDisposeScope();
        using var m = Make(new DualAffinityOptions(C, ChunkRows: 7), 31);
        var (sal, seg) = (Randn(32, B, C, H, W), Randn(33, B, C, H, W));
        using var o = m.forward(sal, seg);

        Tensor TaskA(TaskAffinityEmbedding e, Tensor f)
        {
            var q = e.query.forward(f).flatten(2);                        // (B, C, N)
            var k = e.key.forward(f).flatten(2);                          // (B, C, N)
            return q.transpose(1, 2).bmm(k).softmax(2);                   // (B, N, N)
        }
        var aSal = TaskA(m.saliency!, sal);
        var aSeg = TaskA(m.segmentation, seg);
        var fz = m.pairwise_fusion!;
        var hdn = F.conv2d(torch.stack(new[] { aSal, aSeg }, 1), fz.mix.weight, null, padding: 1).relu(); // (B, 2, N, N)
        var w = F.conv2d(hdn, fz.weigh.weight, fz.weigh.bias).softmax(1);                               // (B, 2, N, N)
        var expected = w.select(1, 0) * aSal + w.select(1, 1) * aSeg;
        Close(expected, o.Affinity.Dense(), 1e-6, "fused A");

        // Features: F + A_t V_t + V_t U_t with the task's own maps.
        var v = m.segmentation.value.forward(seg).flatten(2);             // (B, C, N)
        var u = m.segmentation.unary!.forward(seg).flatten(1).softmax(1); // (B, N)
        var feat = seg + (v.bmm(aSeg.transpose(1, 2)) + v.bmm(u.unsqueeze(2))).view(B, C, H, W);
        Close(feat, o.SegmentationFeatures, 1e-5, "segmentation features");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(29)]
    public void Chunked_equals_unchunked_including_gradients(long chunk)
    {
        using var scope = torch.NewDisposeScope();
        var whole = new DualAffinityOptions(C);
        using var a = Make(whole, 41);
        using var b = CopyOf(a, whole with { ChunkRows = chunk });
        var (sal, seg) = (Randn(42, B, C, H, W), Randn(43, B, C, H, W));
        var pred = Randn(44, B, 3, H, W);

        Tensor Loss(CrossTaskDualAffinity m, out DualAffinityOutput o)
        {
            o = m.forward(sal, seg);
            var (rs, rl) = o.RefinePredictions(pred, pred.narrow(1, 0, 1));
            return o.SaliencyFeatures.square().sum() + o.SegmentationFeatures.square().sum() + rs.square().sum() + rl!.square().sum();
        }
        var la = Loss(a, out var oa);
        var lb = Loss(b, out var ob);
        Close(oa.SaliencyFeatures, ob.SaliencyFeatures, 1e-5, "saliency features");
        Close(oa.SegmentationFeatures, ob.SegmentationFeatures, 1e-5, "segmentation features");
        Close(oa.Affinity.Dense(), ob.Affinity.Dense(), 1e-6, "affinity");
        Close(oa.Affinity.Refine(pred), ob.Affinity.Refine(pred), 1e-5, "refined");
        using (torch.no_grad()) Close(oa.Affinity.RefineCam(pred), ob.Affinity.RefineCam(pred), 1e-5, "no-grad CAM refinement");
        la.backward();
        lb.backward();
        var gb = b.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in a.named_parameters())
        {
            using var ga = p.grad;
            using var g2 = gb[name].grad;
            Assert.NotNull(ga);
            Assert.True(ga!.abs().sum().ToDouble() > 0, $"no gradient reached {name}");
            Close(ga, g2!, 1e-3 * Math.Max(1, ga.abs().max().ToDouble()), $"grad {name}");
        }
    }

    [Fact]
    public void Pairwise_variant_differs_only_in_the_unary_path()
    {
        using var scope = torch.NewDisposeScope();
        var dualOpt = new DualAffinityOptions(C, AffinityVariant.Dual, ChunkRows: 8);
        using var dual = Make(dualOpt, 51);
        var pairOpt = dualOpt with { Variant = AffinityVariant.Pairwise };
        using var pair = new CrossTaskDualAffinity(pairOpt);
        var report = pair.load_state_dict(dual.state_dict(), strict: false);
        // Exactly the unary parameters are left over.
        Assert.Empty(report.Missing);
        Assert.All(report.Unexpected, k => Assert.True(k.Contains("unary"), k));
        Assert.Equal(7, report.Unexpected.Count);                         // 2 tasks x unary (weight, bias) + unary fusion (mix.weight, weigh.weight, weigh.bias)
        var (sal, seg) = (Randn(52, B, C, H, W), Randn(53, B, C, H, W));
        using var od = dual.forward(sal, seg);
        using var op = pair.forward(sal, seg);
        Assert.Null(op.Affinity.Unary);

        // Same pairwise affinity.
        Close(od.Affinity.Dense(), op.Affinity.Dense(), 1e-6, "pairwise A");
        // Feature difference = the unary context V_t U_t, one vector broadcast over positions.
        foreach (var (name, e, f, fd, fp) in new[] { ("seg", dual.segmentation, seg, od.SegmentationFeatures, op.SegmentationFeatures), ("sal", dual.saliency!, sal, od.SaliencyFeatures, op.SaliencyFeatures) })
        {
            var v = e.value.forward(f).flatten(2);                        // (B, C, N)
            var u = e.unary!.forward(f).flatten(1).softmax(1);            // (B, N)
            var g = v.bmm(u.unsqueeze(2)).view(B, C, 1, 1);               // (B, C, 1, 1)
            Close(g.expand(B, C, H, W), fd - fp, 1e-5, $"{name} unary context");
        }
        // Refinement: identical without the unary term; with it, + U-weighted mean of the map.
        var x = Rand(54, B, 3, H, W);
        Close(op.Affinity.Refine(x), od.Affinity.Refine(x, includeUnary: false), 1e-6, "pairwise refinement");
        var ux = x.reshape(B, 3, N).bmm(od.Affinity.Unary!.unsqueeze(2)).view(B, 3, 1, 1);
        Close(ux.expand(B, 3, H, W), od.Affinity.Refine(x) - op.Affinity.Refine(x), 1e-6, "unary refinement");
    }

    [Fact]
    public void Segmentation_only_source_leaves_saliency_alone_and_uses_A_seg()
    {
        using var scope = torch.NewDisposeScope();
        var o = new DualAffinityOptions(C, Source: AffinitySource.SegmentationOnly, Constraints: AffinityConstraints.Segmentation, ChunkRows: 4);
        using var m = Make(o, 61);
        Assert.Null(m.saliency);
        Assert.Null(m.pairwise_fusion);
        Assert.DoesNotContain(m.named_parameters(), p => p.name.StartsWith("saliency"));
        var (sal, seg) = (Randn(62, B, C, H, W), Randn(63, B, C, H, W));
        using var r = m.forward(sal, seg);
        Assert.True(r.SaliencyFeatures.equal(sal));
        var a = r.Affinity.Dense();
        Close(torch.ones(new[] { B, N }), a.sum(-1), 1e-5, "A_seg rows");  // a plain softmax: rows sum to 1
        var (_, refinedSal) = r.RefinePredictions(Randn(64, B, 2, H, W), Randn(65, B, 1, H, W));
        Assert.Null(refinedSal);                                          // "with seg. constraint" only
    }
}

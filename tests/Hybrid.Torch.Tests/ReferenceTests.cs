using F = Hybrid.Torch.torch.nn.functional;

namespace Hybrid.Torch.Tests;

/// <summary>
/// Forward values against Debian's python3-torch 1.13: each fixture case in
/// Fixtures/reference_ops.json (made by tests/fixtures/make_torch_reference.py) is recomputed
/// here through the binding, from the same recorded inputs. The Python expression of every
/// case is quoted in the failure message.
/// </summary>
public class ReferenceTests
{
    private delegate Tensor[] Op(Func<string, Tensor> input);

    private static Tensor[] One(Tensor t) => new[] { t };
    private static Tensor[] Two((Tensor a, Tensor b) p) => new[] { p.a, p.b };

    /// <summary>The C# twin of each recorded Python expression.</summary>
    private static readonly Dictionary<string, Op> Ops = new()
    {
        ["conv2d_basic"] = x => One(F.conv2d(x("x"), x("w"), x("b"), padding: 1)),
        ["conv2d_stride_dilation_groups"] = x => One(F.conv2d(x("x"), x("w"), x("b"), stride: 2, padding: 1, dilation: 2, groups: 2)),
        ["conv_transpose2d"] = x => One(F.conv_transpose2d(x("x"), x("w"), x("b"), stride: 2, padding: 1, output_padding: 1)),
        ["batch_norm_train"] = x =>
        {
            var rm = x("rm");
            var rv = x("rv");
            var y = F.batch_norm(x("x"), rm, rv, x("w"), x("b"), training: true, momentum: 0.1, eps: 1e-5);
            return new[] { y, rm, rv };                                    // running stats updated in place
        },
        ["batch_norm_eval"] = x => One(F.batch_norm(x("x"), x("rm"), x("rv"), x("w"), x("b"), training: false, eps: 1e-5)),
        ["layer_norm"] = x => One(F.layer_norm(x("x"), new long[] { 5 }, x("w"), x("b"), 1e-5)),
        ["group_norm"] = x => One(F.group_norm(x("x"), 3, x("w"), x("b"), 1e-5)),
        ["max_pool2d"] = x => One(F.max_pool2d(x("x"), 3, stride: 2, padding: 1)),
        ["avg_pool2d"] = x => One(F.avg_pool2d(x("x"), 2)),
        ["adaptive_avg_pool2d"] = x => One(F.adaptive_avg_pool2d(x("x"), 3, 2)),
        ["adaptive_max_pool2d"] = x => One(F.adaptive_max_pool2d(x("x"), 2, 3)),
        ["interpolate_bilinear"] = x => One(F.interpolate(x("x"), size: new long[] { 7, 9 }, mode: InterpolationMode.Bilinear, align_corners: false)),
        ["interpolate_bilinear_align"] = x => One(F.interpolate(x("x"), size: new long[] { 7, 9 }, mode: InterpolationMode.Bilinear, align_corners: true)),
        ["interpolate_bilinear_scale"] = x => One(F.interpolate(x("x"), scale_factor: 1.5, mode: InterpolationMode.Bilinear)),
        ["interpolate_nearest_scale"] = x => One(F.interpolate(x("x"), scale_factor: 1.4, mode: InterpolationMode.Nearest)),
        ["interpolate_nearest"] = x => One(F.interpolate(x("x"), size: new long[] { 5, 7 }, mode: InterpolationMode.Nearest)),
        ["grid_sample_bilinear_zeros"] = x => One(F.grid_sample(x("x"), x("grid"), GridSampleMode.Bilinear, GridPaddingMode.Zeros, align_corners: false)),
        ["grid_sample_bilinear_border_align"] = x => One(F.grid_sample(x("x"), x("grid"), GridSampleMode.Bilinear, GridPaddingMode.Border, align_corners: true)),
        ["grid_sample_nearest_reflection"] = x => One(F.grid_sample(x("x"), x("grid"), GridSampleMode.Nearest, GridPaddingMode.Reflection, align_corners: false)),
        ["unfold"] = x => One(F.unfold(x("x"), 3, dilation: 1, padding: 1, stride: 2)),
        ["pad_reflect"] = x => One(F.pad(x("x"), new long[] { 2, 1, 1, 2 }, PaddingMode.Reflect)),
        ["pad_replicate"] = x => One(F.pad(x("x"), new long[] { 1, 2, 2, 0 }, PaddingMode.Replicate)),
        ["pad_constant"] = x => One(F.pad(x("x"), new long[] { 1, 1, 0, 2 }, PaddingMode.Constant, 0.5)),
        ["softmax"] = x => One(F.softmax(x("x"), 1)),
        ["log_softmax"] = x => One(F.log_softmax(x("x"), 1)),
        ["gelu"] = x => One(F.gelu(x("x"))),
        ["logsumexp"] = x => One(x("x").logsumexp(1)),
        ["std_unbiased_dims"] = x => One(x("x").std(new long[] { 0, 2 }, unbiased: true)),
        ["var_biased_keepdim"] = x => One(x("x").var(new long[] { 1 }, unbiased: false, keepdim: true)),
        ["std_all"] = x => One(x("x").std()),
        ["topk"] = x => Two(x("x").topk(3, dim: 1, largest: true, sorted: true)),
        ["topk_smallest_dim0"] = x => Two(x("x").topk(2, dim: 0, largest: false, sorted: true)),
        ["sort_descending"] = x => Two(x("x").sort(1, descending: true)),
        ["cumsum"] = x => One(x("x").cumsum(1)),
        ["norm_p3_dim"] = x => One(x("x").norm(3, new long[] { 1 })),
        ["einsum_batched_matmul"] = x => One(torch.einsum("bij,bjk->bik", x("a"), x("b"))),
        ["einsum_class_maps"] = x => One(torch.einsum("bchw,bkc->bkhw", x("f"), x("w"))),
        ["cross_entropy_weight_ignore"] = x => One(F.cross_entropy(x("x"), x("t"), x("wt"), ignore_index: 255, reduction: Reduction.Mean)),
        ["cross_entropy_none"] = x => One(F.cross_entropy(x("x"), x("t"), x("wt"), ignore_index: 255, reduction: Reduction.None)),
        ["cross_entropy_sum_smoothing"] = x => One(F.cross_entropy(x("x"), x("t"), reduction: Reduction.Sum, label_smoothing: 0.1)),
        ["multilabel_soft_margin"] = x => One(F.multilabel_soft_margin_loss(x("x"), x("y"))),
        ["multilabel_soft_margin_weight_none"] = x => One(F.multilabel_soft_margin_loss(x("x"), x("y"), x("wt"), Reduction.None)),
        ["kl_div_mean"] = x => One(F.kl_div(x("x"), x("y"), Reduction.Mean)),
        ["kl_div_sum_log_target"] = x => One(F.kl_div(x("x"), x("y"), Reduction.Sum, log_target: true)),
        ["bce_with_logits_pos_weight"] = x => One(F.binary_cross_entropy_with_logits(x("x"), x("y"), pos_weight: x("pw"))),
        ["smooth_l1"] = x => One(F.smooth_l1_loss(x("x"), x("y"), beta: 0.5)),
        ["nll_loss"] = x => One(F.nll_loss(x("x"), x("t"))),
    };

    public static IEnumerable<object[]> CaseNames() =>
        Reference.Root.GetProperty("cases").EnumerateObject().Select(p => new object[] { p.Name });

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Matches_pytorch(string name)
    {
        Assert.True(Ops.ContainsKey(name), $"fixture case '{name}' has no C# twin in ReferenceTests.Ops");
        var c = Reference.Case(name);
        using var scope = torch.NewDisposeScope();
        var outputs = Ops[name](c.In);
        Assert.Equal(c.OutputCount, outputs.Length);
        for (var i = 0; i < outputs.Length; i++)
        {
            var o = outputs[i].dtype == ScalarType.Int64 ? outputs[i] : outputs[i].to(ScalarType.Float64);
            c.Check(o, i, atol: 1e-10, rtol: 1e-9);
        }
    }

    [Fact]
    public void Every_twin_has_a_fixture()
    {
        var recorded = CaseNames().Select(o => (string)o[0]).ToHashSet();
        var orphans = Ops.Keys.Where(k => !recorded.Contains(k)).ToList();
        Assert.True(orphans.Count == 0, $"C# twins without a fixture case: {string.Join(", ", orphans)}");
        Assert.StartsWith("Debian python3-torch 1.13", Reference.Source);
    }
}

using System.Text.Json;
using Hybrid.Torch;
using Hybrid.Vision.Backbones;

namespace Hybrid.Vision.Tests.Backbones;

/// <summary>Our backbones against PyTorch: state-dict names and shapes equal torchvision's
/// (and the timm / PSA name mirrors), and forward results equal PyTorch's on the same
/// deterministic weights (Fixtures/Backbones/goldens.json; provenance in make_fixtures.py).</summary>
public class ReferenceTests
{
    static ReferenceTests() => torch.set_num_threads(2);

    [Theory]
    [InlineData("resnet18", "fc.")]
    [InlineData("resnet34", "fc.")]
    [InlineData("resnet50", "fc.")]
    [InlineData("resnet101", "fc.")]
    [InlineData("vit_s16", "head.")]
    [InlineData("vit_b16", "head.")]
    [InlineData("wideresnet38", null)]
    public void State_dict_keys_and_shapes_equal_the_reference_minus_the_classifier(string name, string? classifier)
    {
        var reference = BackboneFixtures.ReferenceKeys(name);
        var expected = reference.Where(r => classifier is null || !r.Key.StartsWith(classifier)).ToDictionary(r => r.Key, r => r.Shape);
        using var model = BackboneRegistry.Create(name);
        var ours = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape);
        Assert.Empty(expected.Keys.Except(ours.Keys));
        Assert.Empty(ours.Keys.Except(expected.Keys));
        foreach (var (k, s) in expected) Assert.True(s.SequenceEqual(ours[k]), $"{k}: reference [{string.Join(",", s)}], ours [{string.Join(",", ours[k])}]");
        if (classifier is not null)
            Assert.All(reference.Where(r => r.Key.StartsWith(classifier)), r => Assert.True(model.IsIgnorableCheckpointKey(r.Key)));
    }

    [Theory]
    [InlineData("resnet18")]
    [InlineData("resnet50")]
    [InlineData("wideresnet38")]
    [InlineData("vit_s16")]
    public void Forward_equals_PyTorch_on_deterministic_weights(string name)
    {
        var g = BackboneFixtures.Goldens.GetProperty(name);
        var os = (OutputStride)g.GetProperty("output_stride").GetInt32();
        var shape = g.GetProperty("input").EnumerateArray().Select(x => x.GetInt64()).ToArray();
        using var model = BackboneRegistry.Create(name, new BackboneOptions { OutputStride = os });
        BackboneFixtures.Fill(model, BackboneFixtures.ReferenceKeys(name).Select(r => r.Key));
        model.eval();
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var x = BackboneFixtures.GoldenInput(shape[0], shape[2], shape[3]);
        using var feats = model.forward(x);
        var stages = g.GetProperty("stages");
        var compared = 0;
        foreach (var stage in stages.EnumerateObject())
        {
            var map = feats[stage.Name];
            var s = stage.Value;
            Assert.Equal(s.GetProperty("shape").EnumerateArray().Select(v => v.GetInt64()), map.shape);
            var flat = map.contiguous().reshape(-1).to(ScalarType.Float64);
            var std = s.GetProperty("std").GetDouble();
            var tol = 1e-4 * std;
            Assert.True(Math.Abs(flat.mean().item<double>() - s.GetProperty("mean").GetDouble()) <= tol, $"{name}.{stage.Name}: mean {flat.mean().item<double>()} vs PyTorch {s.GetProperty("mean").GetDouble()}");
            Assert.True(Math.Abs(flat.std().item<double>() - std) <= tol, $"{name}.{stage.Name}: std {flat.std().item<double>()} vs PyTorch {std}");
            var values = flat.data<double>();
            var idx = s.GetProperty("index").EnumerateArray().Select(v => v.GetInt64()).ToArray();
            var want = s.GetProperty("value").EnumerateArray().Select(v => v.GetDouble()).ToArray();
            for (var i = 0; i < idx.Length; i++)
                Assert.True(Math.Abs(values[idx[i]] - want[i]) <= tol, $"{name}.{stage.Name}[{idx[i]}] = {values[idx[i]]}, PyTorch {want[i]}");
            compared++;
        }
        Assert.Equal(model.Info.Stages.Count, compared);
    }

    [Theory]
    [InlineData(3, 5)]
    [InlineData(7, 6)]
    public void Position_embedding_resampling_equals_F_interpolate(long h, long w)
    {
        var refs = BackboneFixtures.Goldens.GetProperty("pos_embed_resample");
        using var scope = torch.NewDisposeScope();
        var pos = (torch.arange(0, 48, 1, ScalarType.Float64) * 0.3).sin().to(ScalarType.Float32).reshape(1, 16, 3); // (1, 4*4, 3)
        foreach (var (mode, key) in new[] { (PosEmbedInterpolation.Bicubic, "bicubic"), (PosEmbedInterpolation.Bilinear, "bilinear") })
        {
            var r = PositionEmbedding.Resample(pos, 4, 4, h, w, mode);       // (1, h*w, 3)
            Assert.Equal(new[] { 1L, h * w, 3 }, r.shape);
            var want = refs.GetProperty($"{key}_{h}x{w}").EnumerateArray().Select(v => v.GetSingle()).ToArray();
            var got = r.data<float>();
            for (var i = 0; i < want.Length; i++)
                Assert.True(Math.Abs(got[i] - want[i]) < 2e-5, $"{key} {h}x{w} [{i}]: {got[i]} vs F.interpolate {want[i]}");
        }
        var same = PositionEmbedding.Resample(pos, 4, 4, 4, 4, PosEmbedInterpolation.Bicubic);
        Assert.True(same.equal(pos));
    }
}

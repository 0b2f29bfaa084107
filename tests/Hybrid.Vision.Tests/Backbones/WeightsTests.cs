using Hybrid.Torch;
using Hybrid.Torch.Serialization;
using Hybrid.Vision.Backbones;

namespace Hybrid.Vision.Tests.Backbones;

/// <summary>Loading checkpoints: the committed torch.save files of torchvision's resnet18 /
/// resnet50 and a timm-named ViT-S (real key names, shapes and OrderedDict layout; every tensor
/// a 1-element storage expanded, value 0.001 (j + 1) for the j-th key, see make_fixtures.py),
/// and round trips of our own state dicts with one tensor mis-shaped.</summary>
public sealed class WeightsTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("hybrid-weights-").FullName;

    static WeightsTests() => torch.set_num_threads(2);

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static void AssertStubValues(Backbone model, string backbone)
    {
        // The j-th key of torchvision's / timm's own state-dict order holds 0.001 (j + 1).
        var sd = model.state_dict();
        var reference = BackboneFixtures.ReferenceKeys(backbone);
        var checkedCount = 0;
        for (var j = 0; j < reference.Count; j++)
        {
            if (!sd.TryGetValue(reference[j].Key, out var t) || !t.dtype.IsFloatingPoint()) continue;
            using var lo = t.min();
            using var hi = t.max();
            Assert.Equal(0.001 * (j + 1), lo.item<double>(), 5);
            Assert.Equal(0.001 * (j + 1), hi.item<double>(), 5);
            checkedCount++;
        }
        Assert.True(checkedCount > 50);
    }

    [Theory]
    [InlineData("resnet18", "torchvision_resnet18_stub.pth")]
    [InlineData("resnet50", "torchvision_resnet50_stub.pth")]
    public void A_torchvision_checkpoint_loads_with_nothing_missing_and_only_fc_ignored(string name, string file)
    {
        using var model = BackboneRegistry.Create(name);
        var report = BackboneWeights.Load(model, BackboneFixtures.PathOf(file));
        Assert.True(report.IsClean, report.ToString());
        Assert.Empty(report.Load.Missing);
        Assert.Empty(report.Load.Unexpected);
        Assert.Empty(report.Load.Mismatched);
        Assert.Equal(new[] { "fc.bias", "fc.weight" }, report.Ignored.OrderBy(k => k, StringComparer.Ordinal));
        Assert.Null(report.StrippedPrefix);
        Assert.Empty(report.Defaulted);
        Assert.Equal(model.state_dict().Count, report.Loaded);
        Assert.Contains("2 ignored", report.ToString());
        AssertStubValues(model, name);
    }

    [Fact]
    public void A_timm_ViT_checkpoint_wrapped_in_model_loads_with_the_prefix_stripped_and_head_ignored()
    {
        using var model = BackboneRegistry.Create("vit_s16");
        var report = BackboneWeights.Load(model, BackboneFixtures.PathOf("timm_vit_s16_stub.pth"));
        Assert.True(report.IsClean, report.ToString());
        Assert.Equal("model.", report.StrippedPrefix);
        Assert.Equal(new[] { "head.bias", "head.weight" }, report.Ignored.OrderBy(k => k, StringComparer.Ordinal));
        AssertStubValues(model, "vit_s16");
    }

    [Fact]
    public void The_registry_loads_weights_at_creation_and_keeps_the_report()
    {
        using var model = BackboneRegistry.Create("resnet18", new BackboneOptions { Weights = BackboneFixtures.PathOf("torchvision_resnet18_stub.pth"), OutputStride = OutputStride.Eight });
        Assert.NotNull(model.LoadedWeights);
        Assert.True(model.LoadedWeights!.IsClean);
        Assert.Equal(8, model.Info.OutputStride);
    }

    [Fact]
    public void A_pth_round_trip_is_clean_and_a_mis_shaped_tensor_is_reported_and_not_copied()
    {
        torch.manual_seed(3);
        using var a = BackboneRegistry.Create("resnet18");
        var file = Path.Combine(dir, "ours.pth");
        PyTorchFile.Save(file, a.state_dict());

        using var b = BackboneRegistry.Create("resnet18");
        var clean = BackboneWeights.Load(b, file);
        Assert.True(clean.IsClean, clean.ToString());
        Assert.Empty(clean.Ignored);
        var sa = a.state_dict();
        foreach (var (k, t) in b.state_dict()) Assert.True(t.equal(sa[k]), $"{k} differs after the round trip");

        // One tensor with the wrong shape: reported, left untouched, and Create refuses the file.
        using var scope = torch.NewDisposeScope();
        var bad = new Dictionary<string, Tensor>(sa) { ["layer1.0.conv1.weight"] = torch.ones(new[] { 64L, 64, 1, 1 }) };
        var badFile = Path.Combine(dir, "bad.pth");
        PyTorchFile.Save(badFile, bad);
        using var c = BackboneRegistry.Create("resnet18");
        var before = c.state_dict()["layer1.0.conv1.weight"].clone();
        var report = BackboneWeights.Load(c, badFile);
        Assert.False(report.IsClean);
        var m = Assert.Single(report.Load.Mismatched);
        Assert.Equal("layer1.0.conv1.weight", m.Key);
        Assert.Equal(new[] { 64L, 64, 3, 3 }, m.Expected);
        Assert.Equal(new[] { 64L, 64, 1, 1 }, m.Found);
        Assert.True(c.state_dict()["layer1.0.conv1.weight"].equal(before));
        Assert.Contains("mis-shaped", report.ToString());
        var e = Assert.Throws<InvalidDataException>(() => BackboneRegistry.Create("resnet18", new BackboneOptions { Weights = badFile }));
        Assert.Contains("layer1.0.conv1.weight", e.Message);
    }

    [Fact]
    public void Safetensors_load_too_and_missing_or_unknown_keys_are_reported()
    {
        using var scope = torch.NewDisposeScope();
        using var a = BackboneRegistry.Create("tiny_resnet");
        var sd = new Dictionary<string, Tensor>(a.state_dict());
        sd.Remove("layer4.0.bn2.weight");
        sd["extra.weight"] = torch.zeros(new[] { 3L });
        var file = Path.Combine(dir, "partial.safetensors");
        Safetensors.Save(file, sd);
        using var b = BackboneRegistry.Create("tiny_resnet");
        var report = BackboneWeights.Load(b, file);
        Assert.Equal(new[] { "layer4.0.bn2.weight" }, report.Load.Missing);
        Assert.Equal(new[] { "extra.weight" }, report.Load.Unexpected);
        Assert.False(report.IsClean);
    }

    [Fact]
    public void A_run_checkpoint_initialises_the_backbone_through_its_nested_prefix()
    {
        // a method's checkpoint: the whole model under "model." (backbone, classifier) beside
        // the optimizer's state, as Checkpoint.Save writes it after `hybrid train`
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(5);
        using var trained = BackboneRegistry.Create("tiny_resnet");
        var sd = trained.state_dict().ToDictionary(kv => "model.backbone." + kv.Key, kv => kv.Value);
        sd["model.classifier.weight"] = torch.zeros(new[] { 10L, 192L });
        sd["optimizer.0.0.exp_avg"] = torch.zeros(new[] { 3L });
        var file = Path.Combine(dir, "run-checkpoint.safetensors");
        Safetensors.Save(file, sd);
        torch.manual_seed(6);
        using var fresh = BackboneRegistry.Create("tiny_resnet");
        var report = BackboneWeights.Load(fresh, file);
        Assert.Equal("model.backbone.", report.StrippedPrefix);
        Assert.Empty(report.Load.Missing);
        Assert.Empty(report.Load.Unexpected);
        Assert.Equal(new[] { "model.classifier.weight", "optimizer.0.0.exp_avg" }, report.OutsidePrefix.OrderBy(k => k, StringComparer.Ordinal));
        var a = trained.state_dict();
        foreach (var (k, t) in fresh.state_dict())
            Assert.True(t.equal(a[k]), $"{k} was not loaded");
    }

    [Fact]
    public void Old_checkpoints_without_num_batches_tracked_and_half_precision_ones_load_clean()
    {
        using var scope = torch.NewDisposeScope();
        using var a = BackboneRegistry.Create("tiny_resnet");
        var sd = a.state_dict().Where(kv => !kv.Key.EndsWith("num_batches_tracked"))
            .ToDictionary(kv => kv.Key, kv => kv.Value.dtype == ScalarType.Float32 ? kv.Value.to(ScalarType.Float16) : kv.Value);
        var file = Path.Combine(dir, "old.pth");
        PyTorchFile.Save(file, sd);
        using var b = BackboneRegistry.Create("tiny_resnet");
        var report = BackboneWeights.Load(b, file);
        Assert.True(report.IsClean, report.ToString());
        Assert.Equal(a.named_buffers().Count(x => x.name.EndsWith("num_batches_tracked")), report.Defaulted.Count);
        Assert.Contains("Float16 -> Float32", report.Converted);
    }

    [Fact]
    public void A_ViT_position_embedding_of_another_grid_is_resampled_and_reported()
    {
        using var scope = torch.NewDisposeScope();
        using var model = BackboneRegistry.Create("vit_s16");
        var sd = new Dictionary<string, Tensor>(model.state_dict())
        {
            ["pos_embed"] = torch.randn(new[] { 1L, 1 + 24 * 24, 384 }),   // a 384-px checkpoint
        };
        var report = BackboneWeights.Load(model, sd);
        Assert.True(report.IsClean, report.ToString());
        Assert.Contains(report.Adapted, a => a.StartsWith("pos_embed [1,577,384] -> [1,197,384]"));
        using var cls = model.state_dict()["pos_embed"].narrow(1, 0, 1);
        using var fileCls = sd["pos_embed"].narrow(1, 0, 1);
        Assert.True(cls.equal(fileCls), "the class token's embedding is copied, not resampled");
    }

    [Fact]
    public void Missing_and_corrupt_files_are_clear_errors()
    {
        using var model = BackboneRegistry.Create("tiny_resnet");
        var missing = Path.Combine(dir, "nope.pth");
        Assert.Contains("not found", Assert.Throws<FileNotFoundException>(() => BackboneWeights.Load(model, missing)).Message);
        var corrupt = Path.Combine(dir, "corrupt.pth");
        File.WriteAllBytes(corrupt, new byte[] { (byte)'P', (byte)'K', 3, 4, 1, 2, 3 });
        Assert.Throws<InvalidDataException>(() => BackboneWeights.Load(model, corrupt));
        var corruptSt = Path.Combine(dir, "corrupt.safetensors");
        File.WriteAllBytes(corruptSt, new byte[] { 1, 2, 3 });
        Assert.Throws<InvalidDataException>(() => BackboneWeights.Load(model, corruptSt));
    }
}

using Hybrid.Torch;
using Hybrid.Torch.Modules;
using Hybrid.Torch.Serialization;
using Hybrid.Vision.Backbones;

namespace Hybrid.Vision.Tests.Backbones;

public sealed class ModesAndExtractionTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("hybrid-features-").FullName;

    static ModesAndExtractionTests() => torch.set_num_threads(2);

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void ResNet38_bottleneck_channel_dropout_is_active_in_train_and_off_in_eval()
    {
        // The block type of wideresnet38's b6 (dropout 0.3) and b7 (dropout 0.5).
        torch.manual_seed(5);
        using var block = new PreActBottleneck(32, 64, 1, 4, 0.5, frozenBn: true);
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(new[] { 2L, 32, 8, 8 });
        using var _ = torch.no_grad();
        block.train();
        Assert.False(block.forward(x).Output.allclose(block.forward(x).Output), "train mode: channel dropout must make two passes differ");
        block.eval();
        Assert.True(block.forward(x).Output.equal(block.forward(x).Output), "eval mode must be deterministic");
    }

    [Fact]
    public void ViT_drop_path_is_active_in_train_and_off_in_eval()
    {
        torch.manual_seed(6);
        using var m = BackboneRegistry.Create("vit_s16", new BackboneOptions { DropPathRate = 0.5 });
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(new[] { 4L, 3, 32, 32 });
        using var _ = torch.no_grad();
        m.train();
        using (var a = m.forward(x))
        using (var b = m.forward(x))
            Assert.False(a.Final.allclose(b.Final));
        m.eval();
        using (var a = m.forward(x))
        using (var b = m.forward(x))
            Assert.True(a.Final.equal(b.Final));
    }

    [Fact]
    public void Frozen_batch_norm_keeps_running_statistics_and_trains_no_affine_parameter()
    {
        torch.manual_seed(7);
        using var m = BackboneRegistry.Create("tiny_resnet", new BackboneOptions { FrozenBatchNorm = true });
        var bns = m.named_modules().Select(x => x.module).OfType<BatchNorm2d>().ToList();
        Assert.NotEmpty(bns);
        Assert.All(bns, bn => Assert.False(bn.weight.requires_grad || bn.bias.requires_grad));
        using var scope = torch.NewDisposeScope();
        var before = bns.Select(bn => bn.running_mean.clone()).ToList();
        m.train();
        var x = torch.randn(new[] { 2L, 3, 32, 32 });
        using (var f = m.forward(x)) f.Final.mean().backward();
        for (var i = 0; i < bns.Count; i++) Assert.True(bns[i].running_mean.equal(before[i]));
        // A frozen net treats each sample alone: sample 0's features do not depend on its batch mates.
        using var _ = torch.no_grad();
        using var both = m.forward(x);
        using var alone = m.forward(x.narrow(0, 0, 1));
        Assert.True(both.Final.narrow(0, 0, 1).allclose(alone.Final, 1e-4, 1e-5));

        using var trainable = BackboneRegistry.Create("tiny_resnet");
        trainable.train();
        var bn0 = trainable.named_modules().Select(x => x.module).OfType<BatchNorm2d>().First();
        var rm = bn0.running_mean.clone();
        using (torch.no_grad()) using (var f = trainable.forward(x)) { }
        Assert.False(bn0.running_mean.equal(rm), "an unfrozen BN updates its running mean in train mode");
    }

    [Fact]
    public void Extract_returns_every_stage_and_writes_a_safetensors_file_with_metadata()
    {
        torch.manual_seed(8);
        using var m = BackboneRegistry.Create("vit_s16");
        m.train();
        using var scope = torch.NewDisposeScope();
        var rgb = torch.rand(new[] { 1L, 3, 32, 48 });
        var x = ImageNormalization.ImageNet.Normalize(rgb);
        var feats = FeatureExtraction.Extract(m, x);
        Assert.True(m.training, "Extract restores train mode");
        Assert.Equal(m.Info.Stages.Select(s => s.Name).Append("cls_token").OrderBy(s => s), feats.Keys.OrderBy(s => s));
        Assert.Equal(new[] { 1L, 384, 2, 3 }, feats["norm"].shape);
        Assert.Equal(new[] { 1L, 384 }, feats["cls_token"].shape);
        Assert.All(feats.Values, t => Assert.False(t.requires_grad));
        foreach (var t in feats.Values) t.Dispose();

        var path = Path.Combine(dir, "features.safetensors");
        FeatureExtraction.WriteSafetensors(m, x, path);
        var (tensors, meta) = Safetensors.Load(path);
        try
        {
            Assert.Equal("vit_s16", meta["backbone"]);
            Assert.Equal("1,3,32,48", meta["input_shape"]);
            Assert.Equal("0.485,0.456,0.406", meta["normalization_mean"]);
            Assert.True(tensors["input"].equal(x));
            Assert.Equal(new[] { 1L, 384, 2, 3 }, tensors["blocks.9"].shape);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    [Fact]
    public void ImageNet_normalisation_uses_torchvisions_constants_and_inverts()
    {
        Assert.Equal(new[] { 0.485, 0.456, 0.406 }, ImageNormalization.ImageNet.Mean);
        Assert.Equal(new[] { 0.229, 0.224, 0.225 }, ImageNormalization.ImageNet.Std);
        using var scope = torch.NewDisposeScope();
        var img = torch.tensor(new float[] { 0.485f, 0.456f + 0.224f, 0.406f - 0.225f }, new long[] { 3, 1, 1 });
        var n = ImageNormalization.ImageNet.Normalize(img).data<float>();
        Assert.Equal(0, n[0], 5);
        Assert.Equal(1, n[1], 5);
        Assert.Equal(-1, n[2], 5);
        var batch = torch.rand(new[] { 2L, 3, 4, 5 });
        Assert.True(ImageNormalization.ImageNet.Denormalize(ImageNormalization.ImageNet.Normalize(batch)).allclose(batch, 1e-5, 1e-6));
        Assert.Throws<ArgumentException>(() => ImageNormalization.ImageNet.Normalize(torch.zeros(new[] { 1L, 4, 2, 2 })));
    }

    [Fact]
    public void The_registry_lists_every_backbone_with_its_size_and_features()
    {
        var list = BackboneRegistry.List();
        Assert.Equal(new[] { "tiny_resnet", "resnet18", "resnet34", "resnet50", "resnet101", "wideresnet38", "vit_s16", "vit_b16" }, list.Select(s => s.Name));
        var tiny = list[0];
        Assert.InRange(tiny.ParameterCount, 500_000, 2_000_000);
        Assert.Equal(96, tiny.DefaultInputSize);
        Assert.Equal(8, tiny.Info.OutputStride);
        Assert.Equal("blocks.9", BackboneRegistry.Spec("vit_b16").Info.LowLevel);
        Assert.Equal(16, BackboneRegistry.InfoFor("wideresnet38", OutputStride.Sixteen).OutputStride);
    }
}

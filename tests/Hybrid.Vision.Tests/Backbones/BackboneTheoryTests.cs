using Hybrid.Torch;
using Hybrid.Vision.Backbones;

namespace Hybrid.Vision.Tests.Backbones;

/// <summary>One theory over every registered backbone (timm's habit): each stage's map has
/// the shape FeatureInfo promises, nothing is NaN or infinite, and the gradient of the final
/// feature reaches the first layer. Big nets run at batch 1 and small inputs.</summary>
public class BackboneTheoryTests
{
    static BackboneTheoryTests() => torch.set_num_threads(2);

    public static TheoryData<string> AllBackbones()
    {
        var d = new TheoryData<string>();
        foreach (var n in BackboneRegistry.Names) d.Add(n);
        return d;
    }

    /// <summary>(batch, side, first parameter) per backbone: small enough to keep the suite fast.</summary>
    private static (long Batch, long Side, string FirstParameter) Plan(string name) => name switch
    {
        "tiny_resnet" => (2, 96, "conv1.weight"),
        "resnet18" or "resnet34" => (2, 64, "conv1.weight"),
        "resnet50" or "resnet101" => (1, 64, "conv1.weight"),
        "wideresnet38" => (1, 32, "conv1a.weight"),
        "vit_s16" => (2, 64, "patch_embed.proj.weight"),
        "vit_b16" => (1, 32, "patch_embed.proj.weight"),
        _ => throw new ArgumentException($"no test plan for backbone '{name}': add one"),
    };

    [Theory]
    [MemberData(nameof(AllBackbones))]
    public void Stages_match_FeatureInfo_are_finite_gradients_reach_the_first_layer_and_the_spec_is_right(string name)
    {
        var (batch, side, first) = Plan(name);
        torch.manual_seed(1);
        using var model = BackboneRegistry.Create(name);
        // The registry's listing (built without the model) agrees with the model.
        var spec = BackboneRegistry.Spec(name);
        Assert.Equal(name, model.Name);
        Assert.Equal(spec.ParameterCount, model.parameter_count());
        Assert.Equal(spec.Info.Stages, model.Info.Stages);
        Assert.Equal((spec.Info.Final, spec.Info.LowLevel), (model.Info.Final, model.Info.LowLevel));
        Assert.Equal((long)spec.DefaultOutputStride, model.Info.OutputStride);
        model.train();
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(new[] { batch, 3, side, side });                 // (B, 3, S, S)
        using var feats = model.forward(x);

        Assert.Equal(model.Info.Stages.Select(s => s.Name), feats.Stages.Select(s => s.Name));
        foreach (var stage in model.Info.Stages)
        {
            var map = feats[stage.Name];
            var expectedSide = name.StartsWith("vit") ? side / stage.Stride : stage.SideFor(side);
            Assert.Equal(new[] { batch, stage.Channels, expectedSide, expectedSide }, map.shape);
            Assert.True(map.isfinite().all().item<bool>(), $"{name}: stage {stage.Name} has NaN or infinite values");
        }
        Assert.Same(feats[model.Info.Final], feats.Final);
        Assert.Same(feats[model.Info.LowLevel], feats.LowLevel);
        Assert.True(model.Info.Stages.ToList().FindIndex(s => s.Name == model.Info.LowLevel)
                    < model.Info.Stages.ToList().FindIndex(s => s.Name == model.Info.Final), "the low-level tap must come before the final feature");

        var loss = feats.Final.square().mean();
        loss.backward();
        // The first layer the image meets (a ViT lists cls_token / pos_embed before it, as timm does).
        var p = model.named_parameters().Single(np => np.name == first).parameter;
        using var g = p.grad;
        Assert.NotNull(g);
        Assert.True(g!.abs().sum().item<double>() > 0, $"{name}: zero gradient at {first}");
        Assert.True(g.isfinite().all().item<bool>());
    }
}

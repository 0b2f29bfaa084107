using Hybrid.Torch;
using Hybrid.Vision.Backbones;

namespace Hybrid.Vision.Tests.Backbones;

public class OutputStrideTests
{
    static OutputStrideTests() => torch.set_num_threads(2);

    [Theory]
    [InlineData("tiny_resnet", 64)]
    [InlineData("resnet18", 64)]
    [InlineData("resnet50", 64)]
    [InlineData("wideresnet38", 32)]
    public void Output_stride_8_doubles_the_final_resolution_of_16(string name, long side)
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(new[] { 1L, 3, side, side });
        (long Side, Dictionary<string, long[]> Shapes) Run(OutputStride os)
        {
            using var m = BackboneRegistry.Create(name, new BackboneOptions { OutputStride = os });
            m.eval();
            Assert.Equal((long)os, m.Info.OutputStride);
            using var _ = torch.no_grad();
            using var f = m.forward(x);
            Assert.Equal(m.Info.Channels, f.Final.size(1));
            return (f.Final.size(2), m.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape));
        }
        var (s8, p8) = Run(OutputStride.Eight);
        var (s16, p16) = Run(OutputStride.Sixteen);
        Assert.Equal(side / 8, s8);
        Assert.Equal(side / 16, s16);
        // Dilation instead of stride: the same parameters, so the same checkpoints load.
        Assert.Equal(p8.Keys.OrderBy(k => k), p16.Keys.OrderBy(k => k));
        foreach (var (k, s) in p8) Assert.Equal(s, p16[k]);
    }

    [Fact]
    public void Unsupported_output_strides_are_refused_with_the_supported_ones()
    {
        var e = Assert.Throws<ArgumentException>(() => BackboneRegistry.Create("vit_s16", new BackboneOptions { OutputStride = OutputStride.Eight }));
        Assert.Contains("supported: 16", e.Message);
        e = Assert.Throws<ArgumentException>(() => BackboneRegistry.Create("wideresnet38", new BackboneOptions { OutputStride = OutputStride.ThirtyTwo }));
        Assert.Contains("8, 16", e.Message);
    }

    [Fact]
    public void Unknown_names_and_misplaced_options_are_clear_errors()
    {
        var e = Assert.Throws<ArgumentException>(() => BackboneRegistry.Create("resnet152"));
        Assert.Contains("resnet50", e.Message);
        e = Assert.Throws<ArgumentException>(() => BackboneRegistry.Create("tiny_resnet", new BackboneOptions { DropPathRate = 0.1 }));
        Assert.Contains("ViTs only", e.Message);
    }

    [Fact]
    public void A_wrong_input_is_a_clear_error()
    {
        using var m = BackboneRegistry.Create("tiny_resnet");
        using var gray = torch.zeros(new[] { 1L, 1, 32, 32 });
        Assert.Contains("(B, 3, H, W)", Assert.Throws<ArgumentException>(() => m.forward(gray)).Message);
        using var bytes = torch.zeros(new[] { 1L, 3, 32, 32 }, ScalarType.UInt8);
        Assert.Contains("floating-point", Assert.Throws<ArgumentException>(() => m.forward(bytes)).Message);
    }
}

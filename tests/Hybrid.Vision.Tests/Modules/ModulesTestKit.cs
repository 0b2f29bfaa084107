using Hybrid.Torch;

namespace Hybrid.Vision.Tests.Modules;

/// <summary>Small assertion helpers shared by the refinement / affinity / EMA / GRL / domain /
/// copy-paste tests.</summary>
internal static class ModulesTestKit
{
    public static double MaxAbsDiff(Tensor a, Tensor b)
    {
        using var d = (a - b).abs().max();
        return d.ToDouble();
    }

    public static void Close(Tensor expected, Tensor actual, double atol = 1e-5, string what = "")
    {
        Assert.Equal(expected.shape, actual.shape);
        var diff = MaxAbsDiff(expected, actual);
        Assert.True(diff <= atol, $"{what} max |diff| = {diff:G4} > {atol:G4}");
    }

    /// <summary>A fresh random tensor from a seeded generator.</summary>
    public static Tensor Rand(long seed, params long[] shape)
    {
        torch.manual_seed(seed);
        return torch.rand(shape);
    }

    public static Tensor Randn(long seed, params long[] shape)
    {
        torch.manual_seed(seed);
        return torch.randn(shape);
    }
}

using Hybrid.Torch;

namespace Hybrid.Vision.Tests.Refinement;

public class DenseCrfTensorTests
{
    [Fact]
    public void TensorOverloadMatchesArraysForBothImageLayouts()
    {
        const int h = 9, w = 13, classes = 3;
        var (rgb, probs) = CrfScenes.ThreeRegions(h, w, classes, seed: 3);
        var expected = DenseCrf.Infer(rgb, h, w, probs, classes, CrfPreset.Psa);
        using var p = torch.tensor(probs, [classes, h, w]);
        using var hwc = torch.tensor(rgb, [h, w, 3]);
        using var chw = hwc.permute(2, 0, 1);
        foreach (var image in new[] { hwc, chw })
        {
            using var q = DenseCrf.Infer(image, p, CrfPreset.Psa);
            Assert.Equal(new long[] { classes, h, w }, q.shape);
            Assert.Equal(ScalarType.Float32, q.dtype);
            Assert.Equal(expected, q.data<float>());
        }
    }

    [Fact]
    public void TensorOverloadReportsBadLayouts()
    {
        using var p = torch.rand([2, 4, 5]);
        using var wrongSize = torch.zeros([4, 6, 3], ScalarType.UInt8);
        Assert.Contains("(H, W) = (4, 5)", Assert.Throws<ArgumentException>(() => DenseCrf.Infer(wrongSize, p, CrfParams.Psa)).Message);
        using var floatImage = torch.zeros([4, 5, 3]);
        Assert.Contains("uint8", Assert.Throws<ArgumentException>(() => DenseCrf.Infer(floatImage, p, CrfParams.Psa)).Message);
        using var flat = torch.rand([20]);
        using var image = torch.zeros([4, 5, 3], ScalarType.UInt8);
        Assert.Contains("(C, H, W)", Assert.Throws<ArgumentException>(() => DenseCrf.Infer(image, flat, CrfParams.Psa)).Message);
    }
}

namespace Hybrid.Vision.Tests.Refinement;

public class CrfParamsTests
{
    [Fact]
    public void EveryPresetResolvesToValidParameters()
    {
        foreach (var preset in Enum.GetValues<CrfPreset>())
        {
            var p = CrfParams.For(preset);
            p.Validate();
            Assert.True(p.Iterations >= 1);
            Assert.True(p.BiW > 0 && p.PosW > 0);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => CrfParams.For((CrfPreset)999));
    }

    /// <summary>Provenance check of the named sets against the papers' public code:
    /// PSA/SEAM/PLDA tool/imutils.py crf_inference (sxy 3, compat 3; sxy 80, srgb 13, compat 10;
    /// t 10), CoSA utils/seg_helper.py crf_inference_infv2 (1; 1; 121, 5, 4; iter 1),
    /// AuxSegNet/MCTformer crf_inference_inf (4, 3; 83, 5, 3; t 10), AuxSegNet crf_for_sal
    /// (3, 3; 60, 5, 5; 1 iteration).</summary>
    [Theory]
    [InlineData(CrfPreset.Psa, 10, 3, 3, 10, 80, 13)]
    [InlineData(CrfPreset.Seam, 10, 3, 3, 10, 80, 13)]
    [InlineData(CrfPreset.Plda, 10, 3, 3, 10, 80, 13)]
    [InlineData(CrfPreset.PldaCocoLabels, 10, 3, 3, 10, 50, 5)]
    [InlineData(CrfPreset.CsdPseudoMask, 10, 3, 3, 10, 80, 13)]
    [InlineData(CrfPreset.CsdSegmentation, 10, 3, 4, 3, 83, 5)]
    [InlineData(CrfPreset.Cosa, 1, 1, 1, 4, 121, 5)]
    [InlineData(CrfPreset.AuxSegNetPlus, 10, 3, 4, 3, 83, 5)]
    [InlineData(CrfPreset.AuxSegNetPlusSaliency, 1, 3, 3, 5, 60, 5)]
    [InlineData(CrfPreset.DeepLabLargeFov, 10, 3, 3, 4, 121, 5)]
    public void PresetsCarryTheirPapersNumbers(CrfPreset preset, int iterations, double posW, double posXy, double biW, double biXy, double biRgb)
    {
        var expected = new CrfParams { Iterations = iterations, PosW = posW, PosXyStd = posXy, BiW = biW, BiXyStd = biXy, BiRgbStd = biRgb };
        Assert.Equal(expected, CrfParams.For(preset));
    }

    [Fact]
    public void ScaledShrinksOnlySpatialStds()
    {
        var half = CrfParams.Psa.Scaled(0.5);
        Assert.Equal(CrfParams.Psa with { PosXyStd = 1.5, BiXyStd = 40 }, half);
        Assert.Throws<ArgumentOutOfRangeException>(() => CrfParams.Psa.Scaled(0));
    }
}

using Hybrid.Torch;
using static Hybrid.Vision.Tests.Modules.ModulesTestKit;

namespace Hybrid.Vision.Tests.Modules;

public class AffinityRandomWalkTests
{
    [Fact]
    public void Transition_rows_sum_to_one_and_are_non_negative()
    {
        using var scope = torch.NewDisposeScope();
        var aff = Rand(11, 2, 12, 12);                                    // (2, 12, 12)
        foreach (var beta in new[] { 1.0, 4.0, 8.0 })
        {
            var t = AffinityRandomWalk.Transition(aff, beta);
            Assert.True(t.ge(0).all().item<bool>());
            Close(torch.ones(new long[] { 2, 12 }), t.sum(-1), 1e-5, $"rows (beta {beta})");
        }
        // beta sharpens: T[i, j] proportional to W[i, j]^beta.
        var t2 = AffinityRandomWalk.Transition(aff, 2);
        var manual = aff.square() / aff.square().sum(-1, keepdim: true);
        Close(manual, t2, 1e-6, "beta = 2");
    }

    [Fact]
    public void Propagation_keeps_constants_and_power_equals_repeated_steps()
    {
        using var scope = torch.NewDisposeScope();
        var feat = Randn(12, 1, 4, 3, 4);                                 // (1, 4, 3, 4)
        var aff = AffinityRandomWalk.FeatureAffinity(feat, radius: 2);    // (1, 12, 12)
        var t = AffinityRandomWalk.Transition(aff, 8);
        Close(torch.ones(new long[] { 1, 12 }), t.sum(-1), 1e-5, "rows");

        var constant = torch.full(new long[] { 1, 2, 3, 4 }, 0.25);
        Close(constant, AffinityRandomWalk.Propagate(constant, t, 5), 1e-6, "constant map");

        var cam = Rand(13, 1, 2, 3, 4);
        var stepwise = AffinityRandomWalk.Propagate(cam, t, 5);
        var viaPower = AffinityRandomWalk.Propagate(cam, AffinityRandomWalk.Power(t, 5), 1);
        Close(stepwise, viaPower, 1e-5, "T^5");
        // one step is v_i = sum_j T[i, j] v_j
        var one = AffinityRandomWalk.Propagate(cam, t, 1).reshape(1, 2, 12);
        var manual = t[0].matmul(cam.reshape(2, 12).t()).t();             // (2, 12)
        Close(manual.unsqueeze(0), one, 1e-6, "one step");
    }

    [Fact]
    public void Feature_affinity_is_symmetric_local_and_one_on_the_diagonal()
    {
        using var scope = torch.NewDisposeScope();
        var feat = Randn(14, 2, 3, 4, 5);
        var aff = AffinityRandomWalk.FeatureAffinity(feat, radius: 1.5);  // (2, 20, 20)
        Assert.Equal(new long[] { 2, 20, 20 }, aff.shape);
        Close(aff.transpose(1, 2), aff, 1e-6, "symmetry");
        Close(torch.ones(new long[] { 2, 20 }), torch.stack(new[] { aff[0].diag_of(), aff[1].diag_of() }), 1e-6, "diagonal");
        // positions (0,0) and (2,0) are 2 apart > 1.5: zero; (0,0) and (1,1) are sqrt 2 apart: positive.
        Assert.Equal(0f, aff[0, 0, 10].item<float>());
        Assert.True(aff[0, 0, 6].item<float>() > 0);
        Assert.Throws<ArgumentException>(() => AffinityRandomWalk.Transition(torch.zeros(new long[] { 3, 4 })));
    }
}

internal static class DiagExtension
{
    public static Tensor diag_of(this Tensor m)
    {
        var n = m.size(0);
        using var eye = torch.eye(n).to(ScalarType.Bool);
        return m.masked_select(eye);
    }
}

using Hybrid.Torch;
using static Hybrid.Vision.Tests.Modules.ModulesTestKit;

namespace Hybrid.Vision.Tests.Modules;

public class GradientReversalTests
{
    [Theory]
    [InlineData(1.0)]
    [InlineData(0.37)]
    [InlineData(0.0)]
    [InlineData(2.5)]
    public void Forward_is_identity_and_gradient_is_exactly_minus_lambda_times_upstream(double lambda)
    {
        using var scope = torch.NewDisposeScope();
        var x = (Randn(111, 2, 3, 4, 5) * 10).requires_grad_();
        var y = GradientReversal.Apply(x, lambda);
        Assert.True(y.detach().equal(x.detach()), "forward must be the identity, bit for bit");
        var upstream = Randn(112, 2, 3, 4, 5);
        y.backward(upstream);
        using var g = x.grad!;
        Assert.True(g.equal(upstream * (-lambda)), $"gradient is not exactly -{lambda} x upstream (max diff {MaxAbsDiff(g, upstream * (-lambda)):G3})");
    }

    [Fact]
    public void Dann_schedule_goes_from_zero_towards_one()
    {
        Assert.Equal(0.0, GradientReversal.DannCoefficient(0), 12);
        Assert.Equal(2 / (1 + Math.Exp(-10.0)) - 1, GradientReversal.DannCoefficient(1), 12); // 0.999909...
        Assert.True(GradientReversal.DannCoefficient(0.1) < GradientReversal.DannCoefficient(0.2));
        Assert.Throws<ArgumentOutOfRangeException>(() => GradientReversal.DannCoefficient(1.5));
    }

    [Fact]
    public void Domain_classifier_reverses_the_feature_gradient()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(113);
        using var d = DomainClassifier.MultiHead(6, 3);
        d.eval();                                                         // no dropout: both passes see the same net
        d.GrlLambda = 0.5;
        var labels = torch.randint(0, 2, new long[] { 1, 3, 4, 4 });
        // drawn once: the seeded generator is process-wide, and a test running in parallel may
        // draw from it between a reseed and a second draw
        var features = Randn(114, 1, 6, 4, 4);
        Tensor FeatureGrad(bool reverse)
        {
            d.ReverseGradient = reverse;
            d.zero_grad();
            var f = features.detach().requires_grad_();                  // a fresh leaf per pass
            DomainAdversarialLoss.MultiHead(d.forward(f), labels).backward();
            return f.grad!;
        }
        var plain = FeatureGrad(false);
        var reversed = FeatureGrad(true);
        Assert.True(plain.abs().sum().ToDouble() > 0);
        Assert.True(reversed.equal(plain * (-0.5)));
    }
}

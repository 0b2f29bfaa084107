namespace Hybrid.Vision;

/// <summary>
/// Gradient reversal layer (GRL; Ganin and Lempitsky, ICML 2015): identity in the forward
/// pass, the upstream gradient times -lambda in the backward pass.
///
/// Built from differentiable ops without a custom autograd function:
///   y = x.detach() + (-lambda) (x - x.detach()).
/// Forward: x - x.detach() is exactly 0 for finite x, so y equals x bit for bit. Backward: the
/// only path to x is through (x - x.detach()) with derivative 1, scaled by -lambda, so
/// dL/dx = -lambda dL/dy exactly. (Non-finite inputs give NaN: inf - inf.)
/// </summary>
public static class GradientReversal
{
    /// <summary>Identity forward, -lambda times the gradient backward.</summary>
    public static Tensor Apply(Tensor x, double lambda)
    {
        using var scope = torch.NewDisposeScope();
        var d = x.detach();
        var y = d + (x - d) * (-lambda);
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>DANN's coefficient schedule 2 / (1 + exp(-gamma p)) - 1 for training progress
    /// p in [0, 1] (gamma = 10), as PLDA uses for its GRL.</summary>
    public static double DannCoefficient(double progress, double gamma = 10)
    {
        if (!(progress >= 0 && progress <= 1)) throw new ArgumentOutOfRangeException(nameof(progress), $"progress must be in [0, 1], got {progress}");
        return 2 / (1 + Math.Exp(-gamma * progress)) - 1;
    }
}

/// <summary>The GRL as a layer with a settable coefficient (update it each step from a schedule).</summary>
public sealed class GradientReversalLayer : nn.Module<Tensor, Tensor>
{
    public double Lambda { get; set; }

    public GradientReversalLayer(double lambda = 1) : base(nameof(GradientReversalLayer)) { Lambda = lambda; }

    /// <summary>No parameters, buffers or children; no field reflection.</summary>
    protected override void RegisterComponents() { }

    public override Tensor forward(Tensor x) => GradientReversal.Apply(x, Lambda);
}

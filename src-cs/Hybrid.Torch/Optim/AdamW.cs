using Hybrid.Torch.Modules;

namespace Hybrid.Torch.Optim;

/// <summary>Adam with decoupled weight decay (Loshchilov and Hutter), PyTorch's update order:
/// p *= 1 - lr wd; m, v moments with bias correction; p -= lr m_hat / (sqrt v_hat + eps).</summary>
public sealed class AdamW : Optimizer
{
    public double beta1 { get; }
    public double beta2 { get; }
    public double eps { get; }
    public double weight_decay { get; }

    public AdamW(IEnumerable<ParamGroup> groups, double lr, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weight_decay = 0.01) : base(groups, lr)
    {
        this.beta1 = beta1; this.beta2 = beta2; this.eps = eps; this.weight_decay = weight_decay;
    }

    public AdamW(IEnumerable<Parameter> parameters, double lr, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weight_decay = 0.01)
        : this(new[] { new ParamGroup(parameters) }, lr, beta1, beta2, eps, weight_decay) { }

    protected override void Update(ParamGroup g, Parameter p, Tensor grad, Dictionary<string, Tensor> st)
    {
        var wd = g.weight_decay ?? weight_decay;
        if (wd != 0) p.mul_(1 - g.lr * wd);
        if (!st.TryGetValue("exp_avg", out var m))
        {
            st["exp_avg"] = m = Persist(torch.zeros_like(p));
            st["exp_avg_sq"] = Persist(torch.zeros_like(p));
            st["step"] = Persist(torch.zeros(Array.Empty<long>(), ScalarType.Float64));
        }
        var v = st["exp_avg_sq"];
        var stepT = st["step"];
        stepT.add_(1);
        var t = stepT.item<double>();
        m.lerp_(grad, 1 - beta1);                      // m = b1 m + (1 - b1) g
        v.mul_(beta2).addcmul_(grad, grad, 1 - beta2);  // v = b2 v + (1 - b2) g^2
        var bc1 = 1 - Math.Pow(beta1, t);
        var bc2 = 1 - Math.Pow(beta2, t);
        var denom = (v.sqrt() / Math.Sqrt(bc2)).add(eps);
        p.addcdiv_(m, denom, -g.lr / bc1);
    }
}

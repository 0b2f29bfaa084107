using Hybrid.Torch.Modules;

namespace Hybrid.Torch.Optim;

/// <summary>SGD with momentum (PyTorch's formulation: buf = m buf + g; dampening 0), optional
/// Nesterov, L2 weight decay added to the gradient.</summary>
public sealed class SGD : Optimizer
{
    public double momentum { get; }
    public double weight_decay { get; }
    public bool nesterov { get; }

    public SGD(IEnumerable<ParamGroup> groups, double lr, double momentum = 0, double weight_decay = 0, bool nesterov = false) : base(groups, lr)
    {
        if (nesterov && momentum <= 0) throw new ArgumentException("Nesterov momentum needs momentum > 0");
        this.momentum = momentum; this.weight_decay = weight_decay; this.nesterov = nesterov;
    }

    public SGD(IEnumerable<Parameter> parameters, double lr, double momentum = 0, double weight_decay = 0, bool nesterov = false)
        : this(new[] { new ParamGroup(parameters) }, lr, momentum, weight_decay, nesterov) { }

    protected override void Update(ParamGroup g, Parameter p, Tensor grad, Dictionary<string, Tensor> st)
    {
        var wd = g.weight_decay ?? weight_decay;
        var d = wd != 0 ? grad.add(p * wd) : grad;
        if (momentum != 0)
        {
            if (!st.TryGetValue("momentum_buffer", out var buf))
                st["momentum_buffer"] = buf = Persist(d.clone());
            else
                buf.mul_(momentum).add_(d);
            d = nesterov ? d.add(buf * momentum) : buf;
        }
        p.add_(d, -g.lr);
    }
}

using Hybrid.Torch.Modules;

namespace Hybrid.Torch.Optim;

/// <summary>A group of parameters sharing hyperparameters. `lr` is settable every step, so a
/// schedule drives it; `lr_mult` keeps "x10 for new layers" a property of the group.</summary>
public sealed class ParamGroup
{
    public ParamGroup(IEnumerable<Parameter> parameters, double lr_mult = 1.0, double? weight_decay = null, string name = "")
    {
        this.parameters = parameters.ToList();
        this.lr_mult = lr_mult;
        this.weight_decay = weight_decay;
        this.name = name;
    }

    public IReadOnlyList<Parameter> parameters { get; }
    public string name { get; }
    /// <summary>The multiplier on the optimizer's base learning rate.</summary>
    public double lr_mult { get; }
    /// <summary>Overrides the optimizer's weight decay when set (e.g. 0 for norms and biases).</summary>
    public double? weight_decay { get; }
    /// <summary>The learning rate used by the next step (base lr x lr_mult unless set directly).</summary>
    public double lr { get; set; }
}

/// <summary>Base of the optimizers: groups, per-parameter state tensors, zero_grad, lr setting,
/// and a state dict for checkpoints.</summary>
public abstract class Optimizer : IDisposable
{
    protected readonly Dictionary<Parameter, Dictionary<string, Tensor>> state = new(ReferenceEqualityComparer.Instance);

    protected Optimizer(IEnumerable<ParamGroup> groups, double lr)
    {
        param_groups = groups.ToList();
        if (param_groups.Count == 0 || param_groups.All(g => g.parameters.Count == 0)) throw new ArgumentException("optimizer got no parameters");
        set_lr(lr);
    }

    public IReadOnlyList<ParamGroup> param_groups { get; }

    /// <summary>Number of steps taken.</summary>
    public long step_count { get; protected set; }

    /// <summary>Sets every group's lr to base_lr x its multiplier.</summary>
    public void set_lr(double base_lr)
    {
        foreach (var g in param_groups) g.lr = base_lr * g.lr_mult;
    }

    public void zero_grad()
    {
        foreach (var g in param_groups)
            foreach (var p in g.parameters) p.grad = null;
    }

    public void step()
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        step_count++;
        foreach (var g in param_groups)
            foreach (var p in g.parameters)
            {
                using var grad = p.grad;
                if (grad is null) continue;
                Update(g, p, grad, State(p));
            }
    }

    /// <summary>Applies one update to p (in place), given its gradient and its state.</summary>
    protected abstract void Update(ParamGroup g, Parameter p, Tensor grad, Dictionary<string, Tensor> st);

    protected Dictionary<string, Tensor> State(Parameter p)
    {
        if (!state.TryGetValue(p, out var s)) state[p] = s = new Dictionary<string, Tensor>();
        return s;
    }

    /// <summary>Creates a state tensor that outlives the step's dispose scope.</summary>
    protected static Tensor Persist(Tensor t) => t.DetachFromDisposeScope();

    /// <summary>State tensors keyed "group.index.name" plus the step count (for checkpoints).</summary>
    public Dictionary<string, Tensor> state_dict()
    {
        var d = new Dictionary<string, Tensor>();
        for (var gi = 0; gi < param_groups.Count; gi++)
            for (var pi = 0; pi < param_groups[gi].parameters.Count; pi++)
                if (state.TryGetValue(param_groups[gi].parameters[pi], out var s))
                    foreach (var (k, t) in s) d[$"{gi}.{pi}.{k}"] = t;
        return d;
    }

    /// <summary>Restores state tensors written by <see cref="state_dict"/> (copies them).</summary>
    public void load_state_dict(IReadOnlyDictionary<string, Tensor> d, long steps)
    {
        foreach (var (k, t) in d)
        {
            var parts = k.Split('.');
            if (parts.Length != 3 || !int.TryParse(parts[0], out var gi) || !int.TryParse(parts[1], out var pi) || gi >= param_groups.Count || pi >= param_groups[gi].parameters.Count)
                throw new InvalidOperationException($"optimizer state key '{k}' does not match this optimizer's parameter groups");
            var st = State(param_groups[gi].parameters[pi]);
            if (st.TryGetValue(parts[2], out var old)) old.Dispose();
            st[parts[2]] = Persist(t.clone());
        }
        step_count = steps;
    }

    public void Dispose()
    {
        foreach (var s in state.Values)
            foreach (var t in s.Values) t.Dispose();
        state.Clear();
        GC.SuppressFinalize(this);
    }

    /// <summary>Scales gradients so their global L2 norm is at most max_norm; returns the norm before.</summary>
    public static double clip_grad_norm_(IEnumerable<Parameter> parameters, double max_norm)
    {
        using var scope = torch.NewDisposeScope();
        var grads = parameters.Select(p => p.grad).Where(g => g is not null).Cast<Tensor>().ToList();
        if (grads.Count == 0) return 0;
        var sq = grads.Select(g => g.pow(2).sum()).ToList();
        var total = Math.Sqrt(torch.stack(sq).sum().item<double>());
        var coef = max_norm / (total + 1e-6);
        if (coef < 1)
            using (torch.no_grad())
                foreach (var g in grads) g.mul_(coef);
        return total;
    }
}

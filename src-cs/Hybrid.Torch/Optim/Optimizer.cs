using TorchSharp.Modules;

namespace Hybrid.Torch.Optim;

/// <summary>
/// TorchSharp's SGD or AdamW over named groups with learning-rate multipliers: what TorchSharp's
/// ParamGroups lack is a multiplier that survives a schedule setting the base rate every step.
/// The update itself is TorchSharp's. zero_grad sets gradients to none, as PyTorch does by
/// default, so a parameter that got no gradient in a step is not moved by momentum or decay.
/// </summary>
public sealed class Optimizer : IDisposable
{
    private readonly OptimizerHelper inner;

    private Optimizer(OptimizerHelper inner, IReadOnlyList<ParamGroup> groups, double lr)
    {
        this.inner = inner;
        param_groups = groups;
        set_lr(lr);
    }

    private static List<ParamGroup> Check(IEnumerable<ParamGroup> groups)
    {
        var list = groups.ToList();
        if (list.Count == 0 || list.All(g => g.parameters.Count == 0)) throw new ArgumentException("optimizer got no parameters");
        return list;
    }

    /// <summary>SGD with momentum and L2 weight decay (PyTorch's torch.optim.SGD).</summary>
    public static Optimizer SGD(IEnumerable<ParamGroup> groups, double lr, double momentum = 0.0, double weight_decay = 0.0, bool nesterov = false)
    {
        var gs = Check(groups);
        var tg = gs.Select(g => new TorchSharp.Modules.SGD.ParamGroup(g.parameters, lr * g.lr_mult, momentum, 0, g.weight_decay ?? weight_decay, nesterov)).ToList();
        return new Optimizer(torch.optim.SGD(tg, lr, momentum, 0, weight_decay, nesterov), gs, lr);
    }

    /// <summary>AdamW with decoupled weight decay (PyTorch's torch.optim.AdamW).</summary>
    public static Optimizer AdamW(IEnumerable<ParamGroup> groups, double lr, double weight_decay = 0.01, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
    {
        var gs = Check(groups);
        var tg = gs.Select(g => new TorchSharp.Modules.AdamW.ParamGroup(g.parameters, lr * g.lr_mult, beta1, beta2, eps, g.weight_decay ?? weight_decay)).ToList();
        return new Optimizer(torch.optim.AdamW(tg, lr, beta1, beta2, eps, weight_decay), gs, lr);
    }

    public IReadOnlyList<ParamGroup> param_groups { get; }

    /// <summary>TorchSharp's optimizer (its groups are in param_groups' order).</summary>
    public OptimizerHelper torch_optimizer => inner;

    /// <summary>Steps taken.</summary>
    public long step_count { get; private set; }

    /// <summary>The rate each group uses at the next step.</summary>
    public IReadOnlyList<double> lrs => inner.ParamGroups.Select(g => g.LearningRate).ToList();

    /// <summary>Sets every group's rate to base_lr x its multiplier.</summary>
    public void set_lr(double base_lr)
    {
        var i = 0;
        foreach (var g in inner.ParamGroups) g.LearningRate = base_lr * param_groups[i++].lr_mult;
    }

    public void zero_grad()
    {
        foreach (var g in param_groups)
            foreach (var p in g.parameters)
                if (p.grad is { } grad) { p.grad = null; grad.Dispose(); }
    }

    public void step()
    {
        using var scope = torch.NewDisposeScope();
        inner.step();
        step_count++;
    }

    /// <summary>The optimizer's state (moments, momentum buffers, per-parameter steps) in
    /// TorchSharp's own binary form, for a checkpoint.</summary>
    public byte[] SaveState()
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true)) inner.save_state_dict(w);
        return ms.ToArray();
    }

    /// <summary>Restores what SaveState wrote, and the step count; the learning rates stay those
    /// set since (a schedule sets them every step).</summary>
    public void LoadState(byte[] state, long steps)
    {
        var lrs = this.lrs;
        using (var r = new BinaryReader(new MemoryStream(state)))
        {
            try { inner.load_state_dict(r); }
            catch (Exception e) when (e is EndOfStreamException or InvalidDataException or ArgumentException or IndexOutOfRangeException)
            {
                throw new InvalidDataException($"optimizer state does not match this optimizer ({inner.GetType().Name}, {param_groups.Count} groups): {e.Message}", e);
            }
        }
        var i = 0;
        foreach (var g in inner.ParamGroups) g.LearningRate = lrs[i++];
        step_count = steps;
    }

    /// <summary>Scales gradients so their global L2 norm is at most max_norm; returns the norm before.</summary>
    public static double clip_grad_norm_(IEnumerable<Parameter> parameters, double max_norm)
    {
        var ps = parameters.Where(p => p.grad is not null).ToList();
        return ps.Count == 0 ? 0 : torch.nn.utils.clip_grad_norm_(ps, max_norm);
    }

    public void Dispose() => inner.Dispose();
}

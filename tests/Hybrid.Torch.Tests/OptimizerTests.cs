using System.Text.Json;
using Hybrid.Torch.Modules;
using Hybrid.Torch.Optim;

namespace Hybrid.Torch.Tests;

/// <summary>
/// Optimizer trajectories on a small least-squares problem against torch.optim in Debian's
/// python3-torch 1.13 (fixture "optim" in reference_ops.json: 5 steps, parameters recorded
/// after each), parameter groups with lr_mult, set_lr, and clip_grad_norm_.
/// </summary>
public class OptimizerTests
{
    /// <summary>w (4, 3), b (3) at the fixture's start, and the loss mean((X w + b - Y)^2).</summary>
    private sealed class Problem : IDisposable
    {
        public readonly Tensor X, Y;
        public readonly Parameter W, B;

        public Problem()
        {
            var p = Reference.Root.GetProperty("optim_problem");
            X = Reference.ToTensor(p.GetProperty("X"));                            // (8, 4)
            Y = Reference.ToTensor(p.GetProperty("Y"));                            // (8, 3)
            using var w0 = Reference.ToTensor(p.GetProperty("W0"));
            using var b0 = Reference.ToTensor(p.GetProperty("B0"));
            W = new Parameter(w0);                                                 // (4, 3)
            B = new Parameter(b0);                                                 // (3)
        }

        public void Backward()
        {
            using var scope = torch.NewDisposeScope();
            var r = X.matmul(W) + B - Y;                                           // (8, 3)
            r.pow(2).mean().backward();
        }

        public double[] Flat()
        {
            using var w = W.detach();
            using var b = B.detach();
            return w.data<double>().Concat(b.data<double>()).ToArray();
        }

        public void Dispose() { X.Dispose(); Y.Dispose(); W.Dispose(); B.Dispose(); }
    }

    private static void Follows(string name, Func<Problem, Optimizer> make)
    {
        var c = Reference.Root.GetProperty("optim").GetProperty(name);
        var expected = c.GetProperty("trajectory").EnumerateArray().Select(Reference.DoubleArray).ToList();
        using var p = new Problem();
        using var opt = make(p);
        for (var step = 0; step < expected.Count; step++)
        {
            opt.zero_grad();
            p.Backward();
            opt.step();
            Close.Equal(expected[step], p.Flat(), 1e-12, 1e-10, $"{name} after step {step + 1} vs {c.GetProperty("expr").GetString()} [{c.GetProperty("source").GetString()}]");
        }
        Assert.Equal(expected.Count, opt.step_count);
    }

    [Fact]
    public void Sgd_plain() => Follows("sgd_plain", p => new SGD(new[] { p.W, p.B }, lr: 0.1));

    [Fact]
    public void Sgd_momentum() => Follows("sgd_momentum", p => new SGD(new[] { p.W, p.B }, lr: 0.1, momentum: 0.9));

    [Fact]
    public void Sgd_nesterov_with_weight_decay() =>
        Follows("sgd_nesterov_wd", p => new SGD(new[] { p.W, p.B }, lr: 0.05, momentum: 0.9, weight_decay: 0.01, nesterov: true));

    [Fact]
    public void Sgd_param_groups_with_lr_mult()
    {
        // PyTorch: groups [w] at lr 0.02 and [b] at lr 0.2; here one base lr and "x10" on b's group.
        Follows("sgd_groups_lr_x10", p => new SGD(new[] { new ParamGroup(new[] { p.W }), new ParamGroup(new[] { p.B }, lr_mult: 10) },
            lr: 0.02, momentum: 0.5, weight_decay: 0.001));
    }

    [Fact]
    public void AdamW_default() => Follows("adamw_default", p => new AdamW(new[] { p.W, p.B }, lr: 0.01));

    [Fact]
    public void AdamW_custom_betas_eps_weight_decay() =>
        Follows("adamw_custom", p => new AdamW(new[] { p.W, p.B }, lr: 0.05, beta1: 0.8, beta2: 0.99, eps: 1e-6, weight_decay: 0.1));

    [Fact]
    public void Set_lr_applies_each_group_multiplier_and_drives_the_step()
    {
        using var p = new Problem();
        using var opt = new SGD(new[] { new ParamGroup(new[] { p.W }), new ParamGroup(new[] { p.B }, lr_mult: 10, name: "head") }, lr: 0.1);
        Assert.Equal(new[] { 0.1, 1.0 }, opt.param_groups.Select(g => g.lr));
        opt.set_lr(0.0);                                                           // a schedule at zero: nothing moves
        var before = p.Flat();
        p.Backward();
        opt.step();
        Assert.Equal(before, p.Flat());
        opt.set_lr(0.01);
        Assert.Equal(0.1, opt.param_groups[1].lr, 12);
        opt.step();
        Assert.NotEqual(before, p.Flat());
    }

    [Fact]
    public void Zero_grad_clears_gradients()
    {
        using var p = new Problem();
        using var opt = new SGD(new[] { p.W, p.B }, lr: 0.1);
        p.Backward();
        using (var g = p.W.grad) Assert.NotNull(g);
        opt.zero_grad();
        Assert.Null(p.W.grad);
        Assert.Null(p.B.grad);
    }

    [Fact]
    public void Clip_grad_norm_matches_pytorch()
    {
        var c = Reference.Root.GetProperty("clip_grad_norm");
        using var p = new Problem();
        p.Backward();
        var total = Optimizer.clip_grad_norm_(new[] { p.W, p.B }, c.GetProperty("max_norm").GetDouble());
        Assert.Equal(c.GetProperty("total_norm").GetDouble(), total, 12);
        using var gw = p.W.grad!;
        using var gb = p.B.grad!;
        Close.Equal(Reference.DoubleArray(c.GetProperty("clipped_grads")), gw.data<double>().Concat(gb.data<double>()).ToArray(), 1e-12, 1e-10,
            $"clip_grad_norm_: {c.GetProperty("expr").GetString()}");
        // Under the bound nothing changes.
        var clipped = gw.data<double>();
        var again = Optimizer.clip_grad_norm_(new[] { p.W, p.B }, 100);
        Assert.True(again <= 0.5 + 1e-9, $"norm after clipping {again}");
        using var gw2 = p.W.grad!;
        Assert.Equal(clipped, gw2.data<double>());
    }

    [Fact]
    public void Invalid_configurations_are_rejected()
    {
        using var p = new Problem();
        Assert.Throws<ArgumentException>(() => new SGD(new[] { p.W }, lr: 0.1, nesterov: true));
        Assert.Throws<ArgumentException>(() => new SGD(Array.Empty<Parameter>(), lr: 0.1));
    }
}

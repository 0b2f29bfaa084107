namespace Hybrid.Torch.Tests;

/// <summary>
/// Float64 gradient checker. For f: inputs -> output it takes the scalar L = sum(f(x) * r) with a
/// fixed random projection r (so every output element matters, with different weights),
/// compares autograd's dL/dx with central differences (L(x + eps e_j) - L(x - eps e_j)) / 2 eps
/// for every element j of every checked input, and reports the worst element.
/// </summary>
internal static class GradCheck
{
    /// <summary>The element where autograd and finite differences disagree most.</summary>
    public sealed record Worst(int Input, long[] Index, double Analytic, double Numeric, double Excess, long Checked)
    {
        public bool Passed => Excess <= 1;
        public override string ToString() =>
            $"input {Input} element [{string.Join(", ", Index)}]: autograd {Analytic:R}, finite differences {Numeric:R} " +
            $"(error {Excess:F2}x the tolerance; {Checked} elements checked)";
    }

    /// <summary>Runs the check. Checked inputs: the floating-point ones unless `check` says otherwise.</summary>
    public static Worst Run(Func<Tensor[], Tensor> f, Tensor[] inputs, bool[]? check = null, double eps = 1e-6, double atol = 1e-7, double rtol = 1e-5)
    {
        check ??= inputs.Select(t => t.dtype.IsFloatingPoint()).ToArray();
        for (var i = 0; i < inputs.Length; i++)
            if (check[i] && inputs[i].dtype != ScalarType.Float64)
                throw new ArgumentException($"gradcheck: input {i} is {inputs[i].dtype}; finite differences need Float64");

        using var scope = torch.NewDisposeScope();
        var shapes = inputs.Select(t => t.shape).ToArray();
        var values = inputs.Select(t => t.dtype.IsFloatingPoint() ? t.data<double>() : null).ToArray();

        // Autograd: leaves that require grad, one backward of the projected sum.
        var leaves = inputs.Select((t, i) => { var c = t.detach().clone(); if (check[i]) c.requires_grad = true; return c; }).ToArray();
        var output = f(leaves);                                                   // any shape
        var r = Projection(output.shape);
        (output * r).sum().backward();
        var analytic = leaves.Select((l, i) => check[i] ? (l.grad?.data<double>() ?? new double[values[i]!.Length]) : null).ToArray();

        // Finite differences, one element at a time, without autograd.
        double Loss(int which, double[] perturbed)
        {
            using var s = torch.NewDisposeScope();
            using var _ = torch.no_grad();
            var xs = inputs.Select((t, i) => i == which ? torch.tensor(perturbed, shapes[i]) : t.alias()).ToArray();
            return (f(xs) * r).sum().item<double>();
        }

        var worst = new Worst(-1, Array.Empty<long>(), 0, 0, 0, 0);
        long count = 0;
        for (var i = 0; i < inputs.Length; i++)
        {
            if (!check[i]) continue;
            var x = (double[])values[i]!.Clone();
            for (var j = 0; j < x.Length; j++)
            {
                var orig = x[j];
                x[j] = orig + eps;
                var plus = Loss(i, x);
                x[j] = orig - eps;
                var minus = Loss(i, x);
                x[j] = orig;
                var numeric = (plus - minus) / (2 * eps);
                var a = analytic[i]![j];
                var excess = Math.Abs(a - numeric) / (atol + rtol * Math.Abs(numeric));
                if (double.IsNaN(a) || double.IsNaN(numeric)) excess = double.PositiveInfinity;
                count++;
                if (excess >= worst.Excess || worst.Input < 0) worst = new Worst(i, Unravel(j, shapes[i]), a, numeric, excess, 0);
            }
        }
        return worst with { Checked = count };
    }

    /// <summary>Asserts the gradients of every floating-point input agree with finite differences.</summary>
    public static void Check(string what, Func<Tensor[], Tensor> f, params Tensor[] inputs)
    {
        var w = Run(f, inputs);
        Assert.True(w.Checked > 0, $"{what}: nothing to check");
        Assert.True(w.Passed, $"{what}: gradient mismatch at {w}");
    }

    /// <summary>Deterministic weights in [-1, 1) shaped like the output (0-d included).</summary>
    private static Tensor Projection(long[] shape)
    {
        var n = shape.Aggregate(1L, (a, b) => a * b);
        var rng = new Random(12345);
        var w = new double[n];
        for (var i = 0; i < n; i++) w[i] = rng.NextDouble() * 2 - 1;
        return torch.tensor(w, shape);
    }

    private static long[] Unravel(long flat, long[] shape)
    {
        var idx = new long[shape.Length];
        for (var d = shape.Length - 1; d >= 0; d--)
        {
            idx[d] = shape[d] == 0 ? 0 : flat % shape[d];
            flat = shape[d] == 0 ? 0 : flat / shape[d];
        }
        return idx;
    }
}

namespace Hybrid.Torch;

// Pointwise maths, arithmetic operators with broadcasting, comparisons and in-place updates.
public partial class Tensor
{
    private Tensor U(Func<TensorHandle, IntPtr> f, string op) => Wrap(f(Handle), op);
    private Tensor B(Func<TensorHandle, TensorHandle, IntPtr> f, Tensor o, string op)
    {
        var r = Wrap(f(Handle, o.Handle), op);
        GC.KeepAlive(o);
        return r;
    }
    private Tensor S(Func<TensorHandle, double, IntPtr> f, double s, string op) => Wrap(f(Handle, s), op);

    public Tensor neg() => U(Native.hy_neg, "neg");
    public Tensor abs() => U(Native.hy_abs, "abs");
    public Tensor exp() => U(Native.hy_exp, "exp");
    public Tensor log() => U(Native.hy_log, "log");
    public Tensor log1p() => U(Native.hy_log1p, "log1p");
    public Tensor expm1() => U(Native.hy_expm1, "expm1");
    public Tensor sqrt() => U(Native.hy_sqrt, "sqrt");
    public Tensor rsqrt() => U(Native.hy_rsqrt, "rsqrt");
    public Tensor reciprocal() => U(Native.hy_reciprocal, "reciprocal");
    public Tensor sigmoid() => U(Native.hy_sigmoid, "sigmoid");
    public Tensor tanh() => U(Native.hy_tanh, "tanh");
    public Tensor relu() => U(Native.hy_relu, "relu");
    public Tensor gelu() => U(Native.hy_gelu, "gelu");
    public Tensor sin() => U(Native.hy_sin, "sin");
    public Tensor cos() => U(Native.hy_cos, "cos");
    public Tensor floor() => U(Native.hy_floor, "floor");
    public Tensor ceil() => U(Native.hy_ceil, "ceil");
    public Tensor round() => U(Native.hy_round, "round");
    public Tensor sign() => U(Native.hy_sign, "sign");
    public Tensor logical_not() => U(Native.hy_logical_not, "logical_not");
    public Tensor isnan() => U(Native.hy_isnan, "isnan");
    public Tensor isfinite() => U(Native.hy_isfinite, "isfinite");
    public Tensor square() => mul(this);

    public Tensor add(Tensor o) => B(Native.hy_add, o, "add");
    public Tensor sub(Tensor o) => B(Native.hy_sub, o, "sub");
    public Tensor mul(Tensor o) => B(Native.hy_mul, o, "mul");
    public Tensor div(Tensor o) => B(Native.hy_div, o, "div");
    public Tensor pow(Tensor o) => B(Native.hy_pow, o, "pow");
    public Tensor remainder(Tensor o) => B(Native.hy_remainder, o, "remainder");
    public Tensor maximum(Tensor o) => B(Native.hy_maximum, o, "maximum");
    public Tensor minimum(Tensor o) => B(Native.hy_minimum, o, "minimum");
    public Tensor eq(Tensor o) => B(Native.hy_eq, o, "eq");
    public Tensor ne(Tensor o) => B(Native.hy_ne, o, "ne");
    public Tensor lt(Tensor o) => B(Native.hy_lt, o, "lt");
    public Tensor le(Tensor o) => B(Native.hy_le, o, "le");
    public Tensor gt(Tensor o) => B(Native.hy_gt, o, "gt");
    public Tensor ge(Tensor o) => B(Native.hy_ge, o, "ge");
    public Tensor logical_and(Tensor o) => B(Native.hy_logical_and, o, "logical_and");
    public Tensor logical_or(Tensor o) => B(Native.hy_logical_or, o, "logical_or");
    public Tensor logical_xor(Tensor o) => B(Native.hy_logical_xor, o, "logical_xor");
    public Tensor matmul(Tensor o) => B(Native.hy_matmul, o, "matmul");
    public Tensor mm(Tensor o) => B(Native.hy_mm, o, "mm");
    public Tensor bmm(Tensor o) => B(Native.hy_bmm, o, "bmm");

    public Tensor add(double s) => S(Native.hy_add_scalar, s, "add");
    public Tensor sub(double s) => S(Native.hy_sub_scalar, s, "sub");
    public Tensor mul(double s) => S(Native.hy_mul_scalar, s, "mul");
    public Tensor div(double s) => S(Native.hy_div_scalar, s, "div");
    public Tensor pow(double s) => S(Native.hy_pow_scalar, s, "pow");
    public Tensor remainder(double s) => S(Native.hy_remainder_scalar, s, "remainder");
    public Tensor eq(double s) => S(Native.hy_eq_scalar, s, "eq");
    public Tensor ne(double s) => S(Native.hy_ne_scalar, s, "ne");
    public Tensor lt(double s) => S(Native.hy_lt_scalar, s, "lt");
    public Tensor le(double s) => S(Native.hy_le_scalar, s, "le");
    public Tensor gt(double s) => S(Native.hy_gt_scalar, s, "gt");
    public Tensor ge(double s) => S(Native.hy_ge_scalar, s, "ge");
    public Tensor leaky_relu(double slope = 0.01) => S(Native.hy_leaky_relu, slope, "leaky_relu");

    /// <summary>Clamp to [min, max]; either bound may be omitted.</summary>
    public Tensor clamp(double? min = null, double? max = null) =>
        Wrap(Native.hy_clamp(Handle, min ?? 0, max ?? 0, min.HasValue, max.HasValue), "clamp");
    public Tensor clamp_min(double min) => clamp(min: min);
    public Tensor clamp_max(double max) => clamp(max: max);

    public Tensor masked_fill(Tensor mask, double value)
    {
        var r = Wrap(Native.hy_masked_fill(Handle, mask.Handle, value), "masked_fill");
        GC.KeepAlive(mask);
        return r;
    }

    public bool allclose(Tensor o, double rtol = 1e-5, double atol = 1e-8, bool equal_nan = false)
    {
        var r = Native.hy_allclose(Handle, o.Handle, rtol, atol, equal_nan);
        Check(r, "allclose");
        return r == 1;
    }

    /// <summary>Same shape and elements (torch.equal).</summary>
    public bool equal(Tensor o)
    {
        var r = Native.hy_equal(Handle, o.Handle);
        Check(r, "equal");
        return r == 1;
    }

    // ---- operators (broadcasting) -----------------------------------------------------------
    public static Tensor operator +(Tensor a, Tensor b) => a.add(b);
    public static Tensor operator -(Tensor a, Tensor b) => a.sub(b);
    public static Tensor operator *(Tensor a, Tensor b) => a.mul(b);
    public static Tensor operator /(Tensor a, Tensor b) => a.div(b);
    public static Tensor operator +(Tensor a, double s) => a.add(s);
    public static Tensor operator -(Tensor a, double s) => a.sub(s);
    public static Tensor operator *(Tensor a, double s) => a.mul(s);
    public static Tensor operator /(Tensor a, double s) => a.div(s);
    public static Tensor operator +(double s, Tensor a) => a.add(s);
    public static Tensor operator -(double s, Tensor a) => a.S(Native.hy_rsub_scalar, s, "rsub");
    public static Tensor operator *(double s, Tensor a) => a.mul(s);
    public static Tensor operator /(double s, Tensor a) => a.S(Native.hy_rdiv_scalar, s, "rdiv");
    public static Tensor operator -(Tensor a) => a.neg();
    public static Tensor operator %(Tensor a, double s) => a.remainder(s);
    public static Tensor operator &(Tensor a, Tensor b) => a.logical_and(b);
    public static Tensor operator |(Tensor a, Tensor b) => a.logical_or(b);
    public static Tensor operator ^(Tensor a, Tensor b) => a.logical_xor(b);
    public static Tensor operator !(Tensor a) => a.logical_not();

    // ---- in place: mutate this tensor and return it (PyTorch's trailing underscore) ----------
    public Tensor add_(Tensor o, double alpha = 1) { Check(Native.hy_add_(Handle, o.Handle, alpha), "add_"); GC.KeepAlive(o); return this; }
    public Tensor sub_(Tensor o) { Check(Native.hy_sub_(Handle, o.Handle), "sub_"); GC.KeepAlive(o); return this; }
    public Tensor mul_(Tensor o) { Check(Native.hy_mul_(Handle, o.Handle), "mul_"); GC.KeepAlive(o); return this; }
    public Tensor div_(Tensor o) { Check(Native.hy_div_(Handle, o.Handle), "div_"); GC.KeepAlive(o); return this; }
    public Tensor add_(double s) { Check(Native.hy_add_scalar_(Handle, s), "add_"); return this; }
    public Tensor mul_(double s) { Check(Native.hy_mul_scalar_(Handle, s), "mul_"); return this; }
    public Tensor addcmul_(Tensor t1, Tensor t2, double value = 1) { Check(Native.hy_addcmul_(Handle, t1.Handle, t2.Handle, value), "addcmul_"); return this; }
    public Tensor addcdiv_(Tensor t1, Tensor t2, double value = 1) { Check(Native.hy_addcdiv_(Handle, t1.Handle, t2.Handle, value), "addcdiv_"); return this; }
    public Tensor lerp_(Tensor end, double weight) { Check(Native.hy_lerp_(Handle, end.Handle, weight), "lerp_"); return this; }
    public Tensor copy_(Tensor src) { Check(Native.hy_copy_(Handle, src.Handle), "copy_"); GC.KeepAlive(src); return this; }
    public Tensor zero_() { Check(Native.hy_zero_(Handle), "zero_"); return this; }
    public Tensor fill_(double v) { Check(Native.hy_fill_(Handle, v), "fill_"); return this; }
    public Tensor clamp_(double min, double max) { Check(Native.hy_clamp_(Handle, min, max), "clamp_"); return this; }
    public Tensor masked_fill_(Tensor mask, double v) { Check(Native.hy_masked_fill_(Handle, mask.Handle, v), "masked_fill_"); return this; }
    public Tensor uniform_(double from = 0, double to = 1) { Check(Native.hy_uniform_(Handle, from, to), "uniform_"); return this; }
    public Tensor normal_(double mean = 0, double std = 1) { Check(Native.hy_normal_(Handle, mean, std), "normal_"); return this; }
    public Tensor bernoulli_(double p) { Check(Native.hy_bernoulli_(Handle, p), "bernoulli_"); return this; }
}

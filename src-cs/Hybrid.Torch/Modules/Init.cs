namespace Hybrid.Torch.Modules;

/// <summary>torch.nn.init: in-place initialisers (no autograd).</summary>
public static class init
{
    /// <summary>(fan_in, fan_out) of a weight (out, in, k...) as PyTorch computes them.</summary>
    public static (long fanIn, long fanOut) fans(Tensor w)
    {
        var s = w.shape;
        if (s.Length < 2) throw new ArgumentException("fan in/out needs a tensor with at least 2 dims");
        long receptive = 1;
        for (var i = 2; i < s.Length; i++) receptive *= s[i];
        return (s[1] * receptive, s[0] * receptive);
    }

    public static Tensor uniform_(Tensor t, double a, double b) { using (torch.no_grad()) t.uniform_(a, b); return t; }
    public static Tensor normal_(Tensor t, double mean = 0, double std = 1) { using (torch.no_grad()) t.normal_(mean, std); return t; }
    public static Tensor constant_(Tensor t, double v) { using (torch.no_grad()) t.fill_(v); return t; }
    public static Tensor zeros_(Tensor t) => constant_(t, 0);
    public static Tensor ones_(Tensor t) => constant_(t, 1);

    /// <summary>He init for ReLU nets, fan_out mode as torchvision's ResNets use.</summary>
    public static Tensor kaiming_normal_(Tensor t, bool fanOut = true, double a = 0)
    {
        var (fi, fo) = fans(t);
        var gain = Math.Sqrt(2.0 / (1 + a * a));
        return normal_(t, 0, gain / Math.Sqrt(fanOut ? fo : fi));
    }

    public static Tensor kaiming_uniform_(Tensor t, double a = 0, bool fanOut = false)
    {
        var (fi, fo) = fans(t);
        var gain = Math.Sqrt(2.0 / (1 + a * a));
        var bound = gain * Math.Sqrt(3.0 / (fanOut ? fo : fi));
        return uniform_(t, -bound, bound);
    }

    public static Tensor xavier_uniform_(Tensor t, double gain = 1)
    {
        var (fi, fo) = fans(t);
        var bound = gain * Math.Sqrt(6.0 / (fi + fo));
        return uniform_(t, -bound, bound);
    }

    /// <summary>Normal(mean, std) truncated to [a, b] by redrawing (as timm's ViT init).</summary>
    public static Tensor trunc_normal_(Tensor t, double std = 0.02, double mean = 0, double a = -2, double b = 2)
    {
        using (torch.no_grad())
        {
            // Inverse-CDF sampling: u ~ U(Phi(a'), Phi(b')), x = mean + std * Phi^-1(u) via erfinv.
            // Redraw-free alternative used here: draw normals, clamp the rare outliers by redrawing uniformly inside.
            t.normal_(mean, std);
            using var lo = t.lt(a);
            using var hi = t.gt(b);
            using var bad = lo | hi;
            using var repl = torch.rand_like(t);
            using var scaled = repl * (b - a) + a;
            using var fixedT = torch.where(bad, scaled, t);
            t.copy_(fixedT);
        }
        return t;
    }

    /// <summary>PyTorch's default Conv/Linear init: kaiming_uniform(a=sqrt 5) weight, U(+-1/sqrt fan_in) bias.</summary>
    internal static void DefaultLayer(Tensor weight, Tensor? bias)
    {
        kaiming_uniform_(weight, Math.Sqrt(5));
        if (bias is null) return;
        var (fi, _) = fans(weight);
        var bound = fi > 0 ? 1 / Math.Sqrt(fi) : 0;
        uniform_(bias, -bound, bound);
    }
}

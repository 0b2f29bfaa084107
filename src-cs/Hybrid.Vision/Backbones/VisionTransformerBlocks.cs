using TorchSharp.Modules;
using F = TorchSharp.torch.nn.functional;

namespace Hybrid.Vision.Backbones;

/// <summary>Multi-head self-attention with timm's names: qkv (D -> 3D, with bias) and proj.</summary>
public sealed class Attention : nn.Module<Tensor, Tensor>
{
    private readonly Linear qkv, proj;
    private readonly long heads;

    public Attention(long dim, long heads) : base(nameof(Attention))
    {
        if (dim % heads != 0) throw new ArgumentException($"embedding dim {dim} is not divisible by {heads} heads");
        this.heads = heads;
        qkv = this.Child("qkv", nn.Linear(dim, dim * 3));
        proj = this.Child("proj", nn.Linear(dim, dim));
    }

    /// <summary>Children are registered by name above; no field reflection.</summary>
    protected override void RegisterComponents() { }

    public override Tensor forward(Tensor x)                                  // (B, N, D)
    {
        var s = x.shape;
        long b = s[0], n = s[1], d = s[2], hd = d / heads;
        using var q3 = qkv.forward(x);                                        // (B, N, 3D)
        using var r = q3.reshape(b, n, 3, heads, hd);                         // (B, N, 3, h, hd)
        using var p = r.permute(2, 0, 3, 1, 4);                               // (3, B, h, N, hd)
        using var q = p.select(0, 0);                                         // (B, h, N, hd)
        using var k = p.select(0, 1);
        using var v = p.select(0, 2);
        using var kt = k.transpose(-2, -1);                                   // (B, h, hd, N)
        using var logits = q.matmul(kt);                                      // (B, h, N, N)
        using var scaled = logits * Math.Pow(hd, -0.5);
        using var attn = scaled.softmax(-1);                                  // (B, h, N, N)
        using var o = attn.matmul(v);                                         // (B, h, N, hd)
        using var ot = o.transpose(1, 2);                                     // (B, N, h, hd)
        using var merged = ot.reshape(b, n, d);                               // (B, N, D)
        return proj.forward(merged);                                          // (B, N, D)
    }
}

/// <summary>timm's Mlp: fc1 (D -> 4D), exact GELU, fc2 (4D -> D).</summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1, fc2;

    public Mlp(long dim, long hidden) : base(nameof(Mlp))
    {
        fc1 = this.Child("fc1", nn.Linear(dim, hidden));
        fc2 = this.Child("fc2", nn.Linear(hidden, dim));
    }

    /// <summary>Children are registered by name above; no field reflection.</summary>
    protected override void RegisterComponents() { }

    public override Tensor forward(Tensor x)                                  // (B, N, D)
    {
        using var h = fc1.forward(x);                                         // (B, N, 4D)
        using var a = h.gelu();
        return fc2.forward(a);                                                // (B, N, D)
    }
}

/// <summary>Pre-norm transformer block (timm names norm1, attn, norm2, mlp; LayerNorm eps 1e-6)
/// with optional stochastic depth on both residual branches.</summary>
public sealed class TransformerBlock : nn.Module<Tensor, Tensor>
{
    private readonly LayerNorm norm1, norm2;
    private readonly Attention attn;
    private readonly Mlp mlp;
    private readonly double dropPath;

    public TransformerBlock(long dim, long heads, double dropPath) : base(nameof(TransformerBlock))
    {
        this.dropPath = dropPath;
        norm1 = this.Child("norm1", nn.LayerNorm(dim, eps: 1e-6));
        attn = this.Child("attn", new Attention(dim, heads));
        norm2 = this.Child("norm2", nn.LayerNorm(dim, eps: 1e-6));
        mlp = this.Child("mlp", new Mlp(dim, dim * 4));
    }

    /// <summary>Children are registered by name above; no field reflection.</summary>
    protected override void RegisterComponents() { }

    public override Tensor forward(Tensor x)                                  // (B, N, D)
    {
        using var n1 = norm1.forward(x);
        using var a = attn.forward(n1);                                       // (B, N, D)
        using var da = DropPath(a);
        using var x1 = x + da;
        using var n2 = norm2.forward(x1);
        using var m = mlp.forward(n2);                                        // (B, N, D)
        using var dm = DropPath(m);
        return x1 + dm;                                                       // (B, N, D)
    }

    /// <summary>Zeroes the whole branch of a sample with probability p in training, scaling the
    /// kept ones by 1/(1-p) (timm's drop_path); identity in eval.</summary>
    private Tensor DropPath(Tensor branch)                                   // (B, N, D)
    {
        if (!training || dropPath <= 0) return branch.alias();
        var keep = 1 - dropPath;
        using var mask = torch.empty(new[] { branch.size(0), 1, 1 }, branch.dtype, branch.device).bernoulli_(keep); // (B, 1, 1), on the branch's device
        using var scaled = mask / keep;
        return branch * scaled;
    }
}

/// <summary>timm's PatchEmbed: a stride-P PxP convolution named proj.</summary>
public sealed class PatchEmbed : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d proj;
    public long PatchSize { get; }

    public PatchEmbed(long patch, long dim) : base(nameof(PatchEmbed))
    {
        PatchSize = patch;
        proj = this.Child("proj", nn.Conv2d(3, dim, patch, stride: patch));
    }

    /// <summary>Children are registered by name above; no field reflection.</summary>
    protected override void RegisterComponents() { }

    public override Tensor forward(Tensor x) => proj.forward(x);             // (B, 3, H, W) -> (B, D, H/P, W/P)
}

/// <summary>Resizing of a (1, g*g, D) grid of position embeddings.</summary>
public static class PositionEmbedding
{
    /// <summary>
    /// Resamples patch position embeddings (1, gh*gw, D) laid out row-major on a gh x gw grid to
    /// an h x w grid with F.interpolate (align_corners = false, no antialiasing): bicubic is
    /// cubic convolution with a = -0.75 and border-clamped taps, as PyTorch's.
    /// </summary>
    public static Tensor Resample(Tensor pos, long gh, long gw, long h, long w, PosEmbedInterpolation mode)
    {
        var s = pos.shape;
        if (s.Length != 3 || s[0] != 1 || s[1] != gh * gw)
            throw new ArgumentException($"position embedding must be (1, {gh}*{gw}, D), got [{string.Join(", ", s)}]");
        var d = s[2];
        if (gh == h && gw == w) return pos.alias();
        using var grid2d = pos.reshape(1, gh, gw, d);                         // (1, gh, gw, D)
        using var img = grid2d.permute(0, 3, 1, 2);                           // (1, D, gh, gw)
        var interpolation = mode == PosEmbedInterpolation.Bilinear ? InterpolationMode.Bilinear : InterpolationMode.Bicubic;
        var resized = F.interpolate(img, new[] { h, w }, mode: interpolation, align_corners: false); // (1, D, h, w)
        using (resized)
        {
            using var flat = resized.flatten(2);                              // (1, D, h*w)
            using var tokens = flat.transpose(1, 2);                          // (1, h*w, D)
            return tokens.contiguous();
        }
    }
}

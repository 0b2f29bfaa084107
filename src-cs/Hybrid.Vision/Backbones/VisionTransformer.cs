using TorchSharp.Modules;

namespace Hybrid.Vision.Backbones;

/// <summary>Size of a ViT (patch 16, MLP ratio 4, qkv bias, LayerNorm eps 1e-6, class token).</summary>
public sealed record ViTConfig(long Dim, int Depth, long Heads, long Patch = 16, long TrainGrid = 14)
{
    /// <summary>ViT-S/16 = DeiT-S (Touvron et al. 2021): D 384, 12 blocks, 6 heads.</summary>
    public static readonly ViTConfig Small16 = new(384, 12, 6);
    /// <summary>ViT-B/16 (Dosovitskiy et al. 2021): D 768, 12 blocks, 12 heads.</summary>
    public static readonly ViTConfig Base16 = new(768, 12, 12);
}

/// <summary>
/// Vision Transformer with timm's parameter names (patch_embed.proj, cls_token, pos_embed,
/// blocks.N.*, norm; the ImageNet head.* is not part of the backbone and is reported as
/// ignored when a checkpoint has it). Any input size: the patch grid is floor(H/16) x
/// floor(W/16) and the 14x14 position embedding is resampled to it
/// (<see cref="PosEmbedInterpolation"/>; the class token's embedding is kept as is).
/// <para>Stages: "blocks.i" = patch tokens after block i (not normalised) and "norm" = patch tokens
/// after the final LayerNorm, each as a (B, D, H/16, W/16) map; the class token after the
/// final norm is <see cref="Features.ClassToken"/>. Final "norm"; low-level tap
/// "blocks.{depth-3}" (CoSA's aux_layer = -3, i.e. block 9 of 12). Output stride is always 16.</para>
/// </summary>
public sealed class VisionTransformer : Backbone
{
    private readonly PatchEmbed patch_embed;
    // Not readonly: Module.to(dtype / device) replaces parameters through their fields.
    private Parameter cls_token, pos_embed;
    private readonly ModuleList<TransformerBlock> blocks;
    private readonly LayerNorm norm;

    public override string Name { get; }
    public override FeatureInfo Info { get; }
    public ViTConfig Config { get; }
    public PosEmbedInterpolation Interpolation { get; }

    public VisionTransformer(string name, ViTConfig config, double dropPathRate = 0, PosEmbedInterpolation interpolation = PosEmbedInterpolation.Bicubic) : base(nameof(VisionTransformer))
    {
        if (dropPathRate is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(dropPathRate), dropPathRate, "drop-path rate must be in [0, 1)");
        Name = name;
        Config = config;
        Interpolation = interpolation;
        var d = config.Dim;
        patch_embed = this.Child("patch_embed", new PatchEmbed(config.Patch, d));
        cls_token = this.NewParameter("cls_token", torch.zeros(new[] { 1L, 1, d }));
        pos_embed = this.NewParameter("pos_embed", torch.zeros(new[] { 1L, config.TrainGrid * config.TrainGrid + 1, d }));
        blocks = this.Child("blocks", nn.ModuleList(
            Enumerable.Range(0, config.Depth).Select(i => new TransformerBlock(d, config.Heads, config.Depth > 1 ? dropPathRate * i / (config.Depth - 1) : dropPathRate)).ToArray()));
        norm = this.Child("norm", nn.LayerNorm(d, eps: 1e-6));

        Info = InfoFor(config);

        // timm's initialisation: truncated normal (std 0.02) for embeddings and Linear weights, zero biases.
        TruncatedNormal.Fill(pos_embed, 0.02);
        TruncatedNormal.Fill(cls_token, 0.02);
        foreach (var (_, m) in named_modules())
            if (m is Linear l)
            {
                TruncatedNormal.Fill(l.weight, 0.02);
                if (l.bias is not null) nn.init.zeros_(l.bias);
            }
    }

    /// <summary>Stages of a ViT (without building it).</summary>
    public static FeatureInfo InfoFor(ViTConfig config)
    {
        var stages = Enumerable.Range(0, config.Depth).Select(i => new StageInfo($"blocks.{i}", config.Dim, config.Patch)).ToList();
        stages.Add(new StageInfo("norm", config.Dim, config.Patch));
        return new FeatureInfo(stages, "norm", $"blocks.{Math.Max(0, config.Depth - 3)}");
    }

    public override bool IsIgnorableCheckpointKey(string key) => key.StartsWith("head.", StringComparison.Ordinal);

    /// <summary>A position embedding trained on another square grid (e.g. 384 px: 24x24) is
    /// resampled to this model's grid, as timm does when loading.</summary>
    public override Tensor? AdaptCheckpointTensor(string key, Tensor value, long[] expected)
    {
        if (key != "pos_embed" || value.dim() != 3 || value.size(0) != 1 || value.size(2) != expected[2]) return null;
        var n = value.size(1) - 1;
        var g = (long)Math.Round(Math.Sqrt(n));
        if (g * g != n) return null;
        using var cls = value.narrow(1, 0, 1);                                // (1, 1, D)
        using var patches = value.narrow(1, 1, n);                            // (1, g*g, D)
        using var resampled = PositionEmbedding.Resample(patches, g, g, Config.TrainGrid, Config.TrainGrid, Interpolation); // (1, G*G, D)
        return torch.cat(new[] { cls, resampled }, 1);                        // (1, 1+G*G, D)
    }

    public override Features forward(Tensor x)                                // (B, 3, H, W)
    {
        CheckInput(x, Config.Patch);
        var feats = new Features(Info);
        var b = x.size(0);
        var d = Config.Dim;
        try
        {
            using var grid = patch_embed.forward(x);                          // (B, D, h, w)
            long h = grid.size(2), w = grid.size(3);
            using var flat = grid.flatten(2);                                 // (B, D, h*w)
            using var patchTokens = flat.transpose(1, 2);                     // (B, h*w, D)
            using var cls = cls_token.expand(b, 1, d);                        // (B, 1, D)
            using var tokens0 = torch.cat(new Tensor[] { cls, patchTokens }, 1); // (B, 1+h*w, D)
            using var posPatches = pos_embed.narrow(1, 1, Config.TrainGrid * Config.TrainGrid); // (1, G*G, D)
            using var posCls = pos_embed.narrow(1, 0, 1);                     // (1, 1, D)
            using var posGrid = PositionEmbedding.Resample(posPatches, Config.TrainGrid, Config.TrainGrid, h, w, Interpolation); // (1, h*w, D)
            using var pos = torch.cat(new[] { posCls, posGrid }, 1);          // (1, 1+h*w, D)
            var cur = tokens0 + pos;                                          // (B, 1+h*w, D)
            for (var i = 0; i < blocks.Count; i++)
            {
                var next = blocks[i].forward(cur);                            // (B, 1+h*w, D)
                cur.Dispose();
                cur = next;
                feats.Add($"blocks.{i}", ToMap(cur, h, w));                   // (B, D, h, w)
            }
            using (cur)
            using (var normed = norm.forward(cur))                            // (B, 1+h*w, D)
            {
                feats.Add("norm", ToMap(normed, h, w));                       // (B, D, h, w)
                feats.ClassToken = normed.select(1, 0);                       // (B, D)
            }
        }
        catch
        {
            feats.Dispose();
            throw;
        }
        return feats;
    }

    /// <summary>Patch tokens (B, 1+h*w, D) as a feature map (B, D, h, w) (a view, no copy).</summary>
    private static Tensor ToMap(Tensor tokens, long h, long w)
    {
        var s = tokens.shape;
        using var patches = tokens.narrow(1, 1, s[1] - 1);                    // (B, h*w, D)
        using var t = patches.transpose(1, 2);                                // (B, D, h*w)
        return t.reshape(s[0], s[2], h, w);                                   // (B, D, h, w)
    }
}

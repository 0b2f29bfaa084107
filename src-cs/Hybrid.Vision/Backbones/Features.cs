
namespace Hybrid.Vision.Backbones;

/// <summary>
/// The output of a backbone's forward: every stage's feature map (B, C_i, H/s_i, W/s_i) by
/// name, in forward order, with the final feature and the low-level tap named by the
/// backbone's <see cref="FeatureInfo"/>. Owns its tensors (disposing it disposes them, unless
/// a dispose scope already owns them).
/// </summary>
public sealed class Features : IDisposable
{
    private readonly List<(string Name, Tensor Map)> maps = new();

    public Features(FeatureInfo info) { Info = info; }

    public FeatureInfo Info { get; }

    /// <summary>Stage maps in forward order.</summary>
    public IReadOnlyList<(string Name, Tensor Map)> Stages => maps;

    /// <summary>ViT class token after the final norm (B, D); null for convolutional backbones.</summary>
    public Tensor? ClassToken { get; set; }

    /// <summary>Appends a stage map (for backbones: in forward order, named as in FeatureInfo).</summary>
    public void Add(string name, Tensor map) => maps.Add((name, map));

    public Tensor this[string name]
    {
        get
        {
            foreach (var (n, m) in maps)
                if (n == name) return m;
            throw new KeyNotFoundException($"no feature '{name}'; this forward produced: {string.Join(", ", maps.Select(x => x.Name))}");
        }
    }

    /// <summary>The final feature map (B, D, h, w): input of the CAM classifier and the segmentation head.</summary>
    public Tensor Final => this[Info.Final];

    /// <summary>The low-level feature map (CoSA's M-dagger source).</summary>
    public Tensor LowLevel => this[Info.LowLevel];

    /// <summary>Hands every tensor to the enclosing dispose scope's parent (see Tensor.MoveToOuterDisposeScope).</summary>
    public Features MoveToOuterDisposeScope()
    {
        foreach (var (_, m) in maps) m.MoveToOuterDisposeScope();
        ClassToken?.MoveToOuterDisposeScope();
        return this;
    }

    public void Dispose()
    {
        foreach (var (_, m) in maps) m.Dispose();
        ClassToken?.Dispose();
        maps.Clear();
    }
}

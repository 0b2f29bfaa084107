using TorchSharp.Modules;

namespace Hybrid.Vision;

/// <summary>
/// PLDA's pixel-level domain classifier (Sec. III-B/C, Fig. 5): a gradient reversal layer on
/// the backbone feature, a shared trunk of 1x1 convolutions D -> 1024 -> 512 (each followed by
/// ReLU and dropout; the paper's "base network", sizes and p = 0.5 from the public PLDA code),
/// then K heads, each a 1x1 conv 512 -> 2 (source / target logits).
/// K = number of foreground classes for PLDA's multi-head classifier (head c judges the pixels
/// assigned to class c) and for MADA (every head sees every pixel, weighted by the class
/// probability); K = 1 for the single global DANN discriminator.
/// Output: logits (B, K, 2, h, w); see <see cref="DomainAdversarialLoss"/>.
/// </summary>
public sealed class DomainClassifier : nn.Module<Tensor, Tensor>
{
    public Sequential trunk { get; }
    public ModuleList<Conv2d> heads { get; }

    /// <summary>GRL coefficient (set each step, e.g. from <see cref="GradientReversal.DannCoefficient"/>).</summary>
    public double GrlLambda { get; set; } = 1;

    /// <summary>Reverse the gradient at the input (on by default; off when the caller applies its own GRL).</summary>
    public bool ReverseGradient { get; set; } = true;

    public int HeadCount => heads.Count;

    public DomainClassifier(long inChannels, int headCount, long hidden1 = 1024, long hidden2 = 512, double dropout = 0.5) : base(nameof(DomainClassifier))
    {
        if (headCount < 1) throw new ArgumentOutOfRangeException(nameof(headCount), "a domain classifier needs at least one head");
        var c1 = nn.Conv2d(inChannels, hidden1, 1);
        var c2 = nn.Conv2d(hidden1, hidden2, 1);
        nn.init.xavier_uniform_(c1.weight);
        nn.init.xavier_uniform_(c2.weight);
        trunk = this.Child("trunk", nn.Sequential(c1, nn.ReLU(), nn.Dropout(dropout), c2, nn.ReLU(), nn.Dropout(dropout)));
        heads = this.Child("heads", nn.ModuleList(Enumerable.Range(0, headCount).Select(_ =>
        {
            var h = nn.Conv2d(hidden2, 2, 1);
            nn.init.xavier_uniform_(h.weight);
            return h;
        }).ToArray()));
    }

    /// <summary>Children are registered by name above; no field reflection.</summary>
    protected override void RegisterComponents() { }

    /// <summary>PLDA's multi-head classifier: one head per foreground class.</summary>
    public static DomainClassifier MultiHead(long inChannels, int foregroundClasses, double dropout = 0.5) =>
        new(inChannels, foregroundClasses, dropout: dropout);

    /// <summary>The single-head DANN discriminator (PLDA Tab. VII ablation).</summary>
    public static DomainClassifier SingleHead(long inChannels, double dropout = 0.5) =>
        new(inChannels, 1, dropout: dropout);

    /// <summary>features (B, D, h, w) -> domain logits (B, K, 2, h, w).</summary>
    public override Tensor forward(Tensor features)
    {
        if (features.dim() != 4) throw new ArgumentException($"domain classifier expects features (B, D, h, w), got [{string.Join(", ", features.shape)}]");
        using var scope = torch.NewDisposeScope();
        var x = ReverseGradient ? GradientReversal.Apply(features, GrlLambda) : features.alias(); // (B, D, h, w)
        var shared = trunk.forward(x);                                    // (B, 512, h, w)
        var logits = heads.Select(h => h.forward(shared)).ToArray();       // K x (B, 2, h, w)
        return torch.stack(logits, 1).MoveToOuterDisposeScope();          // (B, K, 2, h, w)
    }
}

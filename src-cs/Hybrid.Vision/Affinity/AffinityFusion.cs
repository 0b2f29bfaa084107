
using TorchSharp.Modules;

namespace Hybrid.Vision;

/// <summary>
/// The attention module that fuses the saliency and segmentation affinity maps (AuxSegNet+
/// Eq. 6-7 and 10-11): the two maps stacked as a 2-channel image, conv, ReLU, conv, softmax over
/// the two channels -> one weight per map and entry, w_sal + w_seg = 1. The paper gives no kernel
/// sizes; a 3x3 first conv (no bias) and a 1x1 second conv with 2 hidden channels are those of
/// the public AuxSegNet code. For a pairwise map the "image" is the HW x HW matrix itself (rows =
/// query positions, columns = key positions); for a unary map it is the H x W map.
///
/// <see cref="forward"/> expects its input already zero-padded by one entry on each side of the
/// two spatial dims (so chunks of matrix rows can bring real neighbouring rows as their halo):
/// (B, 2, R + 2, M + 2) -> (B, 2, R, M).
/// </summary>
public sealed class AffinityFusion : nn.Module<Tensor, Tensor>
{
    public Conv2d mix { get; }
    public Conv2d weigh { get; }

    public AffinityFusion(long hidden = 2) : base(nameof(AffinityFusion))
    {
        mix = this.Child("mix", nn.Conv2d(2, hidden, 3, bias: false));   // no padding: forward's input comes padded
        weigh = this.Child("weigh", nn.Conv2d(hidden, 2, 1));
    }

    /// <summary>Children are registered by name above; no field reflection.</summary>
    protected override void RegisterComponents() { }

    public override Tensor forward(Tensor paddedPair)
    {
        if (paddedPair.dim() != 4 || paddedPair.size(1) != 2)
            throw new ArgumentException($"affinity fusion expects (B, 2, R + 2, M + 2), got [{string.Join(", ", paddedPair.shape)}]");
        using var h = mix.forward(paddedPair);                            // (B, hidden, R, M)
        using var r = h.relu();                                           // (B, hidden, R, M)
        using var logits = weigh.forward(r);                              // (B, 2, R, M)
        return logits.softmax(1);                                         // (B, 2, R, M), sums to 1 over the two maps
    }

    /// <summary>Fuses two maps (B, R, M) each, given the padded stack: w0 * a + w1 * b.</summary>
    internal Tensor Fuse(Tensor paddedPair, Tensor a, Tensor b)
    {
        using var scope = torch.NewDisposeScope();
        var w = forward(paddedPair);                                      // (B, 2, R, M)
        var fused = w.select(1, 0) * a + w.select(1, 1) * b;              // (B, R, M)
        return fused.MoveToOuterDisposeScope();
    }
}

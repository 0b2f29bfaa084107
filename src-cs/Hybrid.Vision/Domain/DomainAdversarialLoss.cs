using F = TorchSharp.torch.nn.functional;

namespace Hybrid.Vision;

/// <summary>Options of the pixel-level domain classification loss.</summary>
/// <param name="BalanceDomains">weight source pixels by n_target / (1 + n) and target pixels by
/// n_source / (1 + n), per image and head (the public PLDA code's balancing; not in the paper).</param>
/// <param name="EntropyWeighting">weight each pixel by 1 + exp(-H(p)) with p the (detached) domain
/// prediction (CDAN-E style, as the public PLDA code; not in the paper).</param>
/// <param name="IgnoreIndex">label of pixels that belong to neither domain.</param>
public sealed record DomainLossOptions(bool BalanceDomains = false, bool EntropyWeighting = false, long IgnoreIndex = DomainAdversarialLoss.Ignore);

/// <summary>
/// Domain classification losses for PLDA (Eq. 2 and 5) and its ablations (DANN, MADA).
/// Labels are int64 maps: 0 = source (discriminative region), 1 = target, <see cref="Ignore"/>
/// = neither. The loss of head k is the cross entropy over the pixels labelled for head k
/// (optionally weighted), averaged over those pixels; the losses of the heads are summed
/// (a head without labelled pixels contributes 0). Minimising it trains the classifier; the GRL
/// in <see cref="DomainClassifier"/> makes the feature extractor maximise it.
/// </summary>
public static class DomainAdversarialLoss
{
    public const long Source = 0;
    public const long Target = 1;
    public const long Ignore = 255;

    /// <summary>
    /// Eq. 5's indicator: per-head labels (B, K, h, w) from one domain map (B, h, w) and the head
    /// (class) each pixel is assigned to (B, h, w), -1 = no head. Head k keeps the domain label
    /// of its own pixels, every other pixel is ignored for it.
    /// </summary>
    public static Tensor AssignHeads(Tensor domain, Tensor headOf, int heads, long ignoreIndex = Ignore)
    {
        if (domain.dim() != 3 || !domain.shape.SequenceEqual(headOf.shape))
            throw new ArgumentException($"AssignHeads: domain [{string.Join(", ", domain.shape)}] and head map [{string.Join(", ", headOf.shape)}] must both be (B, h, w)");
        using var scope = torch.NewDisposeScope();
        var head = headOf.to(ScalarType.Int64);                           // (B, h, w)
        var ks = torch.arange(0, heads, 1, ScalarType.Int64, head.device).view(1, heads, 1, 1); // (1, K, 1, 1)
        var mine = head.unsqueeze(1).eq(ks);                              // (B, K, h, w): pixel assigned to head k (-1 matches none)
        var d = domain.to(ScalarType.Int64).unsqueeze(1).expand(mine.shape); // (B, K, h, w)
        var labels = d.masked_fill(mine.logical_not(), ignoreIndex);      // (B, K, h, w)
        return labels.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Per-head labels (B, K, h, w) from per-class domain masks (B, K, h, w) (bool): source where
    /// the class's source mask is set, else target where its target mask is set, else ignored
    /// (the form the public PLDA code builds: a pixel may be labelled for several classes).
    /// </summary>
    public static Tensor LabelsFromMasks(Tensor sourceMasks, Tensor targetMasks, long ignoreIndex = Ignore)
    {
        if (sourceMasks.dim() != 4 || !sourceMasks.shape.SequenceEqual(targetMasks.shape))
            throw new ArgumentException($"LabelsFromMasks: source [{string.Join(", ", sourceMasks.shape)}] and target [{string.Join(", ", targetMasks.shape)}] masks must both be (B, K, h, w)");
        using var scope = torch.NewDisposeScope();
        var src = sourceMasks.to(ScalarType.Bool);                        // (B, K, h, w)
        var tgt = targetMasks.to(ScalarType.Bool);                        // (B, K, h, w)
        var labels = torch.full(sourceMasks.shape, ignoreIndex, ScalarType.Int64, sourceMasks.device); // (B, K, h, w)
        labels = labels.masked_fill(tgt, Target).masked_fill(src, Source);
        return labels.MoveToOuterDisposeScope();
    }

    /// <summary>The head of each pixel from the class activation distribution (B, K, h, w): its
    /// argmax class (B, h, w); pass `valid` (B, h, w, bool) to mark unassigned pixels with -1.</summary>
    public static Tensor HeadsFromCam(Tensor camDistribution, Tensor? valid = null)
    {
        if (camDistribution.dim() != 4) throw new ArgumentException($"HeadsFromCam expects (B, K, h, w), got [{string.Join(", ", camDistribution.shape)}]");
        var heads = camDistribution.argmax(1);                            // (B, h, w)
        if (valid is null) return heads;
        using var _ = heads;
        using var invalid = valid.logical_not();
        return heads.masked_fill(invalid, -1);                            // (B, h, w)
    }

    /// <summary>
    /// Multi-head loss: logits (B, K, 2, h, w), labels (B, K, h, w) or (B, 1, h, w) (shared by
    /// all heads), optional pixel weights (B, K, h, w). The weighted cross entropy summed over
    /// heads and pixels, divided by the number of pixels B h w (unlabelled pixels count as 0).
    /// </summary>
    public static Tensor MultiHead(Tensor logits, Tensor labels, Tensor? weights = null, DomainLossOptions? options = null)
    {
        var o = options ?? new DomainLossOptions();
        var s = logits.shape;
        if (s.Length != 5 || s[2] != 2)
            throw new ArgumentException($"domain loss: logits must be (B, K, 2, h, w), got [{string.Join(", ", s)}]");
        var want = new[] { s[0], s[1], s[3], s[4] };
        var ls = labels.shape;
        if (ls.Length != 4 || ls[0] != s[0] || (ls[1] != s[1] && ls[1] != 1) || ls[2] != s[3] || ls[3] != s[4])
            throw new ArgumentException($"domain loss: labels [{string.Join(", ", ls)}] must be (B, K, h, w) or (B, 1, h, w) for logits [{string.Join(", ", s)}]");
        if (weights is not null && !weights.shape.SequenceEqual(want))
            throw new ArgumentException($"domain loss: weights [{string.Join(", ", weights.shape)}] must be (B, K, h, w) = [{string.Join(", ", want)}]");
        using var scope = torch.NewDisposeScope();
        var lab = labels.to(ScalarType.Int64).expand(want);               // (B, K, h, w)
        var valid = lab.ne(o.IgnoreIndex);                                // (B, K, h, w)
        var idx = lab.masked_fill(valid.logical_not(), 0).unsqueeze(2);   // (B, K, 1, h, w)
        var logp = logits.log_softmax(2);                                 // (B, K, 2, h, w)
        var nll = -logp.gather(2, idx).squeeze(2);                        // (B, K, h, w)
        var w = valid.to(logits.dtype);                                   // (B, K, h, w)
        if (weights is not null) w = w * weights;
        if (o.EntropyWeighting)
        {
            using var _ = torch.no_grad();
            var p = logits.detach().softmax(2);                           // (B, K, 2, h, w)
            var entropy = -(p * (p + 1e-10).log()).sum(2);                // (B, K, h, w)
            w = w * (1 + (-entropy).exp());
        }
        if (o.BalanceDomains)
        {
            using var _ = torch.no_grad();
            var src = lab.eq(Source).to(logits.dtype);                    // (B, K, h, w)
            var tgt = lab.eq(Target).to(logits.dtype);                    // (B, K, h, w)
            var nS = src.sum(new long[] { 2, 3 }, keepdim: true);        // (B, K, 1, 1)
            var nT = tgt.sum(new long[] { 2, 3 }, keepdim: true);        // (B, K, 1, 1)
            var balance = (src * nT + tgt * nS) / (nS + nT + 1);          // (B, K, h, w)
            w = w * balance;
        }
        // PLDA Eq. 5: Eq. 2's mean over the image's pixels, each pixel judged by its class's
        // head and the indicator zeroing pixels outside both domains. The public code agrees
        // (per head, the cross entropy with ignored pixels as 0, meaned over all B h w pixels,
        // summed over heads). So: one sum over heads and pixels divided by B h w; not a mean
        // per head over its own pixels summed over heads, which is K / (labelled fraction)
        // times larger. MADA's heads all judge every pixel, weighted by class probability.
        var pixels = (double)(s[0] * s[3] * s[4]);
        return ((nll * w).sum() / pixels).MoveToOuterDisposeScope();      // ()
    }

    /// <summary>DANN (one global head): logits (B, 1, 2, h, w), domain (B, h, w).</summary>
    public static Tensor SingleHead(Tensor logits, Tensor domain, DomainLossOptions? options = null)
    {
        if (logits.dim() != 5 || logits.size(1) != 1) throw new ArgumentException($"DANN loss expects one head (B, 1, 2, h, w), got [{string.Join(", ", logits.shape)}]");
        using var labels = domain.unsqueeze(1);                           // (B, 1, h, w)
        return MultiHead(logits, labels, null, options);
    }

    /// <summary>
    /// MADA: every head sees every labelled pixel, its loss weighted by the pixel's class
    /// probability (B, K, h, w) (the CAM distribution over foreground classes).
    /// </summary>
    public static Tensor Mada(Tensor logits, Tensor domain, Tensor classProbabilities, DomainLossOptions? options = null)
    {
        using var labels = domain.unsqueeze(1);                           // (B, 1, h, w)
        using var p = classProbabilities.detach();
        return MultiHead(logits, labels, p, options);
    }

    /// <summary>Resizes head logits (B, K, 2, h, w) to the label size (H, W) (bilinear), for
    /// labels made at image resolution.</summary>
    public static Tensor ResizeLogits(Tensor logits, long height, long width)
    {
        var s = logits.shape;
        using var flat = logits.reshape(s[0], s[1] * 2, s[3], s[4]);      // (B, 2K, h, w)
        using var up = F.interpolate(flat, new[] { height, width }, mode: InterpolationMode.Bilinear, align_corners: true); // (B, 2K, H, W)
        return up.view(s[0], s[1], 2, height, width);                    // (B, K, 2, H, W)
    }
}

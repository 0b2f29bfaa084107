using F = TorchSharp.torch.nn.functional;

namespace Hybrid.Vision;

/// <summary>
/// AuxSegNet+ cross-task dual-affinity module (Xu et al., "Auxiliary Tasks Enhanced
/// Dual-affinity Learning for WSSS", Sec. III-B), with the older AuxSegNet pairwise-only
/// variant and the Tab. V switches (see <see cref="DualAffinityOptions"/>).
///
/// Per task t in {sal, seg}, on features F_t (B, C, H, W), N = H W:
///   pairwise (Eq. 2-5):  A_t = softmax_rows(Q_t^T K_t) (N x N), context_t = V_t A_t^T;
///   unary (Eq. 8-9):     U_t = softmax_positions(conv1x1(F_t)) (N), g_t = V_t U_t (C), one
///                        channel-wise global response broadcast over all positions;
///   features (Eq. 12-13): F_t' = F_t + context_t (+ g_t for the dual variant).
/// Cross-task maps (Eq. 6-7, 10-11): A = w_sal A_sal + w_seg A_seg and U = w'_sal U_sal +
/// w'_seg U_seg, with per-entry weights from <see cref="AffinityFusion"/> modules.
///
/// Readings of the paper where its equations were lost or are silent (kept switchable where
/// it matters):
/// - V_t is the value embedding of the pairwise path, and the unary context aggregates V_t
///   too (as the disentangled non-local block the paper compares with); no output projection
///   after the context (the public AuxSegNet code has one 1x1 conv there, which is redundant
///   with the value conv because a channel map commutes with the row-stochastic A_t).
/// - features are enhanced with the task-specific affinities; the fused cross-task maps refine
///   predictions (the paper's overview: task affinities "enhance the features", the fused maps
///   "refine both the saliency and segmentation predictions").
/// - refinement with both affinities (Eq. 14-17) is read as the disentangled form
///   P' = (A + 1 U^T) P, i.e. A P plus the U-weighted global mean of P at every position; CAM
///   refinement (Eq. 18) uses the pairwise A only ("the trained pairwise cross-task affinity").
/// - the fused A and U are not renormalised (the weights vary per entry, so rows of A need not
///   sum exactly to 1), as in the public code.
/// - SegmentationOnly (Tab. V "Seg. affinity"): the saliency branch learns no affinity at all
///   and its features pass through unchanged.
///
/// Memory: the N x N affinity is produced in chunks of `ChunkRows` query rows (chunked output
/// equals unchunked). Under no_grad (e.g. CAM refinement) the peak memory is then
/// O(ChunkRows x N); with gradients, autograd still keeps each chunk's softmax for the backward
/// pass, so training memory stays O(N^2) (only the transient peak is bounded).
/// </summary>
public sealed class CrossTaskDualAffinity : nn.Module<Tensor, Tensor, DualAffinityOutput>
{
    public DualAffinityOptions Options { get; }
    public TaskAffinityEmbedding? saliency { get; }
    public TaskAffinityEmbedding segmentation { get; }
    public AffinityFusion? pairwise_fusion { get; }
    public AffinityFusion? unary_fusion { get; }

    public CrossTaskDualAffinity(DualAffinityOptions options) : base(nameof(CrossTaskDualAffinity))
    {
        options.Validate();
        Options = options;
        var dual = options.Variant == AffinityVariant.Dual;
        var keyChannels = options.KeyChannels ?? options.Channels;
        var crossTask = options.Source == AffinitySource.CrossTask;
        if (crossTask) saliency = this.Child("saliency", new TaskAffinityEmbedding(options.Channels, keyChannels, dual));
        segmentation = this.Child("segmentation", new TaskAffinityEmbedding(options.Channels, keyChannels, dual));
        if (crossTask)
        {
            pairwise_fusion = this.Child("pairwise_fusion", new AffinityFusion(options.FusionHidden));
            if (dual) unary_fusion = this.Child("unary_fusion", new AffinityFusion(options.FusionHidden));
        }
    }

    /// <summary>Children are registered by name above; no field reflection.</summary>
    protected override void RegisterComponents() { }

    public CrossTaskDualAffinity(long channels, AffinityVariant variant = AffinityVariant.Dual, long? chunkRows = null)
        : this(new DualAffinityOptions(channels, variant, ChunkRows: chunkRows)) { }

    /// <summary>
    /// Enhances the saliency and segmentation features (each (B, C, H, W)) and returns them
    /// with the learned affinity, which refines predictions and CAMs of the same H x W.
    /// </summary>
    public override DualAffinityOutput forward(Tensor saliencyFeatures, Tensor segmentationFeatures)
    {
        var ss = saliencyFeatures.shape;
        var sg = segmentationFeatures.shape;
        if (sg.Length != 4 || !ss.SequenceEqual(sg))
            throw new ArgumentException($"dual affinity: saliency [{string.Join(", ", ss)}] and segmentation [{string.Join(", ", sg)}] features must both be (B, C, H, W) of one shape");
        if (sg[1] != Options.Channels)
            throw new ArgumentException($"dual affinity: features have {sg[1]} channels, the module was built for {Options.Channels}");
        var (h, w) = (sg[2], sg[3]);
        using var scope = torch.NewDisposeScope();
        var seg = segmentation.Embed(segmentationFeatures, Options.ScaleLogits);
        var sal = saliency?.Embed(saliencyFeatures, Options.ScaleLogits);
        var segOut = segmentationFeatures + Context(seg, h, w);           // (B, C, H, W)
        var salOut = sal is null ? saliencyFeatures.alias() : saliencyFeatures + Context(sal, h, w); // (B, C, H, W)
        Tensor? unary = null;
        if (Options.Variant == AffinityVariant.Dual)
        {
            unary = unary_fusion is not null && sal is not null
                ? FuseUnary(sal.Unary!, seg.Unary!, h, w)                 // (B, N)
                : seg.Unary!.alias();                                     // (B, N)
            unary.MoveToOuterDisposeScope();
        }
        seg.MoveToOuterDisposeScope();
        sal?.MoveToOuterDisposeScope();
        var affinity = new CrossTaskAffinity(seg, sal, pairwise_fusion, unary, h, w, Options.ChunkRows);
        return new DualAffinityOutput(salOut.MoveToOuterDisposeScope(), segOut.MoveToOuterDisposeScope(), affinity, Options.Constraints);
    }

    /// <summary>Task context A_t V_t (+ V_t U_t) as a map (B, C, H, W), computed row chunk by row chunk.</summary>
    private Tensor Context(TaskEmbedding e, long h, long w)
    {
        using var scope = torch.NewDisposeScope();
        var n = e.Positions;
        var chunk = Options.ChunkRows ?? n;
        var parts = new List<Tensor>();
        for (long r0 = 0; r0 < n; r0 += chunk)
        {
            var r1 = Math.Min(n, r0 + chunk);
            var a = e.Rows(r0, r1);                                       // (B, R, N)
            parts.Add(e.Value.bmm(a.transpose(1, 2)));                    // (B, C, R): sum_j A[i, j] v_j
            if (!torch.is_grad_enabled()) a.Dispose();                    // keep the no-grad peak at one chunk
        }
        var ctx = parts.Count == 1 ? parts[0] : torch.cat(parts, 2);      // (B, C, N)
        if (e.Unary is not null)
        {
            var g = e.Value.bmm(e.Unary.unsqueeze(2));                    // (B, C, 1): sum_j U[j] v_j
            ctx = ctx + g;                                                // (B, C, N), g broadcast over positions
        }
        var s = ctx.shape;
        return ctx.view(s[0], s[1], h, w).MoveToOuterDisposeScope();      // (B, C, H, W)
    }

    private Tensor FuseUnary(Tensor uSal, Tensor uSeg, long h, long w)
    {
        using var scope = torch.NewDisposeScope();
        var b = uSeg.size(0);
        var a0 = uSal.view(b, h, w);                                      // (B, H, W)
        var a1 = uSeg.view(b, h, w);                                      // (B, H, W)
        var stacked = torch.stack(new[] { a0, a1 }, 1);                   // (B, 2, H, W)
        var padded = F.pad(stacked, new long[] { 1, 1, 1, 1 });           // (B, 2, H + 2, W + 2)
        var fused = unary_fusion!.Fuse(padded, a0, a1);                   // (B, H, W)
        return fused.view(b, h * w).MoveToOuterDisposeScope();            // (B, N)
    }
}

/// <summary>Output of <see cref="CrossTaskDualAffinity.forward"/>; dispose it (or let the
/// enclosing dispose scope do it).</summary>
public sealed class DualAffinityOutput : IDisposable
{
    /// <summary>Enhanced saliency features (B, C, H, W).</summary>
    public Tensor SaliencyFeatures { get; }
    /// <summary>Enhanced segmentation features (B, C, H, W).</summary>
    public Tensor SegmentationFeatures { get; }
    /// <summary>The learned (cross-task) affinity, applied chunk-wise.</summary>
    public CrossTaskAffinity Affinity { get; }
    public AffinityConstraints Constraints { get; }

    internal DualAffinityOutput(Tensor sal, Tensor seg, CrossTaskAffinity affinity, AffinityConstraints constraints)
    {
        SaliencyFeatures = sal; SegmentationFeatures = seg; Affinity = affinity; Constraints = constraints;
    }

    /// <summary>
    /// Eq. 14-17: refines the initial segmentation prediction (B, K, H, W) and, when the
    /// constraints include saliency, the saliency prediction (B, 1, H, W); otherwise the
    /// refined saliency is null (no loss constrains the affinity through saliency). Pass the
    /// maps the losses expect (the public AuxSegNet code refines the pre-activation outputs and
    /// applies sigmoid / softmax in the loss).
    /// </summary>
    public (Tensor segmentation, Tensor? saliency) RefinePredictions(Tensor segmentation, Tensor saliency)
    {
        var seg = Affinity.Refine(segmentation);
        var sal = Constraints == AffinityConstraints.SegmentationAndSaliency ? Affinity.Refine(saliency) : null;
        return (seg, sal);
    }

    public void Dispose()
    {
        SaliencyFeatures.Dispose(); SegmentationFeatures.Dispose(); Affinity.Dispose();
    }
}

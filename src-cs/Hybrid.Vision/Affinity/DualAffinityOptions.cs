namespace Hybrid.Vision;

/// <summary>Which affinities the module learns (AuxSegNet+ Tab. X).</summary>
public enum AffinityVariant
{
    /// <summary>AuxSegNet (ICCV 2021): pairwise affinity only.</summary>
    Pairwise,
    /// <summary>AuxSegNet+: pairwise and unary affinity.</summary>
    Dual,
}

/// <summary>Where the affinity used for refinement comes from (AuxSegNet+ Tab. V).</summary>
public enum AffinitySource
{
    /// <summary>"Seg. affinity": only the segmentation branch learns an affinity; the saliency
    /// features pass through unchanged and refinement uses A_seg (and U_seg).</summary>
    SegmentationOnly,
    /// <summary>"CT affinity": both branches learn task affinities, fused by the attention module.</summary>
    CrossTask,
}

/// <summary>Which predictions the learned affinity refines during training, i.e. which pseudo
/// labels constrain it (AuxSegNet+ Tab. V: "with seg. constraint" / "with seg. and sal. constraints").</summary>
public enum AffinityConstraints
{
    Segmentation,
    SegmentationAndSaliency,
}

/// <summary>
/// Configuration of <see cref="CrossTaskDualAffinity"/>. The paper's full model is
/// (Dual, CrossTask, SegmentationAndSaliency); the older AuxSegNet is (Pairwise, CrossTask,
/// SegmentationAndSaliency).
/// </summary>
/// <param name="Channels">C of the task features (128 in AuxSegNet/AuxSegNet+).</param>
/// <param name="KeyChannels">channels of the query/key embeddings (null = Channels, as the public AuxSegNet code).</param>
/// <param name="ChunkRows">query rows of the HW x HW affinity computed at once (null = all rows).</param>
/// <param name="FusionHidden">hidden channels of the fusion attention module (2 in the public AuxSegNet code).</param>
/// <param name="ScaleLogits">divide q.k by sqrt(KeyChannels) before the softmax (off: the public AuxSegNet code does not).</param>
public sealed record DualAffinityOptions(
    long Channels,
    AffinityVariant Variant = AffinityVariant.Dual,
    AffinitySource Source = AffinitySource.CrossTask,
    AffinityConstraints Constraints = AffinityConstraints.SegmentationAndSaliency,
    long? KeyChannels = null,
    long? ChunkRows = null,
    long FusionHidden = 2,
    bool ScaleLogits = false)
{
    internal void Validate()
    {
        if (Channels < 1) throw new ArgumentOutOfRangeException(nameof(Channels), "Channels must be >= 1");
        if (KeyChannels is < 1) throw new ArgumentOutOfRangeException(nameof(KeyChannels), "KeyChannels must be >= 1");
        if (ChunkRows is < 1) throw new ArgumentOutOfRangeException(nameof(ChunkRows), "ChunkRows must be >= 1 (or null for no chunking)");
        if (FusionHidden < 1) throw new ArgumentOutOfRangeException(nameof(FusionHidden), "FusionHidden must be >= 1");
    }
}

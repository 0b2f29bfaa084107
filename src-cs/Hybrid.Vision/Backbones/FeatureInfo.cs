namespace Hybrid.Vision.Backbones;

/// <summary>One stage of a backbone: its feature map is (B, Channels, ceil(H/Stride), ceil(W/Stride)).</summary>
public sealed record StageInfo(string Name, long Channels, long Stride)
{
    /// <summary>Spatial size of this stage's map for an input side of <paramref name="inputSide"/> pixels.</summary>
    public long SideFor(long inputSide) => (inputSide + Stride - 1) / Stride;

    public override string ToString() => $"{Name} (C={Channels}, stride {Stride})";
}

/// <summary>
/// What a backbone emits: its stages in forward order, which one is the final feature (fed to
/// the CAM classifier and the segmentation head) and which earlier one is the low-level tap
/// (CoSA's M-dagger, the source of the auxiliary CAM).
/// </summary>
public sealed record FeatureInfo(IReadOnlyList<StageInfo> Stages, string Final, string LowLevel)
{
    public StageInfo this[string name] =>
        Stages.FirstOrDefault(s => s.Name == name)
        ?? throw new KeyNotFoundException($"no stage '{name}'; stages are: {string.Join(", ", Stages.Select(s => s.Name))}");

    public StageInfo FinalStage => this[Final];
    public StageInfo LowLevelStage => this[LowLevel];

    /// <summary>Stride of the final feature relative to the input.</summary>
    public long OutputStride => FinalStage.Stride;

    /// <summary>Channels of the final feature (the D of the CAM classifier's weights (C, D)).</summary>
    public long Channels => FinalStage.Channels;

    public override string ToString() =>
        $"{string.Join("; ", Stages)}; final {Final}, low-level {LowLevel}, output stride {OutputStride}";
}

using System.Text;
using Hybrid.Torch.Serialization;

namespace Hybrid.Vision.Backbones;

/// <summary>
/// What loading a checkpoint into a backbone did. <see cref="Load"/> is the state-dict report
/// (missing, unexpected, mis-shaped: mis-shaped tensors are never copied, never skipped
/// silently). Besides it: keys deliberately ignored (the ImageNet classifier), keys outside
/// the stripped wrapper prefix (e.g. an optimizer's state next to "model"), tensors adapted
/// to the model (a resampled ViT position embedding), BatchNorm counters absent from old
/// checkpoints (left at 0, as PyTorch does), and dtype conversions.
/// </summary>
public sealed record WeightsReport(
    string File,
    string Backbone,
    LoadReport Load,
    string? StrippedPrefix,
    IReadOnlyList<string> Ignored,
    IReadOnlyList<string> OutsidePrefix,
    IReadOnlyList<string> Adapted,
    IReadOnlyList<string> Defaulted,
    IReadOnlyList<string> Converted,
    int Loaded)
{
    /// <summary>Every backbone tensor was found with the right shape and no unknown key remains.</summary>
    public bool IsClean => Load.IsClean;

    public override string ToString()
    {
        var b = new StringBuilder();
        b.Append($"{Backbone} <- {Path.GetFileName(File)}: {Loaded} tensors loaded; {Load}");
        if (StrippedPrefix is not null) b.Append($"; wrapper prefix '{StrippedPrefix}' stripped");
        if (Ignored.Count > 0) b.Append($"; {Ignored.Count} ignored (not part of the backbone): {string.Join(", ", Ignored)}");
        if (OutsidePrefix.Count > 0) b.Append($"; {OutsidePrefix.Count} entries outside '{StrippedPrefix}' ignored");
        if (Adapted.Count > 0) b.Append($"; adapted: {string.Join(", ", Adapted)}");
        if (Defaulted.Count > 0) b.Append($"; {Defaulted.Count} BatchNorm num_batches_tracked absent (left at 0)");
        if (Converted.Count > 0) b.Append($"; converted: {string.Join(", ", Converted)}");
        return b.ToString();
    }
}

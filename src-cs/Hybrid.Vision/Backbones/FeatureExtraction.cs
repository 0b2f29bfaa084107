using Hybrid.Torch.Serialization;

namespace Hybrid.Vision.Backbones;

/// <summary>
/// Runs a backbone for inspection (eval mode, no gradient) and hands back each stage's feature
/// map by name, e.g. to write a safetensors file a user compares with their PyTorch model.
/// </summary>
public static class FeatureExtraction
{
    /// <summary>Each stage's map (B, C_i, h_i, w_i) by stage name, contiguous and owned by the
    /// caller; for ViTs also "cls_token" (B, D). The backbone's train/eval mode is restored.</summary>
    public static Dictionary<string, Tensor> Extract(Backbone backbone, Tensor normalisedImages)  // (B, 3, H, W)
    {
        var wasTraining = backbone.training;
        backbone.eval();
        try
        {
            using var _ = torch.no_grad();
            using var feats = backbone.forward(normalisedImages);
            var result = new Dictionary<string, Tensor>();
            foreach (var (name, map) in feats.Stages)
                result[name] = map.contiguous().DetachFromDisposeScope();    // (B, C_i, h_i, w_i)
            if (feats.ClassToken is { } cls) result["cls_token"] = cls.contiguous().DetachFromDisposeScope(); // (B, D)
            return result;
        }
        finally
        {
            backbone.train(wasTraining);
        }
    }

    /// <summary>Extracts the features of <paramref name="normalisedImages"/> and writes them to a
    /// safetensors file (one entry per stage, plus "input"), with the backbone name, the input
    /// shape and the normalisation in its metadata (by default the registry's for this backbone:
    /// say which one the input was normalised with).</summary>
    public static void WriteSafetensors(Backbone backbone, Tensor normalisedImages, string path, ImageNormalization? normalization = null)
    {
        var feats = Extract(backbone, normalisedImages);
        try
        {
            var tensors = new Dictionary<string, Tensor>(feats) { ["input"] = normalisedImages };
            var n = normalization ?? (BackboneRegistry.Names.Contains(backbone.Name) ? BackboneRegistry.Spec(backbone.Name).Normalization : ImageNormalization.ImageNet);
            var meta = new Dictionary<string, string>
            {
                ["backbone"] = backbone.Name,
                ["input_shape"] = string.Join(",", normalisedImages.shape),
                ["normalization_mean"] = string.Join(",", n.Mean),
                ["normalization_std"] = string.Join(",", n.Std),
                ["stages"] = string.Join(";", backbone.Info.Stages.Select(s => $"{s.Name}:{s.Channels}:{s.Stride}")),
            };
            Safetensors.Save(path, tensors, meta);
        }
        finally
        {
            foreach (var t in feats.Values) t.Dispose();
        }
    }
}

namespace Hybrid.Vision.Backbones;

/// <summary>
/// A feature extractor with a uniform interface: forward maps a normalised image batch
/// (B, 3, H, W) to its stage feature maps (<see cref="Features"/>), described by
/// <see cref="Info"/>. Parameter names follow the checkpoint family the backbone comes from
/// (torchvision, timm, PSA), so their state dicts load as they are.
/// </summary>
public abstract class Backbone : nn.Module<Tensor, Features>
{
    protected Backbone(string name) : base(name) { }

    /// <summary>Children and parameters are registered by name in the constructors; no field reflection.</summary>
    protected override void RegisterComponents() { }

    /// <summary>Number of parameter elements (what <see cref="BackboneSpec.ParameterCount"/> states).</summary>
    public long parameter_count() => parameters().Sum(p => p.numel());

    /// <summary>The registry name (e.g. "resnet50").</summary>
    public abstract string Name { get; }

    /// <summary>Stages, strides and channels of this instance (they depend on the output stride).</summary>
    public abstract FeatureInfo Info { get; }

    /// <summary>The report of the weights loaded at creation, if any.</summary>
    public WeightsReport? LoadedWeights { get; internal set; }

    /// <summary>Whether a key of a pretrained checkpoint belongs to a part this backbone
    /// deliberately lacks (the ImageNet classifier: torchvision's fc.*, timm's head.*). Such keys
    /// are listed as ignored in the <see cref="WeightsReport"/>, never silently dropped.</summary>
    public virtual bool IsIgnorableCheckpointKey(string key) => false;

    /// <summary>Adapts a checkpoint tensor whose shape legitimately differs from the model's
    /// (a ViT position embedding trained on another grid). Returns null when it cannot; the
    /// tensor is then reported as mis-shaped.</summary>
    public virtual Tensor? AdaptCheckpointTensor(string key, Tensor value, long[] expected) => null;

    /// <summary>Checks the input is a float (B, 3, H, W) batch of at least <paramref name="minSide"/> pixels.</summary>
    protected void CheckInput(Tensor x, long minSide)
    {
        if (x.dim() != 4 || x.size(1) != 3)
            throw new ArgumentException($"{Name}: expected a normalised image batch (B, 3, H, W), got [{string.Join(", ", x.shape)}]");
        if (!torch.is_floating_point(x.dtype))
            throw new ArgumentException($"{Name}: expected a floating-point image batch, got {x.dtype}; convert and normalise it first (ImageNormalization.Normalize)");
        if (x.size(2) < minSide || x.size(3) < minSide)
            throw new ArgumentException($"{Name}: input {x.size(2)}x{x.size(3)} is smaller than the minimum {minSide}x{minSide}");
    }
}

using TorchSharp.Modules;
using F = TorchSharp.torch.nn.functional;

namespace Hybrid.Vision.Heads;

/// <summary>How the feature map is pooled to image-level scores.</summary>
public enum CamPooling
{
    /// <summary>Global average pooling (PSA, SEAM, PLDA, AuxSegNet+).</summary>
    Gap,
    /// <summary>Global max pooling (CoSA, ToCo).</summary>
    Gmp,
}

/// <summary>What a CAM computation cuts from the graph (CoSA Tab. 4a ablates these).</summary>
public enum CamDetach { None, Features, Weights, All }

/// <summary>
/// The CAM classifier: a 1x1 convolution with weights W (C, D) on a feature map F (B, D, h, w).
/// Image scores pool F first and then apply W (as the public PSA / CoSA code does: for GAP it
/// equals pooling the class maps; for GMP it is the max of the features, not of the maps).
/// CAM_c = relu(W_c . F), without the bias.
/// </summary>
public sealed class CamClassifier : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d classifier;

    public CamPooling Pooling { get; }
    public long Classes { get; }
    public long Channels { get; }

    /// <param name="channels">D, the backbone's final channels (FeatureInfo.Channels).</param>
    /// <param name="classes">C, foreground classes (no background).</param>
    /// <param name="bias">PSA and CoSA use none.</param>
    public CamClassifier(long channels, long classes, CamPooling pooling = CamPooling.Gap, bool bias = false) : base(nameof(CamClassifier))
    {
        if (channels < 1 || classes < 1) throw new ArgumentException($"CamClassifier needs channels and classes >= 1, got {channels} and {classes}");
        Channels = channels; Classes = classes; Pooling = pooling;
        classifier = this.Child("classifier", nn.Conv2d(channels, classes, 1, bias: bias));
        nn.init.xavier_uniform_(classifier.weight);   // PSA's fc8 initialisation
    }

    /// <summary>Children are registered by name above; no field reflection.</summary>
    protected override void RegisterComponents() { }

    /// <summary>The 1x1 weights as a (C, D) matrix (a view sharing the parameter's storage and autograd).</summary>
    public Tensor Weight => classifier.weight.view(Classes, Channels);        // (C, D)

    public Parameter? Bias => classifier.bias;

    /// <summary>Image-level class scores (logits) (B, C).</summary>
    public override Tensor forward(Tensor features)                           // (B, D, h, w)
    {
        CheckFeatures(features);
        using var pooled = Pooling == CamPooling.Gap
            ? F.adaptive_avg_pool2d(features, new long[] { 1, 1 })            // (B, D, 1, 1)
            : F.adaptive_max_pool2d(features, new long[] { 1, 1 });
        using var scores = classifier.forward(pooled);                        // (B, C, 1, 1)
        return scores.flatten(1);                                             // (B, C)
    }

    /// <summary>Class activation maps relu(W . F) (B, C, h, w), optionally cut from the graph.</summary>
    public Tensor Cam(Tensor features, CamDetach detach = CamDetach.None)     // (B, D, h, w)
    {
        using var raw = RawCam(features, detach);                             // (B, C, h, w)
        return raw.relu();
    }

    /// <summary>W . F before the ReLU (B, C, h, w).</summary>
    public Tensor RawCam(Tensor features, CamDetach detach = CamDetach.None)  // (B, D, h, w)
    {
        CheckFeatures(features);
        using var f = detach is CamDetach.Features or CamDetach.All ? features.detach() : features.alias();
        using var w = detach is CamDetach.Weights or CamDetach.All ? classifier.weight.detach() : classifier.weight.alias(); // (C, D, 1, 1)
        return F.conv2d(f, w);                                                // (B, C, h, w)
    }

    private void CheckFeatures(Tensor f)
    {
        if (f.dim() != 4 || f.size(1) != Channels)
            throw new ArgumentException($"CamClassifier expects features (B, {Channels}, h, w), got [{string.Join(", ", f.shape)}]");
    }
}

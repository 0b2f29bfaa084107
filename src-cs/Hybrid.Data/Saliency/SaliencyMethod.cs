namespace Hybrid.Data;

/// <summary>Classical unsupervised saliency methods, computed from the image alone.</summary>
public enum SaliencyMethod
{
    /// <summary>Hou and Zhang, "Saliency Detection: A Spectral Residual Approach", CVPR 2007.</summary>
    SpectralResidual,
    /// <summary>Achanta et al., "Frequency-tuned Salient Region Detection", CVPR 2009.</summary>
    FrequencyTuned,
}

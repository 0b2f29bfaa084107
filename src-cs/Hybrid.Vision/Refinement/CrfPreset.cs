namespace Hybrid.Vision;

/// <summary>Named dense-CRF parameter sets; <see cref="CrfParams.For"/> maps each to its
/// <see cref="CrfParams"/>. Where each set comes from is written beside its definition.</summary>
public enum CrfPreset
{
    /// <summary>PSA (Ahn and Kwak 2018) CAM refinement; also SEAM's.</summary>
    Psa,
    /// <summary>SEAM (Wang et al. 2020): the same parameters as PSA.</summary>
    Seam,
    /// <summary>PLDA on its SEAM/PSA baselines (CAM refinement and DeepLab test-time CRF).</summary>
    Plda,
    /// <summary>PLDA on COCO through SIPE: CRF on a hard label map (see CrfUnary.FromLabels).</summary>
    PldaCocoLabels,
    /// <summary>CSD pseudo masks on MCTformer, refined as PSA does.</summary>
    CsdPseudoMask,
    /// <summary>CSD segmentation test-time CRF (MCTformer's DeepLab stage).</summary>
    CsdSegmentation,
    /// <summary>CoSA test-time CRF (Tab. 1 "*" rows, Tab. 4c).</summary>
    Cosa,
    /// <summary>AuxSegNet+ test-time CRF ("hyper-parameters suggested in [67]", DeepLab).</summary>
    AuxSegNetPlus,
    /// <summary>AuxSegNet+ Eq. 1 saliency-label CRF (DSS formulation, see CrfUnary.FromSaliency).</summary>
    AuxSegNetPlusSaliency,
    /// <summary>DeepLab-LargeFOV (Chen et al. ICLR 2015) on VOC.</summary>
    DeepLabLargeFov,
}

namespace Hybrid.Wsss.Methods.AuxSegNetPlus

open TorchSharp
open Hybrid.Vision
open Hybrid.Wsss

/// Saliency pseudo labels of the next stage (Eq. 1): S_{s+1} = CRF((S_s + P'_s) / 2), with S_s the
/// current saliency label and P'_s the refined saliency prediction of the stage just trained.
/// The CRF is the two-class DSS saliency CRF (CrfUnary.FromSaliency, preset
/// AuxSegNetPlusSaliency); its foreground marginal is the new label.
module SaliencyLabels =
    /// The average (S + P') / 2, (B, 1, H, W), clamped to [0, 1].
    let average (previous: Tensor) (prediction: Tensor) : Tensor =
        if previous.shape <> prediction.shape then
            invalidArg (nameof prediction) (sprintf "saliency prediction %A and label %A must have one shape (B, 1, H, W); upsample the prediction first" prediction.shape previous.shape)
        use s = previous + prediction
        use half = s * 0.5
        half.clamp(0.0, 1.0)

    /// The dense CRF of Eq. 1 on one saliency map (H, W) in [0, 1] of an RGB image (3, H, W)
    /// uint8: the foreground marginal (1, H, W).
    let crf (rgb: Tensor) (saliency: Tensor) : Tensor =
        let h, w = saliency.size 0, saliency.size 1
        if rgb.shape <> [| 3L; h; w |] then
            invalidArg (nameof rgb) (sprintf "the image must be (3, H, W) = (3, %d, %d) uint8, got %A" h w rgb.shape)
        use hwc = rgb.permute(1L, 2L, 0L).contiguous()                // (H, W, 3)
        let bytes = Host.values<byte> hwc
        let unary = CrfUnary.FromSaliency(System.ReadOnlySpan(Host.values<float32> saliency)) // (2, H, W)
        let q = DenseCrf.InferUnary(System.ReadOnlySpan bytes, int h, int w, unary, 2, CrfParams.AuxSegNetPlusSaliency) // (2, H, W)
        let fg = Array.sub q (int (h * w)) (int (h * w))
        torch.tensor(fg, [| 1L; h; w |])

    /// Eq. 1 for a batch: rgb (B, 3, H, W) uint8, previous labels and refined predictions
    /// (B, 1, H, W) in [0, 1] -> new labels (B, 1, H, W) on the device of `previous`. Without
    /// `useCrf` the average itself is the new label.
    let update (useCrf: bool) (rgb: Tensor) (previous: Tensor) (prediction: Tensor) : Tensor =
        use scope = torch.NewDisposeScope()
        let avg = average previous prediction                          // (B, 1, H, W)
        let result =
            if not useCrf then avg
            else
                let b = avg.size 0
                let cpuAvg = avg.cpu()
                let cpuRgb = rgb.cpu()
                let maps = [| for i in 0L .. b - 1L -> crf (cpuRgb.select(0L, i)) (cpuAvg.select(0L, i).select(0L, 0L)) |] // (1, H, W) each
                torch.stack(maps, 0L).``to``(previous.device)        // (B, 1, H, W)
        result.MoveToOuterDisposeScope()

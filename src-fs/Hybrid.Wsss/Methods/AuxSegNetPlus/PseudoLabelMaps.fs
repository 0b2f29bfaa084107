namespace Hybrid.Wsss.Methods.AuxSegNetPlus

open TorchSharp
open Hybrid.Wsss

/// The pseudo-label rule of `PseudoLabels.segmentation` on batches of tensors.
module PseudoLabelMaps =
    /// cams (B, K, H, W) normalised to [0, 1] (absent classes may hold anything), labels (B, K)
    /// multi-hot, saliency (B, 1, H, W) in [0, 1] -> (B, H, W) int64: the strongest present class
    /// (1-based) where its CAM > thresholds.Cam and the saliency passes thresholds.Saliency
    /// (per image for TimesMean), background 0 where neither cue fires, 255 where exactly one does.
    let segmentation (thresholds: CueThresholds) (cams: Tensor) (labels: Tensor) (saliency: Tensor) : Tensor =
        if cams.dim () <> 4 then invalidArg (nameof cams) (sprintf "CAMs must be (B, K, H, W), got %A" cams.shape)
        let b, k, h, w = cams.size 0, cams.size 1, cams.size 2, cams.size 3
        if labels.shape <> [| b; k |] then
            invalidArg (nameof labels) (sprintf "image labels must be (B, K) = (%d, %d), got %A" b k labels.shape)
        if saliency.shape <> [| b; 1L; h; w |] then
            invalidArg (nameof saliency) (sprintf "saliency must be (B, 1, H, W) = (%d, 1, %d, %d) like the CAMs, got %A; resize it first" b h w saliency.shape)
        use scope = torch.NewDisposeScope()
        let absent = labels.eq(0.0).view(b, k, 1L, 1L).expand(cams.shape)  // (B, K, H, W)
        let masked = cams.masked_fill(absent, -1.0)                      // absent classes never fire
        let struct (peak, arg) = masked.max(1L)                          // (B, H, W)
        let camFires = peak.gt(thresholds.Cam)                           // (B, H, W)
        let sal = saliency.squeeze(1L)                                   // (B, H, W)
        let salient =
            match thresholds.Saliency with
            | Fixed t -> sal.ge(t)
            | TimesMean m ->
                // the per-image mean in float64, as the array rule sums it
                let sal64 = sal.to_type(ScalarType.Float64)                 // (B, H, W)
                sal64.gt(sal64.mean([| 1L; 2L |], true) * m)                // (B, H, W) vs (B, 1, 1)
        let foreground = camFires.logical_and(salient)
        let oneCue = camFires.logical_xor(salient)
        let lbl = (arg + 1L).masked_fill(foreground.logical_not(), 0.0)  // class where both fire, else 0
        lbl.masked_fill(oneCue, 255.0).MoveToOuterDisposeScope()

/// Seg2CAM (CoSA Eq. 8): the online network's CAMs learn a per-class target map by binary
/// cross entropy, the target being the SPL (CoSA) or the ground truth (the oracle of Tab. 4a).
module Hybrid.Wsss.Methods.Cosa.Seg2Cam

open TorchSharp
open Hybrid.Wsss

type private F = torch.nn.functional

/// A guidance target at the CAM resolution: per-class probabilities (B, K, h, w) and the
/// pixels that count (B, 1, h, w) float 0/1, or None when all do.
type Target =
    { Probabilities: Tensor
      Valid: Tensor option }

/// The SPL's foreground channels (B, K + 1, H, W) -> (B, K, h, w), bilinearly resized to the
/// CAM resolution (as CoSA's public code resizes the SPL, not the CAMs).
let fromSpl (height: int64) (width: int64) (spl: Tensor) : Target =
    use fg = spl.narrow(1L, 1L, spl.size 1 - 1L)                    // (B, K, H, W)
    let resized =
        if fg.size 2 = height && fg.size 3 = width then fg.clone()
        else F.interpolate(fg, [| height; width |], mode = InterpolationMode.Bilinear, align_corners = false)
    { Probabilities = resized; Valid = None }

/// The ground truth (B, H, W) int64 in 0..K with 255 = ignore, nearest-resized to (h, w), as
/// one-hot foreground channels (B, K, h, w); ignored pixels leave the loss.
let fromGroundTruth (classes: int64) (height: int64) (width: int64) (masks: Tensor) : Target =
    use scope = torch.NewDisposeScope()
    let m = masks.unsqueeze(1L).to_type(ScalarType.Float32)         // (B, 1, H, W)
    let small = F.interpolate(m, [| height; width |], mode = InterpolationMode.Nearest).squeeze(1L).to_type(ScalarType.Int64) // (B, h, w)
    let valid = small.ne(255.0)
    let safe = small.masked_fill(valid.logical_not(), 0.0)
    let oneHot = F.one_hot(safe, classes + 1L).permute(0L, 3L, 1L, 2L).to_type(ScalarType.Float32) // (B, K + 1, h, w)
    let fg = oneHot.narrow(1L, 1L, classes).contiguous()            // (B, K, h, w)
    { Probabilities = fg.MoveToOuterDisposeScope()
      Valid = Some(valid.unsqueeze(1L).to_type(ScalarType.Float32).MoveToOuterDisposeScope()) }

/// Eq. 8: mean over classes and pixels of BCE(sigmoid(M), target). cams (B, K, h, w): the
/// online CAMs relu(W . F) (the CAM as defined in Sec. 3.1; the public code applies the same
/// ReLU before this loss), target at the same size.
let loss (cams: Tensor) (target: Target) : Tensor =
    if cams.shape <> target.Probabilities.shape then
        invalidArg (nameof target) (sprintf "Seg2CAM: CAMs [%s] and target [%s] differ in shape" (System.String.Join(", ", cams.shape)) (System.String.Join(", ", target.Probabilities.shape)))
    match target.Valid with
    | None -> F.binary_cross_entropy_with_logits(cams, target.Probabilities)
    | Some valid ->
        use scope = torch.NewDisposeScope()
        let perElement = F.binary_cross_entropy_with_logits(cams, target.Probabilities, reduction = torch.nn.Reduction.None) // (B, K, h, w)
        let w = valid.expand_as(perElement)
        let n = w.sum().clamp_min(1.0)
        ((perElement * w).sum() / n).MoveToOuterDisposeScope()

/// CAM pseudo labels (CPL, CoSA Eq. 3) and the confidence nu they are thresholded on.
/// K foreground classes; cams (B, K, H, W) normalised to [0, 1]; labels (B, K) multi-hot.
module Hybrid.Wsss.Methods.Cosa.Cpl

open TorchSharp
open Hybrid.Wsss

/// The CAMs with every absent class at -1, below any threshold in [0, 1]: absent classes can
/// neither win the argmax nor carry the confidence. (B, K, H, W).
let private presentOnly (cams: Tensor) (labels: Tensor) : Tensor =
    use absent = labels.eq(0.0).view(labels.size 0, labels.size 1, 1L, 1L) // (B, K, 1, 1)
    use expanded = absent.expand(cams.shape)
    cams.masked_fill(expanded, -1.0)

/// nu = max over the image's classes of M' at every pixel (0 where the image has no class).
/// cams (B, K, H, W), labels (B, K) -> (B, H, W).
let confidence (cams: Tensor) (labels: Tensor) : Tensor =
    use masked = presentOnly cams labels
    use best = masked.amax(1L)                                     // (B, H, W)
    best.clamp_min(0.0)

/// Eq. 3: argmax(M') + 1 over the image's classes where nu >= xi, else 0 (background).
/// cams (B, K, H, W) in [0, 1], labels (B, K) -> (B, H, W) int64 in {0} and present + 1.
let labels (xi: float) (cams: Tensor) (imageLabels: Tensor) : Tensor =
    if cams.dim () <> 4 || imageLabels.dim () <> 2 || cams.size 0 <> imageLabels.size 0 || cams.size 1 <> imageLabels.size 1 then
        invalidArg (nameof cams) (sprintf "CPL needs cams (B, K, H, W) and labels (B, K) of the same B and K, got [%s] and [%s]" (System.String.Join(", ", cams.shape)) (System.String.Join(", ", imageLabels.shape)))
    use scope = torch.NewDisposeScope()
    let masked = presentOnly cams imageLabels                      // (B, K, H, W)
    let struct (best, arg) = masked.max(1L)                        // (B, H, W)
    let fg = arg + 1L                                           // int64 stays int64
    (fg.masked_fill(best.lt(xi), 0.0)).MoveToOuterDisposeScope()

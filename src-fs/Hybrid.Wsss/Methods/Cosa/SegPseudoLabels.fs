/// Segmentation pseudo labels (SPL, CoSA Eq. 7): the segmentation logits S' restricted to
/// the background and the image's classes, sharpened by a softmax of temperature tau.
module Hybrid.Wsss.Methods.Cosa.Spl

open TorchSharp
open Hybrid.Wsss

/// Eq. 7: absent classes -> -inf, softmax(S' / tau) over the K + 1 channels (0 = background,
/// always present). logits (B, K + 1, H, W), labels (B, K) -> (B, K + 1, H, W): every pixel a
/// distribution over the background and the present classes, absent classes exactly 0.
let probabilities (tau: float) (logits: Tensor) (labels: Tensor) : Tensor =
    if not (tau > 0.0) then invalidArg (nameof tau) (sprintf "the SPL temperature must be > 0, got %g" tau)
    if logits.dim () <> 4 || labels.dim () <> 2 || logits.size 0 <> labels.size 0 || logits.size 1 <> labels.size 1 + 1L then
        invalidArg (nameof logits) (sprintf "SPL needs logits (B, K + 1, H, W) and labels (B, K), got [%s] and [%s]" (System.String.Join(", ", logits.shape)) (System.String.Join(", ", labels.shape)))
    use scope = torch.NewDisposeScope()
    let b = labels.size 0
    let withBackground = torch.cat([| torch.ones([| b; 1L |], device = labels.device); labels.to_type(ScalarType.Float32) |], 1L) // (B, K + 1)
    let absent = withBackground.eq(0.0).view(b, withBackground.size 1, 1L, 1L).expand(logits.shape)
    let restricted = (logits / tau).masked_fill(absent, System.Double.NegativeInfinity)
    restricted.softmax(1L).MoveToOuterDisposeScope()

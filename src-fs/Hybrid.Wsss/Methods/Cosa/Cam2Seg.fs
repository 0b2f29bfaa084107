/// CAM2Seg (CoSA Eq. 5): the online network's segmentation learns the CPL, each pixel's cross
/// entropy weighted by its reliability (RAW) or uniformly.
module Hybrid.Wsss.Methods.Cosa.Cam2Seg

open TorchSharp
open Hybrid.Wsss

type private F = torch.nn.functional

/// Segmentation logits (B, K + 1, h, w) bilinearly resized to the pseudo labels' (H, W).
let upsample (height: int64) (width: int64) (logits: Tensor) : Tensor =
    if logits.size 2 = height && logits.size 3 = width then logits.alias()
    else F.interpolate(logits, [| height; width |], mode = InterpolationMode.Bilinear, align_corners = false)

/// Eq. 5: logits (B, K + 1, H, W), cpl (B, H, W) int64, weights (B, H, W) (the RAW weights,
/// averaging 1 over the batch) or None for the plain cross entropy.
let loss (reduction: C2sReduction) (logits: Tensor) (cpl: Tensor) (weights: Tensor option) : Tensor =
    match reduction, weights with
    | AllPixels, Some w -> Losses.weightedCrossEntropy logits cpl w
    | AllPixels, None -> Losses.crossEntropy logits cpl
    | BackgroundForegroundHalves, w -> Losses.halvesCrossEntropy logits cpl w

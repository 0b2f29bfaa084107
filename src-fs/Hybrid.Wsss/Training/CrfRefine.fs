/// Dense-CRF post-processing of segmentation probabilities (test time, MAP.md).
module Hybrid.Wsss.Training.CrfRefine

open Hybrid.Torch
open Hybrid.Vision

/// Refines probabilities (B, C, H, W) with the dense CRF on the denormalised images
/// (B, 3, H, W) (ImageNet normalisation undone), one image at a time on the CPU.
let refine (preset: CrfPreset) (images: Tensor) (probs: Tensor) : Tensor =
    use scope = torch.NewDisposeScope()
    let mean = torch.tensor([| 0.485f; 0.456f; 0.406f |], [| 1L; 3L; 1L; 1L |])
    let std = torch.tensor([| 0.229f; 0.224f; 0.225f |], [| 1L; 3L; 1L; 1L |])
    let rgb = ((images * std + mean) * 255.0).round().clamp(0.0, 255.0).to_type(ScalarType.UInt8)   // (B, 3, H, W)
    let outs = [ for i in 0L .. probs.size 0 - 1L -> DenseCrf.Infer(rgb[TensorIndex.Single i], probs[TensorIndex.Single i], preset) ]
    (torch.stack(outs)).MoveToOuterDisposeScope()

/// Dense-CRF post-processing of segmentation probabilities (test time, MAP.md).
module Hybrid.Wsss.Training.CrfRefine

open TorchSharp
open Hybrid.Vision
open Hybrid.Wsss

/// Refines probabilities (B, C, H, W) with the dense CRF on the denormalised images
/// (B, 3, H, W) (ImageNet normalisation undone), one image at a time (the CRF runs on the CPU;
/// the refined probabilities come back on the device of `probs`).
let refine (preset: CrfPreset) (images: Tensor) (probs: Tensor) : Tensor =
    use scope = torch.NewDisposeScope()
    let mean = torch.tensor([| 0.485f; 0.456f; 0.406f |], [| 1L; 3L; 1L; 1L |], device = images.device)
    let std = torch.tensor([| 0.229f; 0.224f; 0.225f |], [| 1L; 3L; 1L; 1L |], device = images.device)
    let rgb = ((images * std + mean) * 255.0).round().clamp(0.0, 255.0).to_type(ScalarType.Byte)   // (B, 3, H, W)
    let outs = [ for i in 0L .. probs.size 0 - 1L -> DenseCrf.Infer(rgb.select(0L, i), probs.select(0L, i), preset) ]   // (C, H, W) each
    (torch.stack(outs)).MoveToOuterDisposeScope()

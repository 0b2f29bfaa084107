namespace Hybrid.Wsss.Methods.AuxSegNetPlus

open TorchSharp
open Hybrid.Wsss
open Hybrid.Wsss.Training

/// The pseudo labels a label stage trains on, at image resolution.
type StageTargets =
    { /// (B, H, W) int64: 0 background, 1..K classes, 255 ignore
      Segmentation: Tensor
      /// (B, 1, H, W) float32 saliency in [0, 1] (soft targets)
      Saliency: Tensor }

/// Eq. 19: L = L_cls + (L_sal + L_sal' + L_sal'') + (L_seg + L_seg' + L_seg''), all weights 1.
/// Our refinement applies the pairwise and unary affinities together (see CrossTaskDualAffinity),
/// so each dense task has an initial and one refined prediction. Predictions are upsampled
/// bilinearly to the label size before the losses (as the public AuxSegNet code does).
module Objective =
    let private upsample (h: int64) (w: int64) (x: Tensor) =
        if x.size 2 = h && x.size 3 = w then x.alias ()
        else torch.nn.functional.interpolate(x, [| h; w |], mode = InterpolationMode.Bilinear, align_corners = false)

    /// Cross entropy of probabilities (B, C, H, W) against labels (B, H, W) (255 ignored): the
    /// mean over valid pixels of -log p_label (nll_loss with ignore_index 255, which TorchSharp's
    /// nll_loss lacks); 0 when no pixel is valid.
    let probabilityCrossEntropy (probabilities: Tensor) (target: Tensor) : Tensor =
        use scope = torch.NewDisposeScope()
        let logP = probabilities.clamp_min(1e-8).log()                 // (B, C, H, W)
        let valid = target.ne(255.0)                                   // (B, H, W)
        let loss =
            if Host.item<bool> (valid.any()) then
                let safe = target.masked_fill(valid.logical_not(), 0.0) // (B, H, W)
                let picked = logP.gather(1L, safe.unsqueeze(1L)).squeeze(1L) // (B, H, W): log p_label
                let validF = valid.to_type(logP.dtype)
                -(picked * validF).sum() / validF.sum()
            else logP.sum() * 0.0
        loss.MoveToOuterDisposeScope()

    /// Binary cross entropy of probabilities (B, 1, H, W) against soft targets of the same shape.
    let probabilityBce (probabilities: Tensor) (target: Tensor) : Tensor =
        use p = probabilities.clamp(1e-7, 1.0 - 1e-7)
        torch.nn.functional.binary_cross_entropy(p, target)

    /// The classification phase: multilabel soft margin only.
    let classification (scores: Tensor) (labels: Tensor) : NamedLosses =
        [ "cls", Losses.multilabelSoftMargin scores labels ]

    /// The loss terms of a label-stage step for the configured branches and affinity.
    let stage (cfg: Config) (out: Outputs) (labels: Tensor) (targets: StageTargets) : NamedLosses =
        let h, w = targets.Segmentation.size 1, targets.Segmentation.size 2
        if targets.Saliency.shape <> [| targets.Segmentation.size 0; 1L; h; w |] then
            invalidArg (nameof targets) (sprintf "saliency labels %A must be (B, 1, H, W) like the segmentation labels %A" targets.Saliency.shape targets.Segmentation.shape)
        [ if Branches.hasClassification cfg.Branches then
              yield "cls", Losses.multilabelSoftMargin out.Scores labels
          match out.Saliency with
          | Some s -> yield "sal", torch.nn.functional.binary_cross_entropy_with_logits(upsample h w s, targets.Saliency)
          | None -> ()
          match out.RefinedSaliency, cfg.Refines with
          | Some s, Probabilities -> yield "sal_refined", probabilityBce (upsample h w s) targets.Saliency
          | Some s, Logits -> yield "sal_refined", torch.nn.functional.binary_cross_entropy_with_logits(upsample h w s, targets.Saliency)
          | None, _ -> ()
          yield "seg", Losses.crossEntropy (upsample h w out.Segmentation) targets.Segmentation
          match out.RefinedSegmentation, cfg.Refines with
          | Some p, Probabilities -> yield "seg_refined", probabilityCrossEntropy (upsample h w p) targets.Segmentation
          | Some z, Logits -> yield "seg_refined", Losses.crossEntropy (upsample h w z) targets.Segmentation
          | None, _ -> () ]

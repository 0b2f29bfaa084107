/// Losses shared by the methods, as functions of tensors. Shapes: B batch, K foreground
/// classes, C = K + 1 segmentation classes, N sampled pixels, D embedding size.
module Hybrid.Wsss.Losses

open TorchSharp
open Hybrid.Wsss

type private F = torch.nn.functional

/// Multilabel soft margin (PLDA, AuxSegNet+): scores (B, K), labels (B, K) multi-hot.
let multilabelSoftMargin (scores: Tensor) (labels: Tensor) : Tensor =
    F.multilabel_soft_margin_loss(scores, labels)

/// Per-class binary cross entropy on logits (CoSA Eq. 1): scores (B, K), labels (B, K).
let bce (scores: Tensor) (labels: Tensor) : Tensor =
    F.binary_cross_entropy_with_logits(scores, labels)

/// Cross entropy of logits (B, C, H, W) against labels (B, H, W) int64; 255 is ignored.
/// With no valid pixel the loss is 0 (not NaN).
let crossEntropy (logits: Tensor) (target: Tensor) : Tensor =
    use valid = target.ne(255.0)
    if Host.item<bool> (valid.any()) then F.cross_entropy(logits, target, ignore_index = 255L)
    else (logits.sum()) * 0.0

/// The per-pixel cross entropy of logits (B, C, H, W) against target (B, H, W) with 255 read
/// as class 0 and flagged invalid: (valid, the target with 255 -> 0, the losses), each (B, H, W).
let private perPixelCrossEntropy (logits: Tensor) (target: Tensor) =
    let valid = target.ne(255.0)                                   // (B, H, W)
    let safeTarget = target.masked_fill(valid.logical_not(), 0.0)  // (B, H, W)
    valid, safeTarget, F.cross_entropy(logits, safeTarget, reduction = torch.nn.Reduction.None) // (B, H, W)

/// Cross entropy with per-pixel weights (B, H, W) (CoSA's reliability weights), averaged
/// over the valid (non-255) pixels.
let weightedCrossEntropy (logits: Tensor) (target: Tensor) (weights: Tensor) : Tensor =
    use scope = torch.NewDisposeScope()
    let valid, _, perPixel = perPixelCrossEntropy logits target // (B, H, W) each
    let w = weights * valid.to_type(weights.dtype)
    let n = valid.sum().to_type(ScalarType.Float32).clamp_min(1.0)
    ((perPixel * w).sum() / n).MoveToOuterDisposeScope()

/// Cross entropy averaged over the background pixels (label 0) and over the foreground pixels
/// (labels > 0) separately, each half weighing 0.5 (CoSA's public code reduces its CAM2Seg loss
/// so): however little of the image the objects cover, they carry half the loss. Per-pixel
/// weights (B, H, W) multiply the losses inside each half; 255 is ignored; a half without pixels
/// contributes 0. logits (B, C, H, W), target (B, H, W).
let halvesCrossEntropy (logits: Tensor) (target: Tensor) (weights: Tensor option) : Tensor =
    use scope = torch.NewDisposeScope()
    let valid, _, perPixel = perPixelCrossEntropy logits target // (B, H, W) each
    let weighted = match weights with Some w -> perPixel * w | None -> perPixel
    let half (mask: Tensor) =
        let m = mask.to_type(perPixel.dtype)
        (weighted * m).sum() / m.sum().clamp_min(1.0)
    let background = valid.logical_and(target.eq(0.0))
    let foreground = valid.logical_and(target.gt(0.0))
    ((half background + half foreground) * 0.5).MoveToOuterDisposeScope()

/// Class-balanced cross entropy (PLDA Eq. 7-8, after 1-stage-wseg's balanced mask loss): a
/// pixel of class c in image b is weighted (N_b - N_bc) / (1 + N_b), N_b the image's labelled
/// pixels and N_bc those of class c, and the weighted losses are averaged over all B H W
/// pixels (unlabelled ones count 0). Small classes weigh more, and an image whose labels hold a
/// single class contributes nothing. logits (B, C, H, W), target (B, H, W) with 255 ignored.
let classBalancedCrossEntropy (logits: Tensor) (target: Tensor) : Tensor =
    use scope = torch.NewDisposeScope()
    let c = logits.size 1
    let valid, safeTarget, perPixel = perPixelCrossEntropy logits target // (B, H, W) each
    let validF = valid.to_type(ScalarType.Float32)
    let oneHot = F.one_hot(safeTarget, c).to_type(ScalarType.Float32) * validF.unsqueeze(-1L) // (B, H, W, C)
    let perClass = oneHot.sum([| 1L; 2L |], keepdim = true)        // (B, 1, 1, C): N_bc
    let total = perClass.sum(-1L, keepdim = true)                  // (B, 1, 1, 1): N_b
    let classWeight = (total - perClass) / (total + 1.0)           // (B, 1, 1, C)
    let weight = (oneHot * classWeight).sum(-1L)                   // (B, H, W); 0 where unlabelled
    (perPixel * weight).mean().MoveToOuterDisposeScope()

/// KL(P || Q) between class distributions per pixel, averaged over the pixels where
/// mask is true: p (B, C, H, W) probabilities (teacher), logQ (B, C, H, W) log-probabilities
/// (student), mask (B, H, W) bool. Zero when no pixel is selected. Always >= 0.
let klDivergence (p: Tensor) (logQ: Tensor) (mask: Tensor) : Tensor =
    use scope = torch.NewDisposeScope()
    let m = mask.to_type(ScalarType.Float32)                            // (B, H, W)
    let logP = p.clamp_min(1e-12).log()
    let perPixel = (p * (logP - logQ)).sum(1L)                     // (B, H, W)
    let n = m.sum().clamp_min(1.0)
    ((perPixel * m).sum() / n).MoveToOuterDisposeScope()

/// Supervised InfoNCE (CoSA Eq. 10): embeddings (N, D) (L2-normalised inside), labels (N)
/// int64. For each anchor, positives are the other samples of its label, negatives all
/// others: loss_i = -mean_{p in P(i)} log( exp(s_ip / tau) / sum_{a != i} exp(s_ia / tau) ).
/// Anchors without a positive are skipped; 0 when none has one.
let infoNce (temperature: float) (embeddings: Tensor) (labels: Tensor) : Tensor =
    use scope = torch.NewDisposeScope()
    let n = embeddings.size 0
    let z = F.normalize(embeddings, dim = 1L)                      // (N, D)
    let sim = z.matmul(z.t()) / temperature                        // (N, N)
    let self = torch.eye(n, dtype = ScalarType.Bool, device = embeddings.device)
    let logits = sim.masked_fill(self, -1e9)                       // exclude a = i
    let logProb = logits.log_softmax(1L)                           // (N, N)
    let same = labels.unsqueeze(1L).eq(labels.unsqueeze(0L)).logical_and(self.logical_not()) // (N, N)
    let posF = same.to_type(ScalarType.Float32)
    let posCount = posF.sum(1L)                                    // (N)
    let hasPos = posCount.gt(0.0).to_type(ScalarType.Float32)
    let perAnchor = -(logProb * posF).sum(1L) / posCount.clamp_min(1.0)
    let loss = (perAnchor * hasPos).sum() / hasPos.sum().clamp_min(1.0)
    loss.MoveToOuterDisposeScope()

namespace Hybrid.Wsss.Methods.Plda

open TorchSharp
open Hybrid.Wsss

/// Confident Pseudo-Supervision (Sec. III-E, Eq. 7-8). K foreground classes, C = K + 1 with
/// channel 0 the background; everything at the CAM's resolution (h, w).
///
/// Our reading of the paper (the equations' symbols were lost in extraction; the public code
/// and 1-stage-wseg, which the paper follows, fix them):
/// - the pseudo-label distribution is PAMR(softmax([1, s_1 .. s_K])): the raw CAM scores with a
///   background logit fixed at 1, absent classes excluded, refined against the image;
/// - a pixel is confident for class c when c's probability exceeds the dynamic threshold
///   tau_c = max(floor, eta_c * the largest probability of c in the image) (1-stage-wseg's
///   per-image, per-class cut-off: eta = 0.6 for the classes, 0.7 for the background, floor
///   0.2); its pseudo label is that class where exactly one class is confident, and it is
///   ignored where none or several are (as the public code; the paper only says the maximum
///   of the prediction is the confidence indicator);
/// - the source term supervises confident source pixels, the target term confident target
///   pixels with labels from the masked image's refined CAM. Inside a domain only the pixel's
///   own foreground class is supervised (the public code keeps the label of class c only where
///   the pixel is in class c's domain and zeroes the background channel everywhere, so CPS
///   never supervises background; the paper does not say);
/// - the loss is the class-balanced cross entropy of 1-stage-wseg (Losses.classBalancedCrossEntropy:
///   an image whose supervised pixels hold a single class adds nothing) applied to the CAM scores
///   with a background channel ([s_bg, s_1 .. s_K], s_bg from a 1x1 background scorer, as the
///   21-channel classifier of the public SEAM variant), i.e. on the per-pixel classifier the
///   CAM itself is.
module ConfidentPseudoSupervision =
    /// Logits [1, s_1 .. s_K] with absent classes at -1e9: scores (B, K, h, w), labels (B, K)
    /// -> (B, K + 1, h, w), no gradient.
    let withFixedBackground (scores: Tensor) (labels: Tensor) : Tensor =
        use scope = torch.NewDisposeScope()
        let s = scores.detach ()                                          // (B, K, h, w)
        let b, k = s.size 0, s.size 1
        let absent = labels.eq(0.0).view(b, k, 1L, 1L).expand_as s       // (B, K, h, w)
        let fg = s.masked_fill (absent, -1e9)                             // (B, K, h, w)
        let bg = torch.ones ([| b; 1L; s.size 2; s.size 3 |], device = s.device) // (B, 1, h, w)
        (torch.cat ([| bg; fg |], 1L)).MoveToOuterDisposeScope()          // (B, K + 1, h, w)

    /// The pseudo-label distribution: refine (softmax of the logits with the fixed background).
    /// refine maps (images (B, 3, H, W), probabilities (B, C, h, w)) to refined probabilities
    /// (PAMR at the CAM's size; identity to switch refinement off). -> (B, K + 1, h, w), no gradient.
    let distribution (refine: Tensor -> Tensor -> Tensor) (images: Tensor) (scores: Tensor) (labels: Tensor) : Tensor =
        use _ng = torch.no_grad ()
        use scope = torch.NewDisposeScope()
        let logits = withFixedBackground scores labels                    // (B, C, h, w)
        let p = logits.softmax 1L                                         // (B, C, h, w)
        (refine images p).MoveToOuterDisposeScope()

    /// The cut-off per image and class: max(floor, ratio_c * spatial max), ratio_0 the
    /// background's. p (B, C, h, w) -> (B, C, 1, 1).
    let thresholds (cutoffs: CpsCutoffs) (p: Tensor) : Tensor =
        use scope = torch.NewDisposeScope()
        let c = p.size 1
        let ratios =
            torch.tensor (Array.init (int c) (fun i -> float32 (if i = 0 then cutoffs.Background else cutoffs.Foreground)),
                          [| 1L; c; 1L; 1L |], device = p.device)         // (1, C, 1, 1)
        let mx = p.amax ([| 2L; 3L |], keepdim = true)                    // (B, C, 1, 1)
        ((mx * ratios).clamp_min cutoffs.Floor).MoveToOuterDisposeScope()

    /// Confident pseudo labels (B, h, w) int64 (1-stage-wseg): the class (0 = background)
    /// whose probability exceeds its cut-off where exactly one class does; 255 where none or
    /// several do (ambiguous pixels are dropped). p (B, C, h, w).
    let confidentLabels (cutoffs: CpsCutoffs) (p: Tensor) : Tensor =
        use scope = torch.NewDisposeScope()
        let above = (p.gt (thresholds cutoffs p)).to_type ScalarType.Float32 // (B, C, h, w)
        let count = above.sum 1L                                          // (B, h, w)
        let arg = above.argmax 1L                                         // (B, h, w): the one above, where unique
        (arg.masked_fill (count.ne 1.0, 255.0)).MoveToOuterDisposeScope()

    /// Keeps a label only inside a domain and only when it is the pixel's assigned foreground
    /// class: labels (B, h, w) in 0..K / 255, domain (B, h, w) bool, head (B, h, w) class
    /// index 0..K-1 (or -1) -> (B, h, w) with 255 elsewhere.
    let restrict (labels: Tensor) (domain: Tensor) (head: Tensor) : Tensor =
        use scope = torch.NewDisposeScope()
        let agrees = labels.eq(head + 1L).logical_and(labels.gt 0.0).logical_and domain // (B, h, w); head -1 never matches
        (labels.masked_fill (agrees.logical_not (), 255.0)).MoveToOuterDisposeScope()

    /// Supervised labels of one domain: confident labels of the distribution restricted to the domain.
    let targets (cutoffs: CpsCutoffs) (p: Tensor) (domain: Tensor) (head: Tensor) : Tensor =
        use lbl = confidentLabels cutoffs p
        restrict lbl domain head

    /// The CPS loss of one domain: class-balanced cross entropy of the per-pixel classifier
    /// logits (B, K + 1, h, w) against the domain's supervised labels (B, h, w) (1-stage-wseg's
    /// per-image weights, averaged over all B h w pixels); 0 without any.
    let loss (logits: Tensor) (supervised: Tensor) : Tensor =
        Losses.classBalancedCrossEntropy logits supervised

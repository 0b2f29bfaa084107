namespace Hybrid.Wsss.Methods.AuxSegNetPlus

open TorchSharp
open Hybrid.Vision
open Hybrid.Wsss

/// An affinity as an operator on maps at its resolution: x (B, K, h, w) ->
/// x'_i = sum_j A[i, j] x_j (plus, with a unary affinity U, sum_j U[j] x_j at every i).
type AffinityOperator = Tensor -> Tensor

/// Refinement of predictions (Eq. 14-17) and CAMs (Eq. 18) by a learned affinity.
///
/// The fused cross-task affinity is a per-entry weighted sum of two row-stochastic maps, so
/// its rows only approximately sum to 1, and the unary term adds a second distribution over
/// positions; the raw A P of probabilities P is then not a distribution (with the unary term its
/// class sum is about 2). Refined maps are therefore divided by the refinement of the constant
/// map 1: P' = op(P) / op(1). With non-negative affinities this makes P' a convex combination of
/// the initial predictions: softmax outputs stay distributions over classes, sigmoid outputs stay
/// in [0, 1], and a row-stochastic A without unary term is left exactly as it was.
module AffinityRefinement =
    /// Normalised refinement of x (B, K, h, w): op(x) / op(1), computed in one pass of the operator.
    let normalised (op: AffinityOperator) (x: Tensor) : Tensor =
        if x.dim () <> 4 then
            invalidArg (nameof x) (sprintf "affinity refinement expects maps (B, K, h, w), got %A" x.shape)
        use scope = torch.NewDisposeScope()
        let b, k, h, w = x.size 0, x.size 1, x.size 2, x.size 3
        let ones = torch.ones([| b; 1L; h; w |], dtype = x.dtype, device = x.device) // (B, 1, h, w)
        let both = op (torch.cat([| x; ones |], 1L))                  // (B, K + 1, h, w)
        let num = both.narrow(1L, 0L, k)                               // (B, K, h, w)
        let den = both.narrow(1L, k, 1L).clamp_min(1e-12)              // (B, 1, h, w)
        (num / den).MoveToOuterDisposeScope()

    /// The operator of a learned affinity: pairwise A (+ unary U when `withUnary` and the
    /// module is dual).
    let ofAffinity (withUnary: bool) (affinity: CrossTaskAffinity) : AffinityOperator =
        fun x -> affinity.Refine(x, withUnary)

    /// The operator of a dense affinity matrix (B, N, N) (N = h w), rows = query positions:
    /// x'_i = sum_j A[i, j] x_j. For tests and inspection.
    let ofMatrix (a: Tensor) : AffinityOperator =
        fun x ->
            use scope = torch.NewDisposeScope()
            let s = x.shape
            let flat = x.reshape(s.[0], s.[1], s.[2] * s.[3])          // (B, K, N)
            let refined = flat.bmm(a.transpose(1L, 2L))                // (B, K, N)
            refined.view(s).MoveToOuterDisposeScope()                  // (B, K, h, w)

    /// Eq. 14-17: refined predictions (probabilities) with the affinity used in training
    /// (pairwise and, for the dual module, unary).
    let predictions (affinity: CrossTaskAffinity) (probabilities: Tensor) : Tensor =
        normalised (ofAffinity true affinity) probabilities

    /// Refinement by the pairwise cross-task affinity alone, of maps (B, K, h, w): Eq. 18's CAMs
    /// ("the trained pairwise cross-task affinity") and, at inference, the segmentation
    /// probabilities (Sec. III-C: "refined by the learned cross-task pairwise affinity map").
    /// Training refines with both affinities (`predictions`); the unary term adds the
    /// U-weighted global mean of the prediction at every position, which on images that are
    /// mostly background pulls every pixel towards background.
    let pairwise (affinity: CrossTaskAffinity) (maps: Tensor) : Tensor =
        normalised (ofAffinity false affinity) maps

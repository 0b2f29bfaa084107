/// Tensor form of CoSA's perplexity and reliability weights (Eq. 4-5, "RAW"), mirroring the
/// array functions of Hybrid.Wsss.Thresholds.Perplexity (the tests hold them to each other).
module Hybrid.Wsss.Methods.Cosa.Reliability

open TorchSharp
open Hybrid.Wsss
open Hybrid.Wsss.Thresholds

let private check (p: PerplexityParams) (xi: float) =
    // the array form validates the same way; one call with a valid confidence reuses it
    Perplexity.perplexity p xi xi |> ignore

/// Eq. 4 at every confidence: P = [-log(lambda_alpha d)]^lambda_beta with d the normalised
/// distance of nu to xi, (nu - xi) / (1 - xi) above the threshold and (xi - nu) / xi below,
/// clamped to [MinDistance, 1]. nu any shape -> P of the same shape, >= (-log alpha)^beta.
let perplexity (p: PerplexityParams) (xi: float) (nu: Tensor) : Tensor =
    check p xi
    use scope = torch.NewDisposeScope()
    let above = (nu - xi) / (1.0 - xi)
    let below = (xi - nu) / xi
    let d = torch.where(nu.ge(xi), above, below).clamp(p.MinDistance, 1.0)
    let pp = (-(d * p.Alpha).log())
    let result = if p.Beta = 1.0 then pp else pp.pow(p.Beta)
    result.MoveToOuterDisposeScope()

/// Eq. 5's weights over the region R = every element given: the reciprocal perplexity
/// normalised to average 1, w = |R| P^-1 / sum_R P^-1. Same shape as the input.
let weights (perplexities: Tensor) : Tensor =
    use scope = torch.NewDisposeScope()
    let r = perplexities.reciprocal()
    let n = float (perplexities.numel ())
    (r * n / r.sum()).MoveToOuterDisposeScope()

/// RAW weights of the CAM2Seg cross entropy from the confidences nu (B, H, W) and xi.
let rawWeights (p: PerplexityParams) (xi: float) (nu: Tensor) : Tensor =
    use pp = perplexity p xi nu
    weights pp

/// The low-perplexity region of Eq. 9 (P <= epsilon) as a bool mask of nu's shape.
let lowPerplexity (p: PerplexityParams) (xi: float) (epsilon: float) (nu: Tensor) : Tensor =
    use pp = perplexity p xi nu
    pp.le(epsilon)

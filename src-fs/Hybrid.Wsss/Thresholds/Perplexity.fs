namespace Hybrid.Wsss.Thresholds

open System

/// Constants of CoSA's perplexity (Eq. 4). `MinDistance` floors the normalised distance so the
/// perplexity of a confidence exactly at the threshold is large but finite.
type PerplexityParams =
    { /// lambda_alpha in (0, 1): sets the smallest perplexity, (-log lambda_alpha)^lambda_beta
      Alpha: float
      /// lambda_beta > 0: sharpness of the perplexity curve
      Beta: float
      /// floor of the normalised distance d, in (0, 1)
      MinDistance: float }

/// Per-pixel perplexity of a CAM pseudo label and the reliability weights derived from it
/// (CoSA Eq. 4-5, "RAW"). Pure functions on arrays; the tensor path mirrors them.
module Perplexity =
    /// CoSA implementation details: (lambda_alpha, lambda_beta) = (0.8, 1). The distance
    /// floor 1e-6 caps the perplexity at (-log 8e-7)^1 = 14.04.
    let cosa =
        { Alpha = 0.8
          Beta = 1.0
          MinDistance = 1e-6 }

    /// CoSA's low-perplexity bound epsilon = 1 for the contrastive-separation region (Eq. 9-10).
    let cosaLowPerplexityBound = 1.0

    let private validate (p: PerplexityParams) (xi: float) =
        if not (p.Alpha > 0.0 && p.Alpha < 1.0) then
            invalidArg (nameof p) (sprintf "Perplexity needs 0 < lambda_alpha < 1 (so P > 0), got %g." p.Alpha)
        if not (p.Beta > 0.0) || Double.IsInfinity p.Beta then
            invalidArg (nameof p) (sprintf "Perplexity needs a finite lambda_beta > 0, got %g." p.Beta)
        if not (p.MinDistance > 0.0 && p.MinDistance < 1.0) then
            invalidArg (nameof p) (sprintf "Perplexity needs 0 < MinDistance < 1, got %g." p.MinDistance)
        if not (xi > 0.0 && xi < 1.0) then
            invalidArg (nameof xi) (sprintf "Perplexity needs a threshold 0 < xi < 1, got %g." xi)

    /// The normalised distance d of a confidence nu to the threshold xi (the term inside the
    /// logarithm of Eq. 4, before lambda_alpha): (nu - xi) / (1 - xi) above the threshold,
    /// (xi - nu) / xi below it, so d = 0 at the threshold and d = 1 at the ends 0 and 1 of the
    /// confidence range. Clamped to [minDistance, 1] (confidences outside [0, 1] count as 1).
    let normalisedDistance (minDistance: float) (xi: float) (nu: float) : float =
        if Double.IsNaN nu then invalidArg (nameof nu) "A confidence is NaN; check the CAMs for non-finite values."
        let d = if nu >= xi then (nu - xi) / (1.0 - xi) else (xi - nu) / xi
        min 1.0 (max minDistance d)

    /// CoSA Eq. 4: P = [-log(lambda_alpha * d)]^lambda_beta with d the normalised distance of
    /// the confidence nu to the threshold xi. P >= (-log lambda_alpha)^lambda_beta > 0; it grows
    /// as nu approaches xi (capped by MinDistance) and is smallest at nu = 0 and nu = 1.
    let perplexity (p: PerplexityParams) (xi: float) (nu: float) : float =
        validate p xi
        let d = normalisedDistance p.MinDistance xi nu
        Math.Pow(-log (p.Alpha * d), p.Beta)

    /// Eq. 4 for every confidence of an array (one per pixel).
    let perplexities (p: PerplexityParams) (xi: float) (confidences: float[]) : float[] =
        validate p xi
        confidences
        |> Array.map (fun nu -> Math.Pow(-log (p.Alpha * normalisedDistance p.MinDistance xi nu), p.Beta))

    /// Reliability weights of Eq. 5 over a region R (the pixels passed): the reciprocal
    /// perplexity normalised to average 1, w = |R| P^-1 / sum_R P^-1. Perplexities must be
    /// positive and finite. An empty region gives an empty array.
    let reliabilityWeights (perplexities: float[]) : float[] =
        match perplexities |> Array.tryFindIndex (fun v -> not (v > 0.0) || Double.IsInfinity v) with
        | Some i ->
            invalidArg (nameof perplexities) (sprintf "Perplexity %d is %g; reliability weights need finite positive perplexities." i perplexities.[i])
        | None -> ()
        if perplexities.Length = 0 then
            [||]
        else
            let reliability = perplexities |> Array.map (fun v -> 1.0 / v)
            let scale = float reliability.Length / Array.sum reliability
            reliability |> Array.map (fun r -> r * scale)

    /// RAW per-pixel weights for the CAM2Seg cross entropy (Eq. 5) from the confidences of
    /// one region and the threshold xi.
    let rawWeights (p: PerplexityParams) (xi: float) (confidences: float[]) : float[] =
        perplexities p xi confidences |> reliabilityWeights

    /// The low-perplexity region of Eq. 9-10 (P <= epsilon) as a mask.
    let lowPerplexity (epsilon: float) (perplexities: float[]) : bool[] =
        perplexities |> Array.map (fun v -> v <= epsilon)

namespace Hybrid.Wsss.Methods.Csd

open System

/// What the diagonal N_ii of the co-occurrence counts holds.
type Diagonal =
    /// images containing class i: Eq. 1's "samples with the i-th and j-th class" read at i = j
    | ImagesWithClass
    /// only the single-label images of class i
    | SingleLabelImages
    /// nothing: a class never pairs with itself
    | ZeroDiagonal

/// How counts become row distributions.
type CountEstimate =
    /// Eq. 1: P_ij = N_ij / sum_k N_ik
    | Normalised
    /// the smoothed variant described for CSD's public code: counts start at 1 and each row
    /// is softmax(scale * N_i.) (scale 0.1 there)
    | SmoothedSoftmax of scale: float

type CooccurrenceOptions =
    { Diagonal: Diagonal
      Estimate: CountEstimate }

/// CSD's co-occurrence prior (Eq. 1) and the sampling distribution of co-occurrence oriented
/// resampling. Classes are image-level class indices 0..C-1.
module Cooccurrence =
    /// Eq. 1 as written, diagonal = images containing the class.
    let paper =
        { Diagonal = ImagesWithClass
          Estimate = Normalised }

    /// The smoothed-count variant (init 1, softmax(0.1 N)).
    let smoothed =
        { Diagonal = ImagesWithClass
          Estimate = SmoothedSoftmax 0.1 }

    let private checkLabels (numClasses: int) (labelSets: int[][]) =
        if numClasses < 1 then invalidArg (nameof numClasses) (sprintf "Need at least one class, got %d." numClasses)
        labelSets
        |> Array.iteri (fun i labels ->
            match labels |> Array.tryFind (fun c -> c < 0 || c >= numClasses) with
            | Some c -> invalidArg (nameof labelSets) (sprintf "Image %d has class %d, outside 0..%d." i c (numClasses - 1))
            | None -> ())

    /// N_ij: images containing both class i and class j (i <> j); the diagonal per `diagonal`.
    let counts (diagonal: Diagonal) (numClasses: int) (labelSets: int[][]) : int64[][] =
        checkLabels numClasses labelSets
        let n = Array.init numClasses (fun _ -> Array.zeroCreate<int64> numClasses)
        for labels in labelSets do
            let classes = Array.distinct labels
            for i in classes do
                for j in classes do
                    if i <> j then n.[i].[j] <- n.[i].[j] + 1L
            match diagonal, classes with
            | ImagesWithClass, _ ->
                for i in classes do
                    n.[i].[i] <- n.[i].[i] + 1L
            | SingleLabelImages, [| c |] -> n.[c].[c] <- n.[c].[c] + 1L
            | SingleLabelImages, _
            | ZeroDiagonal, _ -> ()
        n

    /// The row-stochastic prior P (P_ij: probability of class j given class i is present).
    /// Every row sums to 1, except, with `Normalised`, rows of classes that have no count at all
    /// (they never appear in a label set), which are all zero.
    let probabilities (options: CooccurrenceOptions) (numClasses: int) (labelSets: int[][]) : float[][] =
        let n = counts options.Diagonal numClasses labelSets
        match options.Estimate with
        | Normalised ->
            n
            |> Array.map (fun row ->
                let s = Array.sum row
                if s = 0L then Array.zeroCreate numClasses else row |> Array.map (fun v -> float v / float s))
        | SmoothedSoftmax scale ->
            if not (scale > 0.0) || Double.IsInfinity scale then
                invalidArg (nameof options) (sprintf "The smoothed co-occurrence needs a finite scale > 0, got %g." scale)
            n
            |> Array.map (fun row ->
                let z = row |> Array.map (fun v -> scale * (float v + 1.0))
                let m = Array.max z
                let e = z |> Array.map (fun v -> exp (v - m))
                let s = Array.sum e
                e |> Array.map (fun v -> v / s))

    /// The class-sampling distribution for a target image with classes c_1..c_n:
    /// p_j proportional to sum_k P_(c_k, j), restricted to classes with `available.[j]` (those
    /// with single-label images to paste). None when no available class has mass.
    let samplingDistribution (p: float[][]) (available: bool[]) (targetClasses: int[]) : float[] option =
        let numClasses = p.Length
        if available.Length <> numClasses then
            invalidArg (nameof available) (sprintf "Availability has %d classes, the prior %d." available.Length numClasses)
        match targetClasses |> Array.tryFind (fun c -> c < 0 || c >= numClasses) with
        | Some c -> invalidArg (nameof targetClasses) (sprintf "Target class %d is outside 0..%d." c (numClasses - 1))
        | None -> ()
        let classes = Array.distinct targetClasses
        let mass =
            Array.init numClasses (fun j ->
                if available.[j] then classes |> Array.sumBy (fun k -> p.[k].[j]) else 0.0)
        let total = Array.sum mass
        if total > 0.0 then Some(mass |> Array.map (fun v -> v / total)) else None

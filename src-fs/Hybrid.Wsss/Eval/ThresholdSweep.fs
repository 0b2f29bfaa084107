namespace Hybrid.Wsss.Eval

open Hybrid.Wsss

/// One threshold of a sweep and its result.
type SweepPoint = { Threshold: float; Result: EvalResult }

/// A sweep: the best point (highest mIoU; the lowest threshold on ties) and the whole curve.
type SweepResult =
    { Best: SweepPoint
      Curve: SweepPoint list }

/// The background-threshold sweep for CAM seeds (SEAM's protocol: report the best mIoU over
/// background thresholds, and say on which split it was scored).
module ThresholdSweep =
    /// 0.05, 0.10, ..., 0.95.
    let defaultThresholds: float list = [ for i in 1..19 -> float i / 20.0 ]

    /// Scores each threshold with `confusionAt` and picks the best mIoU.
    let sweep (split: Hybrid.Data.VocSplit) (scored: Scored) (thresholds: float list) (confusionAt: float -> ConfusionMatrix) : SweepResult =
        if List.isEmpty thresholds then invalidArg (nameof thresholds) "A threshold sweep needs at least one threshold."
        let curve =
            thresholds
            |> List.map (fun t ->
                { Threshold = t
                  Result = Metrics.evaluate split scored (confusionAt t) })
        // NaN mIoU (nothing scored) ranks below every number
        let key p = if System.Double.IsNaN p.Result.MeanIoU then -infinity else p.Result.MeanIoU
        let best = curve |> List.reduce (fun a b -> if key b > key a then b else a)
        { Best = best; Curve = curve }

    /// CAM seeds at a background threshold: a pixel takes the label of its strongest present
    /// class when that activation exceeds the threshold, else background (0). Strictly greater,
    /// as in argmax over [threshold; CAMs] with ties going to background.
    let seeds (threshold: float) (cams: ClassMaps) : int[] =
        let value, label = ClassMaps.peak cams
        Array.init value.Length (fun p -> if value.[p] > threshold then label.[p] else 0)

    /// Sweeps the background threshold over per-image normalised CAMs and their ground-truth
    /// label arrays (same H x W), in one pass over the images.
    let sweepCams
        (split: Hybrid.Data.VocSplit)
        (numClasses: int)
        (thresholds: float list)
        (images: seq<ClassMaps * int[]>)
        : SweepResult =
        let ts = Array.ofList thresholds
        let accs = ts |> Array.map (fun _ -> ConfusionAccumulator(numClasses))
        for cams, gt in images do
            let value, label = ClassMaps.peak cams
            if gt.Length <> value.Length then
                invalidArg
                    (nameof images)
                    (sprintf "CAMs are %dx%d = %d pixels but the ground truth has %d; resize the CAMs to the label size." cams.Height cams.Width value.Length gt.Length)
            for i in 0 .. ts.Length - 1 do
                let t = ts.[i]
                accs.[i].Add(gt, Array.init value.Length (fun p -> if value.[p] > t then label.[p] else 0))
        let byThreshold = Array.zip ts (accs |> Array.map (fun a -> a.Snapshot())) |> Map.ofArray
        sweep split CamSeeds thresholds (fun t -> byThreshold.[t])

namespace Hybrid.Wsss.Eval

open System
open Hybrid.Data

/// Which output was scored.
type Scored =
    /// CAM seeds (background threshold applied)
    | CamSeeds
    /// pseudo masks (refined CAMs, possibly with an ignore band)
    | PseudoMasks
    /// a segmentation network's predictions
    | Segmentation
    /// a segmentation network's predictions restricted to each image's GT classes (a
    /// diagnostic: seeds and pseudo masks are scored with the image labels, a segmentation
    /// is not; the difference is what the network's recognition costs)
    | SegmentationGivenLabels
    /// a segmentation network's probabilities refined by a dense CRF (the papers' optional
    /// test-time refinement; MAP.md, CoSA Tab. 4c)
    | SegmentationCrf

module Scored =
    /// What a report calls the output scored.
    let name = function
        | CamSeeds -> "CAM seeds"
        | PseudoMasks -> "pseudo masks"
        | Segmentation -> "segmentation"
        | SegmentationGivenLabels -> "segmentation given the image labels (diagnostic)"
        | SegmentationCrf -> "segmentation + dense CRF"

/// Scores of one class; NaN where undefined (no prediction for precision, no ground truth for
/// recall, neither for IoU).
type ClassScore =
    { Class: int
      IoU: float
      Precision: float
      Recall: float }

/// An evaluation result; it always carries the split and the output scored.
type EvalResult =
    { /// The data split scored (CAM papers differ here: always say which).
      Split: VocSplit
      Scored: Scored
      Confusion: ConfusionMatrix
      PerClass: ClassScore[]
      /// mean IoU over the classes with a defined IoU
      MeanIoU: float
      MeanPrecision: float
      MeanRecall: float
      /// class-agnostic IoU of foreground (any class but 0) against background
      ForegroundIoU: float
      PixelAccuracy: float }

/// Segmentation metrics from a confusion matrix.
module Metrics =
    let private ratio (num: int64) (den: int64) = if den = 0L then nan else float num / float den

    let private truePositives (cm: ConfusionMatrix) c = ConfusionMatrix.count cm c c

    /// pixels predicted as class c (labelled predictions only)
    let private predicted (cm: ConfusionMatrix) c =
        let mutable s = 0L
        for g in 0 .. cm.NumClasses - 1 do
            s <- s + ConfusionMatrix.count cm g c
        s

    /// ground-truth pixels of class c
    let private actual (cm: ConfusionMatrix) c =
        let mutable s = cm.Unlabelled.[c]
        for p in 0 .. cm.NumClasses - 1 do
            s <- s + ConfusionMatrix.count cm c p
        s

    /// Per-class IoU = TP / (TP + FP + FN); unlabelled predictions count as FN.
    let iou (cm: ConfusionMatrix) : float[] =
        Array.init cm.NumClasses (fun c ->
            let tp = truePositives cm c
            ratio tp (predicted cm c + actual cm c - tp))

    /// Per-class precision = TP / predicted.
    let precision (cm: ConfusionMatrix) : float[] =
        Array.init cm.NumClasses (fun c -> ratio (truePositives cm c) (predicted cm c))

    /// Per-class recall = TP / ground truth.
    let recall (cm: ConfusionMatrix) : float[] =
        Array.init cm.NumClasses (fun c -> ratio (truePositives cm c) (actual cm c))

    /// Mean of the defined (non-NaN) values; NaN if none is defined.
    let nanMean (values: float[]) : float =
        let defined = values |> Array.filter (fun v -> not (Double.IsNaN v))
        if defined.Length = 0 then nan else Array.average defined

    /// mIoU over classes present in the ground truth or the prediction.
    let meanIoU (cm: ConfusionMatrix) : float = nanMean (iou cm)

    /// Class-agnostic foreground IoU (class 0 is background): localisation quality regardless
    /// of which foreground class was predicted. Unlabelled predictions are not foreground.
    let foregroundIoU (cm: ConfusionMatrix) : float =
        let mutable tp = 0L
        let mutable fp = 0L
        let mutable fn = 0L
        for g in 0 .. cm.NumClasses - 1 do
            for p in 0 .. cm.NumClasses - 1 do
                let n = ConfusionMatrix.count cm g p
                if g <> 0 && p <> 0 then tp <- tp + n
                elif g = 0 && p <> 0 then fp <- fp + n
                elif g <> 0 && p = 0 then fn <- fn + n
            if g <> 0 then fn <- fn + cm.Unlabelled.[g]
        ratio tp (tp + fp + fn)

    /// Correct pixels over all counted ground-truth pixels.
    let pixelAccuracy (cm: ConfusionMatrix) : float =
        let mutable diag = 0L
        for c in 0 .. cm.NumClasses - 1 do
            diag <- diag + truePositives cm c
        ratio diag (ConfusionMatrix.total cm)

    /// All metrics of a confusion matrix, labelled with the split and the output scored.
    let evaluate (split: VocSplit) (scored: Scored) (cm: ConfusionMatrix) : EvalResult =
        let ious = iou cm
        let precisions = precision cm
        let recalls = recall cm
        { Split = split
          Scored = scored
          Confusion = cm
          PerClass =
            Array.init cm.NumClasses (fun c ->
                { Class = c
                  IoU = ious.[c]
                  Precision = precisions.[c]
                  Recall = recalls.[c] })
          MeanIoU = nanMean ious
          MeanPrecision = nanMean precisions
          MeanRecall = nanMean recalls
          ForegroundIoU = foregroundIoU cm
          PixelAccuracy = pixelAccuracy cm }

    /// One line: "val segmentation: mIoU 45.21 fg-IoU 70.03 P 60.10 R 58.70 acc 90.12" (percent).
    let describe (r: EvalResult) : string =
        let split = VocReader.SplitFileName r.Split
        let scored = Scored.name r.Scored
        sprintf
            "%s %s: mIoU %.2f fg-IoU %.2f P %.2f R %.2f acc %.2f"
            split
            scored
            (100.0 * r.MeanIoU)
            (100.0 * r.ForegroundIoU)
            (100.0 * r.MeanPrecision)
            (100.0 * r.MeanRecall)
            (100.0 * r.PixelAccuracy)

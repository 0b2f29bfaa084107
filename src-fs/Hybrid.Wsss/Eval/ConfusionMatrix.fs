namespace Hybrid.Wsss.Eval

/// Pixel counts of (ground truth, prediction) pairs over C classes (0 = background).
/// Ground-truth pixels with the ignore index 255 are not counted; predictions with the ignore
/// index (the ignore band of pseudo labels) are counted per ground-truth class in
/// `Unlabelled`, so they lower recall and IoU but not precision.
type ConfusionMatrix =
    { NumClasses: int
      /// row-major (ground truth, prediction), NumClasses x NumClasses
      Counts: int64[]
      /// per ground-truth class: pixels the prediction left unlabelled
      Unlabelled: int64[] }

/// A mutable accumulator for evaluation loops; `Snapshot` gives the immutable matrix.
type ConfusionAccumulator(numClasses: int) =
    do
        if numClasses < 1 || numClasses > 255 then
            invalidArg (nameof numClasses) (sprintf "A confusion matrix needs 1..255 classes, got %d." numClasses)
    let counts: int64[] = Array.zeroCreate (numClasses * numClasses)
    let unlabelled: int64[] = Array.zeroCreate numClasses

    member _.NumClasses = numClasses

    /// Adds one image's label arrays (same length, row-major pixels).
    member _.Add(groundTruth: int[], prediction: int[]) =
        if groundTruth.Length <> prediction.Length then
            invalidArg
                (nameof prediction)
                (sprintf "Ground truth has %d pixels but the prediction has %d; resize the prediction to the label size." groundTruth.Length prediction.Length)
        for i in 0 .. groundTruth.Length - 1 do
            let g = groundTruth.[i]
            let p = prediction.[i]
            if g <> 255 then
                if g < 0 || g >= numClasses then
                    invalidArg
                        (nameof groundTruth)
                        (sprintf "Ground-truth label %d at pixel %d is outside 0..%d and not the ignore index 255." g i (numClasses - 1))
                if p = 255 then
                    unlabelled.[g] <- unlabelled.[g] + 1L
                elif p < 0 || p >= numClasses then
                    invalidArg
                        (nameof prediction)
                        (sprintf "Predicted label %d at pixel %d is outside 0..%d and not the ignore index 255." p i (numClasses - 1))
                else
                    let k = g * numClasses + p
                    counts.[k] <- counts.[k] + 1L

    /// Adds another matrix's counts.
    member _.Add(other: ConfusionMatrix) =
        if other.NumClasses <> numClasses then
            invalidArg (nameof other) (sprintf "Cannot add a %d-class confusion matrix to a %d-class one." other.NumClasses numClasses)
        for k in 0 .. counts.Length - 1 do
            counts.[k] <- counts.[k] + other.Counts.[k]
        for c in 0 .. numClasses - 1 do
            unlabelled.[c] <- unlabelled.[c] + other.Unlabelled.[c]

    /// The counts so far as an immutable matrix.
    member _.Snapshot() : ConfusionMatrix =
        { NumClasses = numClasses
          Counts = Array.copy counts
          Unlabelled = Array.copy unlabelled }

module ConfusionMatrix =
    /// Label value excluded from ground truth and marking unlabelled predictions.
    let ignoreIndex = 255

    /// A matrix with no pixels.
    let empty (numClasses: int) : ConfusionMatrix = ConfusionAccumulator(numClasses).Snapshot()

    /// Count of pixels with ground truth `gt` predicted as `pred`.
    let count (cm: ConfusionMatrix) (gt: int) (pred: int) : int64 = cm.Counts.[gt * cm.NumClasses + pred]

    /// Adds one image's label arrays.
    let accumulate (groundTruth: int[]) (prediction: int[]) (cm: ConfusionMatrix) : ConfusionMatrix =
        let acc = ConfusionAccumulator(cm.NumClasses)
        acc.Add cm
        acc.Add(groundTruth, prediction)
        acc.Snapshot()

    /// The matrix of one pair of label arrays.
    let ofLabels (numClasses: int) (groundTruth: int[]) (prediction: int[]) : ConfusionMatrix =
        let acc = ConfusionAccumulator(numClasses)
        acc.Add(groundTruth, prediction)
        acc.Snapshot()

    /// Sum of two matrices over the same classes.
    let merge (a: ConfusionMatrix) (b: ConfusionMatrix) : ConfusionMatrix =
        let acc = ConfusionAccumulator(a.NumClasses)
        acc.Add a
        acc.Add b
        acc.Snapshot()

    /// Ground-truth pixels counted (labelled and unlabelled predictions).
    let total (cm: ConfusionMatrix) : int64 = Array.sum cm.Counts + Array.sum cm.Unlabelled

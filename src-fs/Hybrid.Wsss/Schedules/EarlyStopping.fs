namespace Hybrid.Wsss.Schedules

open System

/// Whether a larger or a smaller metric is better.
type Goal =
    | Maximise
    | Minimise

/// The best metric so far and the (0-based) epoch that reached it.
type Best = { Epoch: int; Metric: float }

/// Early stopping as a pure state machine over per-epoch metrics.
type EarlyStopping =
    { Goal: Goal
      /// epochs without improvement that end training
      Patience: int
      /// an improvement must beat the best by more than this
      MinDelta: float
      Best: Best option
      EpochsWithoutImprovement: int
      /// metrics observed so far
      Epochs: int }

/// What one observed metric means.
type Verdict =
    /// a new best: keep this epoch's weights
    | Improved
    /// no improvement; this many more non-improving epochs are allowed
    | NoImprovement of remaining: int
    /// patience exhausted: stop training (restore the best epoch)
    | Stop

module EarlyStopping =
    /// A stopper that ends after `patience` (>= 1) epochs without improvement by > minDelta (>= 0).
    let createWith (goal: Goal) (patience: int) (minDelta: float) : EarlyStopping =
        if patience < 1 then invalidArg (nameof patience) (sprintf "Early stopping needs patience >= 1, got %d." patience)
        if not (minDelta >= 0.0) then invalidArg (nameof minDelta) (sprintf "Early stopping needs minDelta >= 0, got %g." minDelta)
        { Goal = goal
          Patience = patience
          MinDelta = minDelta
          Best = None
          EpochsWithoutImprovement = 0
          Epochs = 0 }

    /// A stopper with minDelta = 0 (AuxSegNet+: patience 5, maximising validation mIoU).
    let create (goal: Goal) (patience: int) : EarlyStopping = createWith goal patience 0.0

    let private improves (es: EarlyStopping) (metric: float) =
        match es.Best with
        | None -> true
        | Some b ->
            match es.Goal with
            | Maximise -> metric > b.Metric + es.MinDelta
            | Minimise -> metric < b.Metric - es.MinDelta

    /// Records one epoch's metric. A NaN metric never improves (a diverged epoch counts
    /// against patience). Callers stop at the first `Stop`.
    let observe (metric: float) (es: EarlyStopping) : EarlyStopping * Verdict =
        let epoch = es.Epochs
        if not (Double.IsNaN metric) && improves es metric then
            { es with
                Best = Some { Epoch = epoch; Metric = metric }
                EpochsWithoutImprovement = 0
                Epochs = epoch + 1 },
            Improved
        else
            let waiting = es.EpochsWithoutImprovement + 1
            let es' = { es with EpochsWithoutImprovement = waiting; Epochs = epoch + 1 }
            if waiting >= es.Patience then es', Stop else es', NoImprovement(es.Patience - waiting)

namespace Hybrid.Wsss.Methods.Cosa

open Hybrid.Torch
open Hybrid.Wsss.Thresholds

/// The threshold xi of one CAM (M' or M-dagger') across training: fixed, or CoSA's dynamic
/// threshold (Eq. 6: a two-component GMM over a queue of recent confidences). Mutable: one
/// instance lives in a method and sees every batch once. Not checkpointed: a resumed run
/// refills the queue (the fixed initial value is used until then).
type ThresholdTracker(threshold: Threshold, floor: float) =
    /// xi is kept inside [Lowest, Highest] so the perplexity of Eq. 4 stays defined (it
    /// divides by xi and 1 - xi) even when a degenerate fit puts the split at an end.
    static member Lowest = 0.01
    static member Highest = 0.99

    member val Current = threshold with get, set

    /// Every xi used so far, oldest first (for reports).
    member val History = ResizeArray<float>()

    /// The current threshold value.
    member t.Value = min ThresholdTracker.Highest (max ThresholdTracker.Lowest (Threshold.value t.Current))

    /// Feeds one batch of confidences nu (any shape, e.g. (B, H, W)); values <= floor are not
    /// queued (the exact zeros of normalised CAMs). Returns the threshold to use for this batch
    /// (the paper enqueues the current batch before fitting).
    member t.Observe(nu: Tensor) : float =
        match t.Current with
        | Fixed _ -> ()
        | Dynamic _ ->
            use flat = nu.detach().flatten()
            use above = flat.gt(floor)
            use kept = flat.masked_select(above)
            use cpu = kept.to_type(ScalarType.Float64).cpu()
            let values = cpu.data<float> ()
            if values.Length > 0 then t.Current <- Threshold.observe values t.Current
        let v = t.Value
        t.History.Add v
        v

module ThresholdTracker =
    /// The tracker a config asks for: dynamic (queue of cfg.QueueLength batches, starting at
    /// cfg.Threshold) when DT is on, fixed at cfg.Threshold otherwise.
    let create (dynamic: bool) (initial: float) (queueLength: int) (floor: float) : ThresholdTracker =
        let t =
            if dynamic then
                Threshold.dynamicWith queueLength ConfidenceQueue.defaultBins GaussianMixture.defaults initial
            else
                Threshold.constant initial
        ThresholdTracker(t, floor)

namespace Hybrid.Wsss.Methods.Cosa

open TorchSharp
open Hybrid.Wsss
open Hybrid.Wsss.Thresholds

/// The threshold xi of one CAM (M' or M-dagger') across training: fixed, or CoSA's dynamic
/// threshold (Eq. 6: a two-component GMM over a queue of recent confidences). Mutable: one
/// instance lives in a method and sees every batch once. Checkpoints carry its queue and
/// history (Snapshot / Restore), so a resumed run thresholds as the uninterrupted one would.
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
            let values = Host.values<float> kept
            if values.Length > 0 then t.Current <- Threshold.observe values t.Current
        let v = t.Value
        t.History.Add v
        v

    /// The tracker's state for a checkpoint, names under `prefix`: "<prefix>.queue", the
    /// queue's per-batch histograms (n, bins) int64, oldest first (dynamic, once it holds a
    /// batch), and "<prefix>.history", every xi used so far (n) float64 (once there is one).
    member t.Snapshot(prefix: string) : (string * Tensor) list =
        [ match t.Current with
          | Dynamic d when ConfidenceQueue.batches d.Queue > 0 ->
              let items = d.Queue.Batches.Items
              yield prefix + ".queue", torch.tensor(Array.concat items, [| int64 items.Length; int64 d.Queue.Bins |]) // (n, bins)
          | _ -> ()
          if t.History.Count > 0 then
              yield prefix + ".history", torch.tensor(t.History.ToArray(), [| int64 t.History.Count |]) ] // (n)

    /// Restores what Snapshot wrote under `prefix`; a part the state lacks (a checkpoint
    /// written before the queue had a batch, or without state) stays as it is.
    member t.Restore(prefix: string, state: Map<string, Tensor>) =
        match t.Current, state.TryFind(prefix + ".queue") with
        | Dynamic d, Some q ->
            if q.dim () <> 2 || q.size 1 <> int64 d.Queue.Bins then
                invalidArg (nameof state) (sprintf "%s.queue has shape %A; this run's queue keeps (batches, %d) histograms" prefix q.shape d.Queue.Bins)
            let bins = d.Queue.Bins
            let values = Host.values<int64> q
            let histograms = [ for i in 0 .. int (q.size 0) - 1 -> Array.sub values (i * bins) bins ]
            t.Current <- Threshold.refill histograms t.Current
        | Fixed _, Some _ -> invalidArg (nameof state) (sprintf "the checkpoint holds a dynamic threshold's queue (%s.queue) but this run's threshold is fixed (DT off?)" prefix)
        | _ -> ()
        match state.TryFind(prefix + ".history") with
        | Some h ->
            t.History.Clear()
            t.History.AddRange(Host.values<float> h)
        | None -> ()

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

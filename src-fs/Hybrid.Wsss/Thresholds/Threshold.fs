namespace Hybrid.Wsss.Thresholds

open System

/// State of CoSA's dynamic threshold: a queue of recent confidences, the mixture fitted to it
/// and the resulting split xi* (Eq. 6).
type DynamicThreshold =
    { Queue: ConfidenceQueue
      /// value used while the queue is still empty
      Initial: float
      Em: EmOptions
      Mixture: Mixture2 option
      /// current xi: split of `Mixture`, or `Initial` before any data
      Value: float }

/// The foreground/background confidence threshold xi used to turn a CAM into pseudo labels
/// (CoSA Eq. 3; the "DT" switch of Tab. 3 chooses between the cases).
type Threshold =
    /// a constant threshold
    | Fixed of float
    /// the GMM split over a queue of confidences, refitted on every observed batch
    | Dynamic of DynamicThreshold

module Threshold =
    let private checkUnit name (v: float) =
        if Double.IsNaN v || v < 0.0 || v > 1.0 then
            invalidArg name (sprintf "A threshold on normalised confidences must lie in [0, 1], got %g." v)

    /// A constant threshold.
    let constant (value: float) : Threshold =
        checkUnit (nameof value) value
        Fixed value

    /// A dynamic threshold with an explicit queue length (batches), histogram bins and EM
    /// options; `initial` is used until the first batch is observed.
    let dynamicWith (capacity: int) (bins: int) (em: EmOptions) (initial: float) : Threshold =
        checkUnit (nameof initial) initial
        Dynamic
            { Queue = ConfidenceQueue.create capacity bins
              Initial = initial
              Em = em
              Mixture = None
              Value = initial }

    /// CoSA's dynamic threshold: queue of 100 batches, 1000-bin histograms, default EM.
    let dynamic (initial: float) : Threshold =
        dynamicWith ConfidenceQueue.defaultCapacity ConfidenceQueue.defaultBins GaussianMixture.defaults initial

    /// The current threshold value xi.
    let value (t: Threshold) : float =
        match t with
        | Fixed v -> v
        | Dynamic d -> d.Value

    /// The threshold holding `queue`: its mixture refitted and xi moved to the split (as before
    /// while the queue holds no confidence).
    let private refit (queue: ConfidenceQueue) (d: DynamicThreshold) : Threshold =
        match ConfidenceQueue.fitMixture d.Em queue with
        | Some m ->
            Dynamic
                { d with
                    Queue = queue
                    Mixture = Some m
                    Value = GaussianMixture.split m }
        | None -> Dynamic { d with Queue = queue }

    /// Feeds one batch of confidences: a fixed threshold ignores them; a dynamic one enqueues
    /// them (dropping the oldest batch when full), refits the mixture and moves to its split.
    let observe (confidences: float[]) (t: Threshold) : Threshold =
        match t with
        | Fixed _ -> t
        | Dynamic d -> refit (ConfidenceQueue.enqueue confidences d.Queue) d

    /// The dynamic threshold as it stood after observing the batches whose histograms are
    /// `histograms` (oldest first, at most the queue's length): the queue refilled, the mixture
    /// refitted, xi its split; e.g. restored from a checkpoint. A fixed threshold has no
    /// queue and comes back as it is.
    let refill (histograms: int64[] list) (t: Threshold) : Threshold =
        match t with
        | Fixed _ -> t
        | Dynamic d -> refit (ConfidenceQueue.refill histograms d.Queue) { d with Mixture = None; Value = d.Initial }

    /// The mixture behind a dynamic threshold, once fitted.
    let mixture (t: Threshold) : Mixture2 option =
        match t with
        | Fixed _ -> None
        | Dynamic d -> d.Mixture

namespace Hybrid.Wsss.Thresholds

open System

/// The queue behind CoSA's dynamic threshold (Eq. 6): the confidences of the last `capacity`
/// batches ("we maintain a queue to fit GMM, with the current M' batch enqueued and the oldest
/// dequeued"; length 100 in CoSA's implementation details). Each batch is stored as a
/// histogram of `Bins` equal bins over [0, 1], so memory and the EM cost are independent of
/// image size (a bin is 0.001 wide by default: far below any threshold resolution that
/// matters) and the fit cannot depend on the order of the batches in the queue.
type ConfidenceQueue =
    { Bins: int
      /// per-batch histograms, oldest first
      Batches: BoundedQueue<int64[]>
      /// bin-wise sum of the histograms in the queue
      Totals: int64[] }

module ConfidenceQueue =
    /// CoSA: "GMM-fitting queue length is 100" (batches).
    let defaultCapacity = 100

    /// Histogram resolution: 1000 bins of width 0.001 over [0, 1].
    let defaultBins = 1000

    /// An empty queue of `capacity` batches with `bins` histogram bins.
    let create (capacity: int) (bins: int) : ConfidenceQueue =
        if bins < 2 then invalidArg (nameof bins) (sprintf "A confidence histogram needs >= 2 bins, got %d." bins)
        { Bins = bins
          Batches = BoundedQueue.empty capacity
          Totals = Array.zeroCreate bins }

    /// The bin of a confidence; values outside [0, 1] fall into the end bins.
    let binOf (bins: int) (confidence: float) : int =
        if Double.IsNaN confidence then invalidArg (nameof confidence) "A confidence is NaN; check the CAMs for non-finite values."
        elif confidence <= 0.0 then 0
        elif confidence >= 1.0 then bins - 1
        else min (bins - 1) (int (confidence * float bins))

    /// Centre of bin i, (i + 0.5) / bins.
    let binCentre (bins: int) (i: int) : float = (float i + 0.5) / float bins

    /// Histogram of one batch of confidences.
    let histogram (bins: int) (confidences: float[]) : int64[] =
        let h = Array.zeroCreate bins
        for c in confidences do
            let b = binOf bins c
            h.[b] <- h.[b] + 1L
        h

    /// Enqueues one batch's histogram (of `Bins` bins); the oldest batch leaves a full queue.
    let enqueueHistogram (h: int64[]) (q: ConfidenceQueue) : ConfidenceQueue =
        let batches, evicted = BoundedQueue.enqueue h q.Batches
        let totals = Array.map2 (+) q.Totals h
        match evicted with
        | Some old -> { q with Batches = batches; Totals = Array.map2 (-) totals old }
        | None -> { q with Batches = batches; Totals = totals }

    /// Enqueues one batch of confidences (e.g. the maxima over present classes of the
    /// assignment network's CAM, one value per pixel); the oldest batch leaves a full queue.
    let enqueue (confidences: float[]) (q: ConfidenceQueue) : ConfidenceQueue =
        enqueueHistogram (histogram q.Bins confidences) q

    /// The queue of the same capacity and bins holding exactly `histograms` (oldest first),
    /// as the queue that enqueued those batches holds them (e.g. restored from a checkpoint).
    let refill (histograms: int64[] list) (q: ConfidenceQueue) : ConfidenceQueue =
        let capacity = BoundedQueue.capacity q.Batches
        if histograms.Length > capacity then
            invalidArg (nameof histograms) (sprintf "%d batch histograms do not fit a queue of %d batches (was the queue length changed?)" histograms.Length capacity)
        match histograms |> List.tryFind (fun h -> h.Length <> q.Bins) with
        | Some h -> invalidArg (nameof histograms) (sprintf "a histogram has %d bins, the queue %d" h.Length q.Bins)
        | None -> histograms |> List.fold (fun acc h -> enqueueHistogram h acc) (create capacity q.Bins)

    /// Number of batches held.
    let batches (q: ConfidenceQueue) : int = BoundedQueue.count q.Batches

    /// Number of confidences held.
    let count (q: ConfidenceQueue) : int64 = Array.sum q.Totals

    /// The two-component mixture fitted to the queue's confidences (bin centres weighted by
    /// counts); None while the queue holds no confidence.
    let fitMixture (options: EmOptions) (q: ConfidenceQueue) : Mixture2 option =
        if count q = 0L then
            None
        else
            let values = Array.init q.Bins (binCentre q.Bins)
            let weights = Array.map float q.Totals
            Some(GaussianMixture.fitWeighted options values weights)

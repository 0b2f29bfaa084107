/// Evaluation of a Predictor over a split: CAM seeds with the background-threshold sweep,
/// pseudo masks, and segmentation (optionally multi-scale + flip). Every result names the
/// split and the output scored.
module Hybrid.Wsss.Training.Evaluate

open TorchSharp
open Hybrid.Wsss
open Hybrid.Wsss.Eval

type private F = torch.nn.functional

/// Multi-scale + flip settings (CAM fusion and test-time augmentation).
type Scales =
    { Scales: float list
      Flip: bool }

module Scales =
    let single = { Scales = [ 1.0 ]; Flip = false }
    /// MAP.md: (0.5, 1.0, 1.5) + flip.
    let multi = { Scales = Cam.defaultScales; Flip = true }

let private need name (o: 'a option) =
    match o with
    | Some f -> f
    | None -> invalidOp $"this method has no {name} output to evaluate"

/// Per-image present-class CAMs (1-based classes) and the GT labels, as arrays.
let private classMaps (cams: Tensor) (labels: Tensor) (masks: Tensor) =
    let b, k, h, w = int (cams.size 0), int (cams.size 1), int (cams.size 2), int (cams.size 3)
    let c = Host.values<float32> cams
    let l = Host.values<float32> labels
    let g = Host.values<int64> masks
    [ for i in 0 .. b - 1 ->
        let present = [| for j in 0 .. k - 1 do if l[i * k + j] > 0.5f then yield j |]
        let maps = Array.zeroCreate<float> (present.Length * h * w)
        present |> Array.iteri (fun pi j ->
            let src = (i * k + j) * h * w
            for p in 0 .. h * w - 1 do maps[pi * h * w + p] <- float c[src + p])
        ClassMaps.create h w (present |> Array.map (fun j -> j + 1)) maps,
        Array.init (h * w) (fun p -> int g[i * h * w + p]) ]

/// Normalised multi-scale CAMs (B, K, H, W) of a batch (absent classes 0).
let cams (p: Predictor) (s: Scales) (batch: Batch) : Tensor =
    let camOf = need "CAM" p.Cam
    Cam.multiScale camOf s.Scales s.Flip batch.Images batch.Labels

/// CAM seeds: the background threshold swept, the best reported with its curve. classes =
/// K + 1 (background included).
let camSeeds (split: Hybrid.Data.VocSplit) (classes: int) (p: Predictor) (s: Scales) (thresholds: float list) (batches: seq<Batch>) : SweepResult =
    use _ng = torch.no_grad ()
    let images =
        seq {
            for batch in batches do
                use _scope = torch.NewDisposeScope()
                let c = cams p s batch
                yield! classMaps c batch.Labels (Batch.masks batch)
        }
    ThresholdSweep.sweepCams split classes thresholds images

/// Accumulates a confusion matrix of predicted labels (B, H, W) against GT over batches.
let private confusion (classes: int) (predict: Batch -> Tensor) (batches: seq<Batch>) =
    use _ng = torch.no_grad ()
    let acc = ConfusionAccumulator(classes)
    for batch in batches do
        use _scope = torch.NewDisposeScope()
        let pred = predict batch
        let gt = Batch.masks batch
        acc.Add(Host.values<int> gt, Host.values<int> pred)
    acc.Snapshot()

/// The method's pseudo masks scored against GT (255 predictions count as unlabelled).
let pseudo (split: Hybrid.Data.VocSplit) (classes: int) (p: Predictor) (batches: seq<Batch>) : EvalResult =
    let f = need "pseudo-mask" p.Pseudo
    Metrics.evaluate split PseudoMasks (confusion classes f batches)

/// Segmentation logits fused over scales (and flips) at the image size, softmax-averaged:
/// images (B, 3, H, W) -> probabilities (B, K + 1, H, W).
let segmentProbs (segment: Tensor -> Tensor) (s: Scales) (images: Tensor) : Tensor =
    use scope = torch.NewDisposeScope()
    let h, w = images.size 2, images.size 3
    let probs =
        [ for sc in s.Scales do
            let sh, sw = max 1L (int64 (round (float h * sc))), max 1L (int64 (round (float w * sc)))
            let x = if sh = h && sw = w then images.alias () else F.interpolate(images, [| sh; sw |], mode = InterpolationMode.Bilinear)
            yield (Cam.resize h w (segment x)).softmax(1L)
            if s.Flip then yield (Cam.resize h w (segment (x.flip(3L)))).flip(3L).softmax(1L) ]
    let sum = probs |> List.reduce (+)
    (sum / float probs.Length).MoveToOuterDisposeScope()

/// Probabilities (B, K + 1, H, W) with every class absent from the image's GT labels (B, K)
/// at -1, so that an argmax picks background or one of the image's classes.
let private restrictToLabels (labels: Tensor) (probs: Tensor) : Tensor =
    let background = torch.ones([| labels.size 0; 1L |], dtype = labels.dtype, device = labels.device)
    let absent = torch.cat([| background; labels |], 1L).lt(0.5)                 // (B, K + 1)
    probs.masked_fill(absent.unsqueeze(-1).unsqueeze(-1), -1.0)

/// A segmentation scored three ways from one forward pass per batch.
type SegmentationScores =
    { /// the argmax of the network's probabilities
      Plain: EvalResult
      /// the argmax restricted to background and the image's GT classes: a diagnostic, never a
      /// WSSS result (it reads GT image labels at test time). The gap to Plain is what
      /// recognising the classes costs the network; the gap to the pseudo masks is what
      /// learning their shapes costs.
      GivenLabels: EvalResult
      /// the argmax after a dense CRF on the probabilities, when one was asked for
      Crf: EvalResult option }

/// The segmentation plainly, given the image labels, and (with a preset) after a dense CRF.
let segmentationScores (crf: Hybrid.Vision.CrfPreset option) (split: Hybrid.Data.VocSplit) (classes: int) (p: Predictor) (s: Scales) (batches: seq<Batch>) : SegmentationScores =
    let segment = need "segmentation" p.Segment
    use _ng = torch.no_grad ()
    let plain, given, refined = ConfusionAccumulator(classes), ConfusionAccumulator(classes), ConfusionAccumulator(classes)
    for batch in batches do
        use _scope = torch.NewDisposeScope()
        let probs = segmentProbs segment s batch.Images                         // (B, K + 1, H, W)
        let gt = Host.values<int> (Batch.masks batch)
        plain.Add(gt, Host.values<int> (probs.argmax(1L)))
        given.Add(gt, Host.values<int> ((restrictToLabels batch.Labels probs).argmax(1L)))
        crf |> Option.iter (fun preset -> refined.Add(gt, Host.values<int> ((CrfRefine.refine preset batch.Images probs).argmax(1L))))
    { Plain = Metrics.evaluate split Segmentation (plain.Snapshot())
      GivenLabels = Metrics.evaluate split SegmentationGivenLabels (given.Snapshot())
      Crf = crf |> Option.map (fun _ -> Metrics.evaluate split SegmentationCrf (refined.Snapshot())) }

/// Segmentation predictions (argmax of the fused probabilities, dense-CRF refined with a preset)
/// scored against GT.
let segmentationWith (crf: Hybrid.Vision.CrfPreset option) (split: Hybrid.Data.VocSplit) (classes: int) (p: Predictor) (s: Scales) (batches: seq<Batch>) : EvalResult =
    let scores = segmentationScores crf split classes p s batches
    defaultArg scores.Crf scores.Plain

let segmentation split classes p s batches = segmentationWith None split classes p s batches

/// The segmentation given the image labels alone (see segmentationScores).
let segmentationGivenLabels split classes p s batches = (segmentationScores None split classes p s batches).GivenLabels

/// The metrics `--eval-every` logs during training: whatever the method predicts, scored on
/// val single-scale without flips (CAM seeds at the best threshold of the default sweep). The
/// run's report keeps the full protocol (multi-scale + flip) for the end. classes = K + 1.
let periodic (classes: int) (p: Predictor) (batches: unit -> seq<Batch>) : (string * float) list =
    [ if p.Cam.IsSome then
          let r = camSeeds Hybrid.Data.VocSplit.Val classes p Scales.single ThresholdSweep.defaultThresholds (batches ())
          yield "seed_miou", r.Best.Result.MeanIoU
          yield "seed_threshold", r.Best.Threshold
      if p.Pseudo.IsSome then yield "pseudo_miou", (pseudo Hybrid.Data.VocSplit.Val classes p (batches ())).MeanIoU
      if p.Segment.IsSome then yield "seg_miou", (segmentation Hybrid.Data.VocSplit.Val classes p Scales.single (batches ())).MeanIoU ]

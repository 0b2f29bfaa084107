namespace Hybrid.Wsss.Methods.AuxSegNetPlus

open System
open TorchSharp
open Hybrid.Wsss
open Hybrid.Wsss.Eval

/// What the labels are generated from.
type LabelSource =
    /// before label stage 0: plain multi-scale CAMs of the classification phase and the
    /// dataset's saliency maps (Batch.Saliency)
    | AfterClassification
    /// after a label stage: CAMs refined by that stage's affinity (Eq. 18), saliency updated
    /// from the previous labels and the refined saliency prediction (Eq. 1)
    | AfterStage of previous: LabelSet

/// The labels of one batch and, when it has ground truth, their confusion counts.
type GeneratedLabels =
    { /// (B, H, W) int64
      Segmentation: Tensor
      /// (B, 1, H, W) float32 in [0, 1]
      Saliency: Tensor }

/// Pseudo-label generation between stages (Sec. III-A, Algorithm 1).
module LabelGeneration =
    let private resizeTo (h: int64) (w: int64) (x: Tensor) =
        if x.size 2 = h && x.size 3 = w then x.alias ()
        else torch.nn.functional.interpolate(x, [| h; w |], mode = InterpolationMode.Bilinear, align_corners = false)

    let private isUnitScale (s: float) = abs (s - 1.0) < 1e-9

    /// Multi-scale CAM (Sec. III-A): per scale (and flip), the CAM normalised by its max,
    /// refined by the affinity learned at that scale when `refine` (Eq. 18), upsampled to the
    /// image size; the maps are summed and min-max normalised per present class. Also returns
    /// the saliency probability (B, 1, H, W) of the unit-scale pass (refined when the network
    /// refines saliency), when the network has a saliency branch and `withSaliency`.
    /// images (B, 3, H, W), labels (B, K) -> (B, K, H, W) in [0, 1].
    let multiScaleCam (net: AuxSegNetNetwork) (refine: bool) (withSaliency: bool) (images: Tensor) (labels: Tensor) : Tensor * Tensor option =
        use scope = torch.NewDisposeScope()
        let h, w = images.size 2, images.size 3
        let cfg = net.Config
        let hasSaliency = withSaliency && Branches.hasSaliency cfg.Branches
        let needFull = (refine && cfg.Affinity <> NoAffinity) || hasSaliency
        let mutable saliency: Tensor option = None
        // one pass: CAM (B, K, h', w') at the input's scale, and the pass's outputs
        let pass (x: Tensor) (keepSaliency: bool) =
            if needFull then
                let out = net.Forward x
                let cam = Cam.normaliseMax out.Cam labels                 // (B, K, h', w')
                let cam =
                    match out.Affinity with
                    | Some a when refine -> AffinityRefinement.pairwise a cam
                    | _ -> cam
                if keepSaliency && hasSaliency then
                    let p =
                        match out.RefinedSaliency, out.Saliency with
                        | Some r, _ -> r
                        | None, Some s -> s.sigmoid ()
                        | None, None -> invalidOp "the saliency branch produced no prediction"
                    saliency <- Some(resizeTo h w p)                     // (B, 1, H, W)
                cam
            else
                let _, cam = net.Classify(net.Features x)
                Cam.normaliseMax cam labels
        let mutable sum: Tensor option = None
        let add (t: Tensor) = sum <- Some(match sum with None -> t | Some a -> a + t)
        for s in cfg.CamScales do
            let sh, sw = max 1L (int64 (round (float h * s))), max 1L (int64 (round (float w * s)))
            let x = resizeTo sh sw images
            add (resizeTo h w (pass x (isUnitScale s)))
            if cfg.CamFlip then
                add (resizeTo h w ((pass (x.flip(3L)) false).flip(3L)))
        if hasSaliency && saliency.IsNone then pass images true |> ignore
        let fused =
            match sum with
            | Some a -> Cam.normaliseMinMax a labels                    // (B, K, H, W)
            | None -> invalidArg "CamScales" "multi-scale CAM needs at least one scale"
        fused.MoveToOuterDisposeScope(), saliency |> Option.map (fun t -> t.MoveToOuterDisposeScope())

    /// Labels of one batch of training images in their original geometry. `toRgb` maps the
    /// normalised images to uint8 RGB (B, 3, H, W) for the saliency CRF. Runs without gradients;
    /// the caller sets eval mode.
    let batch (net: AuxSegNetNetwork) (source: LabelSource) (toRgb: Tensor -> Tensor) (b: Batch) : GeneratedLabels =
        use _ng = torch.no_grad ()
        use scope = torch.NewDisposeScope()
        let cfg = net.Config
        let h, w = Batch.imageSize b
        match source with
        | AfterClassification ->
            let cams, _ = multiScaleCam net false false b.Images b.Labels
            let sal = Batch.saliency b
            if sal.shape <> [| int64 (Batch.size b); 1L; h; w |] then
                invalidArg "b" (sprintf "the batch's saliency maps %A must be (B, 1, H, W) at the image size (%d, %d)" sal.shape h w)
            let seg = PseudoLabelMaps.segmentation cfg.Thresholds cams b.Labels sal
            { Segmentation = seg.MoveToOuterDisposeScope(); Saliency = sal.to_type(ScalarType.Float32).MoveToOuterDisposeScope() }
        | AfterStage previous ->
            let prev = (LabelSet.targets previous b.Ids h w b.Images.device).Saliency // (B, 1, H, W)
            let cams, prediction = multiScaleCam net cfg.RefineCam true b.Images b.Labels
            let sal =
                match prediction with
                | Some p -> SaliencyLabels.update cfg.SaliencyCrf (toRgb b.Images) prev p
                | None -> prev                                           // no saliency branch: labels stay
            let seg = PseudoLabelMaps.segmentation cfg.Thresholds cams b.Labels sal
            { Segmentation = seg.MoveToOuterDisposeScope(); Saliency = sal.MoveToOuterDisposeScope() }

    /// Adds a batch's labels to a confusion accumulator against its ground truth (K + 1 classes).
    let score (acc: ConfusionAccumulator) (groundTruth: Tensor) (labels: Tensor) =
        let b = int (labels.size 0)
        let n = int (labels.size 1 * labels.size 2)
        let gt = Host.values<int> groundTruth
        let pred = Host.values<int> labels
        for i in 0 .. b - 1 do
            acc.Add(Array.sub gt (i * n) n, Array.sub pred (i * n) n)

    /// The quality of a label set against the ground-truth masks of `batches` (by image id;
    /// None when the batches carry no masks): what `run` reports for the labels it generates.
    let quality (labels: LabelSet) (classes: int) (batches: seq<Batch>) : EvalResult option =
        let acc = ConfusionAccumulator(classes + 1)
        let mutable scored = false
        for b in batches do
            match b.Masks with
            | Some m ->
                use scope = torch.NewDisposeScope()
                let h, w = Batch.imageSize b
                let t = LabelSet.targets labels b.Ids h w b.Images.device
                score acc m t.Segmentation
                scored <- true
            | None -> ()
        if scored then Some(Metrics.evaluate Hybrid.Data.VocSplit.Train PseudoMasks (acc.Snapshot())) else None

    /// Labels of a whole training list (batches in original geometry) for `stage`, and their
    /// quality (precision, recall, mIoU of the pseudo masks, Fig. 8) when the batches carry
    /// ground-truth masks (used for scoring only).
    let run (net: AuxSegNetNetwork) (stage: int) (source: LabelSource) (toRgb: Tensor -> Tensor) (batches: seq<Batch>) : LabelSet * EvalResult option =
        let wasTraining = net.training
        net.eval ()
        try
            let acc = ConfusionAccumulator(int net.Classes + 1)
            let mutable scored = false
            let images = ResizeArray<string * ImageLabels>()
            for b in batches do
                use scope = torch.NewDisposeScope()
                let g = batch net source toRgb b
                images.AddRange(LabelSet.ofBatch b.Ids g.Segmentation g.Saliency)
                match b.Masks with
                | Some m ->
                    score acc m g.Segmentation
                    scored <- true
                | None -> ()
            let set = LabelSet.create stage images
            set, (if scored then Some(Metrics.evaluate Hybrid.Data.VocSplit.Train PseudoMasks (acc.Snapshot())) else None)
        finally
            net.train wasTraining

namespace Hybrid.Wsss.Methods.Csd

open System.Collections.Generic
open TorchSharp
open Hybrid.Data
open Hybrid.Wsss
open Hybrid.Wsss.Training

/// The stage-1 mask of one single-label image, row-major (Height, Width): Foreground (1),
/// Background (0) or Unreliable (255: the stage-1 method's ignore band, or padding after an
/// augmentation). CSD's M_fg and M_bg (Eq. 3, Eq. 5).
type SourceMask =
    { Width: int
      Height: int
      Pixels: byte[] }

module SourceMask =
    [<Literal>]
    let Background = 0uy

    [<Literal>]
    let Foreground = 1uy

    [<Literal>]
    let Unreliable = 255uy

    let private check (w: int) (h: int) (n: int) =
        if w < 1 || h < 1 || n <> w * h then invalidArg "mask" $"a source mask of {w}x{h} needs {w * h} pixels, got {n}"

    let foregroundPixels (m: SourceMask) = m.Pixels |> Array.sumBy (fun p -> if p = Foreground then 1 else 0)

    /// Foreground where the (max-normalised) CAM of the image's class exceeds the threshold,
    /// background elsewhere. cam: (H, W) row-major.
    let ofCam (threshold: float32) (width: int) (height: int) (cam: float32[]) : SourceMask =
        check width height cam.Length
        { Width = width
          Height = height
          Pixels = cam |> Array.map (fun v -> if v > threshold then Foreground else Background) }

    /// From a pseudo-label map (H, W) with 0 = background, 1..K = classes, 255 = ignore.
    let ofPseudo (width: int) (height: int) (labels: int64[]) : SourceMask =
        check width height labels.Length
        { Width = width
          Height = height
          Pixels = labels |> Array.map (fun l -> if l = 0L then Background elif l = 255L then Unreliable else Foreground) }

    /// The mask under a loader geometry (nearest neighbour), as the loader moves GT masks;
    /// pixels from outside the image (padding) are Unreliable.
    let transform (g: Geometry) (m: SourceMask) : SourceMask =
        if g.SourceW <> m.Width || g.SourceH <> m.Height then
            invalidArg "g" $"the geometry is for a {g.SourceW}x{g.SourceH} image but the mask is {m.Width}x{m.Height}"
        { Width = g.OutW
          Height = g.OutH
          Pixels = g.ApplyNearest(m.Pixels, Unreliable) }

    /// (H, W) bool tensor of the pixels with the given value.
    let toTensor (value: byte) (device: Device) (m: SourceMask) : Tensor =
        torch.tensor (m.Pixels |> Array.map (fun p -> p = value), [| int64 m.Height; int64 m.Width |], device = device)

    /// Whether a background paste has pixels to take: a non-foreground pixel inside the
    /// foreground's box grown by `window` (the whole image when None). False without foreground.
    let hasBackgroundToPaste (window: int option) (m: SourceMask) : bool =
        let fg = [| for i in 0 .. m.Pixels.Length - 1 do if m.Pixels[i] = Foreground then yield i % m.Width, i / m.Width |]
        if fg.Length = 0 then false
        else
            let x0, x1 = fg |> Array.map fst |> Array.min, fg |> Array.map fst |> Array.max
            let y0, y1 = fg |> Array.map snd |> Array.min, fg |> Array.map snd |> Array.max
            let bx0, by0, bx1, by1 =
                match window with
                | None -> 0, 0, m.Width - 1, m.Height - 1
                | Some g -> max 0 (x0 - g), max 0 (y0 - g), min (m.Width - 1) (x1 + g), min (m.Height - 1) (y1 + g)
            seq { for y in by0 .. by1 do for x in bx0 .. bx1 -> m.Pixels[y * m.Width + x] }
            |> Seq.exists (fun p -> p <> Foreground)

/// Agreement of stage-1 masks with ground truth (a diagnostic only: never used in training).
type MaskAgreement =
    { Images: int
      /// foreground IoU over all pixels of the images (mask Foreground vs GT class > 0)
      ForegroundIoU: float
      /// fraction of mask-foreground pixels that are GT foreground
      Precision: float
      /// fraction of GT-foreground pixels the mask calls foreground
      Recall: float }

/// Stage 1 of CSD: masks of the single-label (source) images from a trained model.
module SourceMasks =
    let private need name (o: 'a option) =
        match o with
        | Some f -> f
        | None -> invalidOp $"CSD stage 1: the stage-1 method has no {name} output to read source masks from (use source_masks=cam with a CAM method, or a method with pseudo masks)"

    /// The ground-truth masks of `indices` (the GroundTruthOracle diagnostic; 255 stays unreliable).
    let groundTruth (ds: SegmentationDataset) (indices: int[]) : IReadOnlyDictionary<int, SourceMask> =
        if not ds.HasMasks then invalidOp "CSD source_masks=gt_oracle: the training split has no SegmentationClass masks"
        let result = Dictionary<int, SourceMask>()
        for i in indices do
            let m = ds.Load(i).Mask
            result[i] <- SourceMask.ofPseudo m.Width m.Height (m.Pixels |> Array.map int64)
        result :> IReadOnlyDictionary<int, SourceMask>

    /// Masks of `indices` (single-label images of `ds`) read from the predictor's outputs on
    /// the unaugmented images, in groups of up to 16 images of one size. The predictor's
    /// model must be in eval mode.
    let compute (device: Device) (p: Predictor) (rule: SourceMaskRule) (scales: Evaluate.Scales) (ds: SegmentationDataset) (indices: int[]) : IReadOnlyDictionary<int, SourceMask> =
        if rule = GroundTruthOracle then invalidArg (nameof rule) "SourceMasks.compute reads a predictor; the oracle masks come from SourceMasks.groundTruth"
        let k = ds.NumClasses - 1
        let aug = Augmenter(AugmentationOptions.Eval)
        let result = Dictionary<int, SourceMask>()
        let flush (group: (int * AugmentedSample) list) =
            use _scope = torch.NewDisposeScope()
            let n = group.Length
            let _, first = group.Head
            let h, w = first.Height, first.Width
            let images = torch.tensor (group |> List.map (fun (_, s) -> s.Image) |> Array.concat, [| int64 n; 3L; int64 h; int64 w |], device = device) // (n, 3, H, W)
            let labels = torch.tensor (group |> List.map (fun (i, _) -> ds.LabelVector i) |> Array.concat, [| int64 n; int64 k |], device = device)  // (n, K)
            match rule with
            | CamThreshold t ->
                let cams = Cam.multiScale (need "CAM" p.Cam) scales.Scales scales.Flip images labels // (n, K, H, W) in [0, 1], absent 0
                let best = Host.values<float32> (cams.amax(1L))                                        // (n, H, W)
                group |> List.iteri (fun j (i, _) -> result[i] <- SourceMask.ofCam (float32 t) w h best[j * h * w .. (j + 1) * h * w - 1])
            | MethodPseudo ->
                let batch = { Ids = group |> List.map (fun (i, _) -> ds[i].Id) |> Array.ofList; Images = images; Labels = labels; Masks = None; Saliency = None; Strong = None; Padding = None }
                let pseudo = Host.values<int64> (need "pseudo-mask" p.Pseudo batch)                  // (n, H, W)
                group |> List.iteri (fun j (i, _) -> result[i] <- SourceMask.ofPseudo w h pseudo[j * h * w .. (j + 1) * h * w - 1])
            | GroundTruthOracle -> ()
        use _ng = torch.no_grad ()
        let mutable group = []
        for i in indices do
            let sample = aug.Apply(ds.Load i, i, Rng(0UL))
            match group with
            | (_, s: AugmentedSample) :: _ when s.Height <> sample.Height || s.Width <> sample.Width || List.length group >= 16 ->
                flush (List.rev group)
                group <- [ i, sample ]
            | _ -> group <- (i, sample) :: group
        if not group.IsEmpty then flush (List.rev group)
        result :> IReadOnlyDictionary<int, SourceMask>

    /// Stage-1 masks against the dataset's GT masks (None when it has none).
    let agreement (ds: SegmentationDataset) (masks: IReadOnlyDictionary<int, SourceMask>) : MaskAgreement option =
        if not ds.HasMasks || masks.Count = 0 then None
        else
            let mutable inter, union, predFg, gtFg = 0L, 0L, 0L, 0L
            for kv in masks do
                match ds.Load(kv.Key).Mask with
                | null -> ()
                | gt when gt.Pixels.Length = kv.Value.Pixels.Length ->
                    Array.iter2
                        (fun (g: byte) (m: byte) ->
                            if g <> 255uy then
                                let gf = g > 0uy
                                let mf = m = SourceMask.Foreground
                                if gf && mf then inter <- inter + 1L
                                if gf || mf then union <- union + 1L
                                if mf then predFg <- predFg + 1L
                                if gf then gtFg <- gtFg + 1L)
                        gt.Pixels
                        kv.Value.Pixels
                | _ -> ()
            let ratio a b = if b = 0L then 0.0 else float a / float b
            Some
                { Images = masks.Count
                  ForegroundIoU = ratio inter union
                  Precision = ratio inter predFg
                  Recall = ratio inter gtFg }

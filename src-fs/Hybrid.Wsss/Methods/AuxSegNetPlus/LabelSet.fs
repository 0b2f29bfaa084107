namespace Hybrid.Wsss.Methods.AuxSegNetPlus

open System.Collections.Generic
open TorchSharp
open Hybrid.Wsss

/// The pseudo labels of one image at image resolution, stored as a PNG would hold them.
type ImageLabels =
    { Height: int
      Width: int
      /// (H, W) row-major: 0 background, 1..K classes, 255 ignore
      Segmentation: byte[]
      /// (H, W) row-major saliency in 0..255 (value / 255 in [0, 1])
      Saliency: byte[] }

/// The pseudo labels a label stage trains on, by image id.
type LabelSet =
    { /// the label stage these labels are for (0 = from the classification phase's CAMs)
      Stage: int
      Images: IReadOnlyDictionary<string, ImageLabels> }

module LabelSet =
    let empty stage = { Stage = stage; Images = Dictionary<string, ImageLabels>() }

    /// Labels of a batch: segmentation (B, H, W) integral in 0..K or 255, saliency (B, 1, H, W) in
    /// [0, 1] (rounded to 1/255 steps, as in a PNG).
    let ofBatch (ids: string[]) (segmentation: Tensor) (saliency: Tensor) : (string * ImageLabels) list =
        let b = int (segmentation.size 0)
        let h, w = segmentation.size 1, segmentation.size 2
        if ids.Length <> b then invalidArg (nameof ids) (sprintf "%d ids for a batch of %d label maps" ids.Length b)
        if saliency.shape <> [| int64 b; 1L; h; w |] then
            invalidArg (nameof saliency) (sprintf "saliency labels %A must be (B, 1, H, W) = (%d, 1, %d, %d)" saliency.shape b h w)
        use scope = torch.NewDisposeScope()
        let seg = Host.values<byte> segmentation
        let sal = Host.values<byte> ((saliency.clamp(0.0, 1.0) * 255.0).round())
        let n = int (h * w)
        [ for i in 0 .. b - 1 ->
              ids.[i],
              { Height = int h
                Width = int w
                Segmentation = Array.sub seg (i * n) n
                Saliency = Array.sub sal (i * n) n } ]

    /// A label set from its images; ids must be unique.
    let create (stage: int) (images: seq<string * ImageLabels>) : LabelSet =
        let d = Dictionary<string, ImageLabels>()
        for id, l in images do
            if d.ContainsKey id then invalidArg (nameof images) (sprintf "image id '%s' appears twice" id)
            d.[id] <- l
        { Stage = stage; Images = d }

    let find (set: LabelSet) (id: string) : ImageLabels =
        match set.Images.TryGetValue id with
        | true, l -> l
        | _ -> invalidArg (nameof id) (sprintf "stage %d has no pseudo labels for image '%s'; labels are generated for the training list the stage trains on" set.Stage id)

    let private checkSize (set: LabelSet) (ids: string[]) (h: int64) (w: int64) =
        for id in ids do
            let l = find set id
            if int64 l.Height <> h || int64 l.Width <> w then
                invalidArg
                    (nameof ids)
                    (sprintf "image '%s' is %dx%d in the batch but its stage-%d labels are %dx%d: stored labels fit the original geometry, so train with geometric augmentation off or have the loader read the label folders" id h w set.Stage l.Height l.Width)

    /// Training targets of a batch's images (B, H, W) int64 and (B, 1, H, W) float32, on `device`.
    let targets (set: LabelSet) (ids: string[]) (h: int64) (w: int64) (device: Device) : StageTargets =
        checkSize set ids h w
        use scope = torch.NewDisposeScope()
        let n = int (h * w)
        let seg = Array.zeroCreate<byte> (ids.Length * n)
        let sal = Array.zeroCreate<float32> (ids.Length * n)
        ids |> Array.iteri (fun i id ->
            let l = find set id
            Array.blit l.Segmentation 0 seg (i * n) n
            for p in 0 .. n - 1 do
                sal.[i * n + p] <- float32 l.Saliency.[p] / 255.0f)
        let b = int64 ids.Length
        let segT = torch.tensor(seg, [| b; h; w |], device = device).to_type(ScalarType.Int64)
        let salT = torch.tensor(sal, [| b; 1L; h; w |], device = device)
        { Segmentation = segT.MoveToOuterDisposeScope(); Saliency = salT.MoveToOuterDisposeScope() }

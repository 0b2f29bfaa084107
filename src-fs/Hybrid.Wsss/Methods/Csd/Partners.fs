namespace Hybrid.Wsss.Methods.Csd

open System.Collections.Generic
open Hybrid.Data
open Hybrid.Wsss.Numerics

/// A single-label image drawn for a multi-label training image, ready to paste: the training
/// augmentation applied to its image and, with the same geometry, to its stage-1 mask.
type Partner =
    { /// dataset index and class (0-based) of the single-label image
      Index: int
      Class: int
      /// (3, Height, Width) normalised, as the loader's images
      Image: float32[]
      Height: int
      Width: int
      Mask: SourceMask
      /// (K) multi-hot (one class)
      Labels: float32[] }

/// Everything CSD's stage 2 needs to pick and prepare partners: the training set, the loader's
/// augmentation, the stage-1 masks and the resampler. Pairing happens inside the method's step:
/// a partner is a function of (seed, step, slot in the batch, target image), so a resumed run
/// draws what the uninterrupted run drew, independently of loader workers.
type PartnerSource =
    { Dataset: SegmentationDataset
      Augmenter: Augmenter
      Masks: IReadOnlyDictionary<int, SourceMask>
      /// co-occurrence prior and the pasteable single-label images by class (those whose mask
      /// has enough foreground)
      Resampler: Resampler
      Pairing: Pairing
      /// 0-based class sets of every training image
      LabelSets: int[][]
      IndexOfId: IReadOnlyDictionary<string, int>
      Seed: int64 }

module PartnerSource =
    // Independent random streams of the partner draw, its augmentation and its placement.
    let private drawStream, augmentStream, placementStream = 0xC5D0001UL, 0xC5D0002UL, 0xC5D0003UL

    /// 0-based class sets of a dataset's images.
    let labelSets (ds: SegmentationDataset) : int[][] =
        [| for s in ds.Samples -> s.Classes |> Seq.map (fun c -> c - 1) |> Array.ofSeq |]

    /// A source over `ds`: the prior from every image's labels, pasteable images = single-label
    /// images with a mask of at least `minForeground` foreground pixels.
    let create (ds: SegmentationDataset) (augmenter: Augmenter) (masks: IReadOnlyDictionary<int, SourceMask>) (options: CooccurrenceOptions) (pairing: Pairing) (seed: int64) (minForeground: int) : PartnerSource =
        let sets = labelSets ds
        let r = Resampler.create options (ds.NumClasses - 1) sets
        let usable i =
            match masks.TryGetValue i with
            | true, m -> SourceMask.foregroundPixels m >= minForeground
            | _ -> false
        let byClass = r.SourceByClass |> Array.map (Array.filter usable)
        let ids = Dictionary<string, int>()
        ds.Samples |> Seq.iteri (fun i s -> ids[s.Id] <- i)
        { Dataset = ds
          Augmenter = augmenter
          Masks = masks
          Resampler = { r with SourceByClass = byClass; SourceImages = byClass |> Array.concat |> Array.sort }
          Pairing = pairing
          LabelSets = sets
          IndexOfId = ids
          Seed = seed }

    /// Number of pasteable single-label images.
    let pasteable (src: PartnerSource) = src.Resampler.SourceImages.Length

    /// The dataset index of a batch image id.
    let indexOf (src: PartnerSource) (id: string) : int =
        match src.IndexOfId.TryGetValue id with
        | true, i -> i
        | _ -> invalidOp $"CSD: the batch image '{id}' is not in the training set the partners are drawn from (the method must train on MethodEnv.TrainSet)"

    /// The generator of one (stream, step, slot).
    let generator (src: PartnerSource) (stream: uint64) (step: int) (slot: int) : Hybrid.Data.Rng =
        Hybrid.Data.Rng.For(src.Seed, stream, int64 step * 65536L + int64 slot)

    /// The partner draw for the image at `index` in slot `slot` of step `step`: None for a
    /// single-label image (the source domain is not augmented) or when nothing can be pasted.
    let draw (src: PartnerSource) (step: int) (slot: int) (index: int) : Draw option =
        let classes = src.LabelSets[index]
        match DomainSplit.domainOf classes with
        | Source -> None
        | Target ->
            let seed = (generator src drawStream step slot).NextUInt64()
            fst (Resampler.sample src.Pairing src.Resampler classes (Rng.create (int64 seed)))

    /// Loads and augments a drawn image with its mask; None when the augmentation leaves no
    /// foreground pixel of it in view.
    let load (src: PartnerSource) (step: int) (slot: int) (d: Draw) : Partner option =
        let mask =
            match src.Masks.TryGetValue d.Image with
            | true, m -> m
            | _ -> invalidOp $"CSD: image {d.Image} was drawn but has no stage-1 mask"
        let sample = src.Augmenter.Apply(src.Dataset.Load d.Image, d.Image, generator src augmentStream step slot)
        let moved = SourceMask.transform sample.Geometry mask
        if SourceMask.foregroundPixels moved = 0 then None
        else
            Some
                { Index = d.Image
                  Class = d.Class
                  Image = sample.Image
                  Height = sample.Height
                  Width = sample.Width
                  Mask = moved
                  Labels = src.Dataset.LabelVector d.Image }

    /// The placement generator of the paste in one slot of one step.
    let placement (src: PartnerSource) (step: int) (slot: int) : System.Random =
        System.Random(int ((generator src placementStream step slot).NextUInt64() >>> 33))

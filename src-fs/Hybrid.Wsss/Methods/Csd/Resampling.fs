namespace Hybrid.Wsss.Methods.Csd

open Hybrid.Wsss.Numerics

/// How a single-label (source) image is paired with a multi-label (target) image: CSD's
/// "resampling" switch of its component table.
type Pairing =
    /// co-occurrence oriented resampling: class from the target's sampling distribution, then
    /// a uniformly chosen single-label image of that class
    | CooccurrenceResampling
    /// plain copy-paste: any single-label image, uniformly
    | UniformSource

/// A sampled source: its class and the index of its single-label image.
type Draw = { Class: int; Image: int }

/// Everything needed to draw sources for target images.
type Resampler =
    { /// the co-occurrence prior P (Eq. 1)
      Prior: float[][]
      /// single-label images of each class
      SourceByClass: int[][]
      /// all single-label images, ascending
      SourceImages: int[] }

module Resampler =
    /// Builds the prior and the source index from the training label sets.
    let create (options: CooccurrenceOptions) (numClasses: int) (labelSets: int[][]) : Resampler =
        let prior = Cooccurrence.probabilities options numClasses labelSets
        let byClass = DomainSplit.sourceImagesByClass numClasses labelSets
        { Prior = prior
          SourceByClass = byClass
          SourceImages = byClass |> Array.concat |> Array.sort }

    /// Which classes can be pasted (have at least one single-label image).
    let available (r: Resampler) : bool[] = r.SourceByClass |> Array.map (fun imgs -> imgs.Length > 0)

    /// The class-sampling distribution for a target image's classes (None: nothing to paste).
    let distribution (r: Resampler) (targetClasses: int[]) : float[] option =
        Cooccurrence.samplingDistribution r.Prior (available r) targetClasses

    /// Draws a source for a target image with the given classes; None when no class with a
    /// single-label image can be drawn. Pure: returns the advanced generator.
    let sample (pairing: Pairing) (r: Resampler) (targetClasses: int[]) (rng: Rng) : Draw option * Rng =
        match pairing with
        | UniformSource ->
            if r.SourceImages.Length = 0 then
                None, rng
            else
                let i, rng = Rng.nextInt r.SourceImages.Length rng
                let image = r.SourceImages.[i]
                let cls = r.SourceByClass |> Array.findIndex (fun imgs -> Array.contains image imgs)
                Some { Class = cls; Image = image }, rng
        | CooccurrenceResampling ->
            match distribution r targetClasses with
            | None -> None, rng
            | Some p ->
                let cls, rng = Rng.categorical p rng
                let images = r.SourceByClass.[cls]
                let i, rng = Rng.nextInt images.Length rng
                Some { Class = cls; Image = images.[i] }, rng

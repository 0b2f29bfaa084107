namespace Hybrid.Wsss.Methods.AuxSegNetPlus

open System.IO
open Hybrid.Data

/// A stage's pseudo labels on disk, so that a label stage trains through the ordinary loader
/// with the paper's geometric augmentation (rescale, crop, flip applied to image, mask and
/// saliency alike): `<dir>/SegmentationClass/{id}.png` (palette indices: 0 background, 1..K,
/// 255 ignore) and `<dir>/saliency/{id}.png` (grey, value / 255 in [0, 1]).
module LabelFolders =
    let masksFolder (dir: string) = Path.Combine(dir, "SegmentationClass")
    let saliencyFolder (dir: string) = Path.Combine(dir, "saliency")

    /// Writes every image's labels under `dir`.
    let write (dir: string) (labels: LabelSet) =
        let masks, saliency = masksFolder dir, saliencyFolder dir
        Directory.CreateDirectory masks |> ignore
        Directory.CreateDirectory saliency |> ignore
        let palette = VocPalette.Create 256
        for kv in labels.Images do
            let l = kv.Value
            ImageIO.WritePng(Path.Combine(masks, kv.Key + ".png"), Image.Indexed(l.Width, l.Height, l.Segmentation, palette))
            ImageIO.WritePng(Path.Combine(saliency, kv.Key + ".png"), Image(l.Width, l.Height, 1, l.Saliency))

    /// The label set `write` wrote under `dir` for the images `ids` (masks with `numClasses`
    /// classes, background included), e.g. to resume a run after its labels were generated.
    let read (dir: string) (stage: int) (numClasses: int) (ids: seq<string>) : LabelSet =
        LabelSet.create
            stage
            [ for id in ids ->
                  let mask = MaskIO.Read(Path.Combine(masksFolder dir, id + ".png"), numClasses)
                  let salPath = Path.Combine(saliencyFolder dir, id + ".png")
                  let sal = ImageIO.Read salPath
                  if sal.Channels <> 1 || sal.Width <> mask.Width || sal.Height <> mask.Height then
                      raise (InvalidDataException $"{salPath} is {sal.Width}x{sal.Height}x{sal.Channels}; the saliency label of a {mask.Width}x{mask.Height} mask is one grey channel of that size")
                  id,
                  { Height = mask.Height
                    Width = mask.Width
                    Segmentation = mask.Pixels
                    Saliency = sal.Pixels } ]

    /// The training set with its masks and saliency maps replaced by the labels under `dir`;
    /// an image without written labels is an error that names it.
    let dataset (dir: string) (train: SegmentationDataset) : SegmentationDataset =
        let masks, saliency = masksFolder dir, saliencyFolder dir
        let samples =
            train.Samples
            |> Seq.map (fun s ->
                let m, sal = Path.Combine(masks, s.Id + ".png"), Path.Combine(saliency, s.Id + ".png")
                if not (File.Exists m && File.Exists sal) then
                    raise (FileNotFoundException $"no pseudo labels for training image '{s.Id}' under {dir} (labels are generated for every image of the training list)")
                SegmentationSample(s.Id, s.ImagePath, m, sal, s.Classes))
            |> Array.ofSeq
        SegmentationDataset(train.Name + " (pseudo labels " + Path.GetFileName dir + ")", train.ClassNames, samples)

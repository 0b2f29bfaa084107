/// From a dataset on disk (VOC layout: FMNIST-Scenes or real VOC) to the F# Batch stream the
/// training loop and the evaluators consume.
module Hybrid.Wsss.Data.DataSource

open System.IO
open TorchSharp
open Hybrid.Data
open Hybrid.Wsss

/// Reads one split of a VOC-layout dataset. maskFolder replaces SegmentationClass (pseudo
/// masks for multi-stage training); the `saliency` folder is used when the dataset has one.
let openSplit (root: string) (split: VocSplit) (maskFolder: string option) : SegmentationDataset =
    if not (Directory.Exists root) then
        raise (DirectoryNotFoundException $"dataset folder not found: {root} (generate the embedded benchmark with `./hybrid data scenes --out {root}`)")
    // an absolute mask folder (pseudo masks of a run) overrides SegmentationClass
    let opts = VocOptions(root, Split = split, MaskFolder = (maskFolder |> Option.map Path.GetFullPath |> Option.toObj))
    VocReader.Read opts

/// Number of foreground classes K of a dataset (its class list includes background).
let foregroundClasses (ds: SegmentationDataset) = ds.NumClasses - 1

/// The loader's collated batch as tensors on `device`, in the current dispose scope.
let toBatch (device: Device) (ds: SegmentationDataset) (b: Hybrid.Data.Batch) : Batch =
    let tb = b.ToTensors()
    let mv (t: Tensor) = if device.``type`` = DeviceType.CPU then t else t.``to``(device, disposeAfter = true)
    { Ids = b.Indices |> Array.map (fun i -> ds[i].Id)
      Images = mv tb.Images
      Labels = mv tb.Labels
      Masks = tb.Masks |> Option.ofObj |> Option.map mv
      Saliency = tb.Saliency |> Option.ofObj |> Option.map mv
      Strong = tb.Strong |> Option.ofObj |> Option.map mv
      Padding = Some(mv tb.Padding) }

/// An endless stream of training batches starting at `start` (epoch = step / batches per
/// epoch): deterministic in the step, so a resumed run sees the batches the uninterrupted run
/// would have seen.
let trainStream (device: Device) (loader: DataLoader) : int -> seq<Batch> =
    fun start ->
        seq {
            let per = loader.BatchesPerEpoch
            if per < 1 then invalidOp $"the training set ({loader.Dataset.Count} images) is smaller than one batch ({loader.Options.BatchSize})"
            let mutable epoch = start / per
            let mutable skip = start % per
            while true do
                for b in loader.Epoch(epoch) do
                    if skip > 0 then skip <- skip - 1
                    else yield toBatch device loader.Dataset b
                epoch <- epoch + 1
        }

/// A training loader with the default recipe at `crop` (strong views when asked).
let trainLoader (ds: SegmentationDataset) (crop: int) (batchSize: int) (seed: int) (workers: int) (strong: bool) : DataLoader =
    let aug =
        AugmentationOptions(
            Rescale = Rescale.Factor(0.75, 1.25),
            CropSize = System.Nullable crop,
            HorizontalFlip = true,
            Jitter = ColourJitter(0.3, 0.3, 0.3, 0.05),
            Strong = (if strong then StrongAugmentation() else null))
    DataLoader(ds, Augmenter(aug), LoaderOptions(BatchSize = batchSize, Shuffle = true, Seed = int64 seed, DropLast = true, Workers = workers))

/// Evaluation batches in file order, no augmentation (normalisation only).
let evalBatches (device: Device) (ds: SegmentationDataset) (batchSize: int) : seq<Batch> =
    let loader = DataLoader(ds, Augmenter(AugmentationOptions.Eval), LoaderOptions(BatchSize = batchSize, Shuffle = false, DropLast = false, Workers = 1))
    loader.Epoch(0) |> Seq.map (toBatch device ds)

namespace Hybrid.Wsss

open TorchSharp

/// One batch as every method sees it, on the model's device. K = number of foreground classes;
/// segmentation labels are 0..K (0 = background) with 255 = ignore.
type Batch =
    { /// Image ids, for reports and for pairing (CSD).
      Ids: string[]
      /// (B, 3, H, W) float32, normalised (ImageNet mean/std unless the dataset says otherwise).
      Images: Tensor
      /// (B, K) float32 multi-hot image-level labels of the foreground classes.
      Labels: Tensor
      /// (B, H, W) int64 ground-truth masks, when the split has them (never used for training
      /// a weakly supervised method; evaluation and the supervised upper bound only).
      Masks: Tensor option
      /// (B, 1, H, W) float32 saliency in [0, 1] (AuxSegNet+), when provided.
      Saliency: Tensor option
      /// (B, 3, H, W) the strong photometric view sharing the geometry of Images (CoSA).
      Strong: Tensor option }

module Batch =
    let size (b: Batch) = int (b.Images.size 0)

    /// (H, W) of the images.
    let imageSize (b: Batch) = b.Images.size 2, b.Images.size 3

    /// The GT masks, or a clear error for code that needs them.
    let masks (b: Batch) =
        match b.Masks with
        | Some m -> m
        | None -> invalidOp "this batch has no ground-truth masks (evaluation and supervised training need a split with SegmentationClass masks)"

    let saliency (b: Batch) =
        match b.Saliency with
        | Some s -> s
        | None -> invalidOp "this batch has no saliency maps: generate them with `hybrid data saliency` or point the dataset at a saliency folder"

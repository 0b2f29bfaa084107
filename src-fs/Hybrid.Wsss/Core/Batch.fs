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
      Strong: Tensor option
      /// (B, H, W) bool, true where the training crop padded the image (no image content): a
      /// method's pseudo labels leave these pixels out (255), as CoSA's public code marks the
      /// pixels outside the image. None: no padding (evaluation batches, hand-made batches).
      Padding: Tensor option }

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

    /// Pseudo labels (B, H, W) int64 at the image size with the crop's padding set to 255
    /// (ignore); the same tensor values when the batch has no padding. A new tensor.
    let ignorePadding (b: Batch) (labels: Tensor) : Tensor =
        match b.Padding with
        | Some p -> labels.masked_fill(p, 255L)                          // (B, H, W)
        | None -> labels.clone()

    /// The pixels with image content at (h, w) as (B, 1, h, w) float 0/1 (nearest resize of
    /// the padding mask), or None when the batch has no padding.
    let contentAt (h: int64) (w: int64) (b: Batch) : Tensor option =
        b.Padding |> Option.map (fun p ->
            use scope = torch.NewDisposeScope()
            let valid = p.logical_not().unsqueeze(1L).to_type(ScalarType.Float32)   // (B, 1, H, W)
            let small =
                if valid.size 2 = h && valid.size 3 = w then valid
                else torch.nn.functional.interpolate(valid, [| h; w |], mode = InterpolationMode.Nearest) // (B, 1, h, w)
            small.MoveToOuterDisposeScope())

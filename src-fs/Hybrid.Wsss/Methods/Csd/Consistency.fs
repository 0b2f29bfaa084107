namespace Hybrid.Wsss.Methods.Csd

open TorchSharp
open Hybrid.Wsss

/// CSD's dual semantic consistency (Eq. 3 and Eq. 5). M = the network's raw class score maps
/// (no ReLU, no min-max normalisation: "we do not perform additional postprocessing"), read
/// as a distribution per pixel by a softmax over the class channel. The teacher is the same
/// network on the single-label image (no gradient), moved into the pasted image's frame; the
/// student is the network on the pasted image. Maps here are at image resolution:
/// (B, K, H, W) with B the pasted images, masks (B, H, W) bool.
module Consistency =
    let private shapeText (s: int64[]) = "(" + (s |> Array.map string |> String.concat ", ") + ")"

    /// The background logits of Eq. 5: the class scores with the constant dummy score M'
    /// appended (B, K + 1, H, W), or the saliency sigma(M) = sum_c M_c against M' (B, 2, H, W).
    let backgroundLogits (score: BackgroundScore) (dummy: float) (maps: Tensor) : Tensor =
        use scope = torch.NewDisposeScope()
        let b, h, w = maps.size 0, maps.size 2, maps.size 3
        let m' = torch.full([| b; 1L; h; w |], dummy, dtype = maps.dtype, device = maps.device) // (B, 1, H, W)
        let logits =
            match score with
            | DummyClass -> torch.cat([| maps; m' |], 1L)                                     // (B, K + 1, H, W)
            | SaliencySum -> torch.cat([| maps.sum(1L, keepdim = true); m' |], 1L)             // (B, 2, H, W)
        logits.MoveToOuterDisposeScope()

    /// KL(softmax(teacher) || softmax(student)) per pixel, reduced over the mask. cellArea =
    /// image pixels per output cell (H W / (h w)) for SumOverCells. 0 when the mask is empty.
    let divergence (reduction: ConsistencyReduction) (cellArea: float) (teacherLogits: Tensor) (studentLogits: Tensor) (mask: Tensor) : Tensor =
        if teacherLogits.shape <> studentLogits.shape then
            invalidArg (nameof studentLogits) $"CSD consistency: teacher {shapeText teacherLogits.shape} and student {shapeText studentLogits.shape} maps differ in shape"
        if mask.dim () <> 3 || mask.size 0 <> teacherLogits.size 0 || mask.size 1 <> teacherLogits.size 2 || mask.size 2 <> teacherLogits.size 3 then
            invalidArg (nameof mask) $"CSD consistency: the mask {shapeText mask.shape} must be (B, H, W) of the maps {shapeText teacherLogits.shape}"
        use scope = torch.NewDisposeScope()
        let p = teacherLogits.detach().softmax(1L)          // (B, C, H, W) teacher distribution
        let logQ = studentLogits.log_softmax(1L)            // (B, C, H, W)
        let mean = Losses.klDivergence p logQ mask          // mean over the selected pixels
        let loss =
            match reduction with
            | MeanOverPixels -> mean
            | SumOverCells ->
                let n = mask.to_type(ScalarType.Float32).sum() // selected pixels
                mean * n / (cellArea * float (teacherLogits.size 0))
        loss.MoveToOuterDisposeScope()

    /// L_fg (Eq. 3): the class distributions over the pasted foreground pixels.
    let foreground (reduction: ConsistencyReduction) (cellArea: float) (teacherMaps: Tensor) (studentMaps: Tensor) (mask: Tensor) : Tensor =
        divergence reduction cellArea teacherMaps studentMaps mask

    /// L_bg (Eq. 5): the background-aware distributions over the pasted background pixels.
    let background (reduction: ConsistencyReduction) (cellArea: float) (score: BackgroundScore) (dummy: float) (teacherMaps: Tensor) (studentMaps: Tensor) (mask: Tensor) : Tensor =
        use scope = torch.NewDisposeScope()
        let t = backgroundLogits score dummy teacherMaps
        let s = backgroundLogits score dummy studentMaps
        (divergence reduction cellArea t s mask).MoveToOuterDisposeScope()

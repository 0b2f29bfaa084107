/// Class activation maps on tensors: normalising, multi-scale fusion, seeds and pseudo labels.
/// K foreground classes; labels (B, K) multi-hot. The maps themselves (W . F) and the
/// image-level pooling are Hybrid.Vision.Heads.CamClassifier's (RawCam, Cam, forward).
module Hybrid.Wsss.Cam

open TorchSharp
open Hybrid.Wsss

type private F = torch.nn.functional

/// Zeroes the maps of absent classes: maps (B, K, h, w), labels (B, K).
let restrict (maps: Tensor) (labels: Tensor) : Tensor =
    use l = labels.to_type(maps.dtype).view(labels.size 0, labels.size 1, 1L, 1L)
    maps * l

/// Per-class max normalisation to [0, 1] restricted to present classes: relu(cam) / max,
/// absent classes 0. maps (B, K, h, w), labels (B, K).
let normaliseMax (maps: Tensor) (labels: Tensor) : Tensor =
    use scope = torch.NewDisposeScope()
    let r = maps.relu()
    let mx = r.amax([| 2L; 3L |], keepdim = true).clamp_min(1e-5)  // (B, K, 1, 1)
    (restrict (r / mx) labels).MoveToOuterDisposeScope()

/// Per-class min-max normalisation to [0, 1] restricted to present classes.
let normaliseMinMax (maps: Tensor) (labels: Tensor) : Tensor =
    use scope = torch.NewDisposeScope()
    let mn = maps.amin([| 2L; 3L |], keepdim = true)
    let mx = maps.amax([| 2L; 3L |], keepdim = true)
    let n = (maps - mn) / (mx - mn).clamp_min(1e-5)
    (restrict n labels).MoveToOuterDisposeScope()

/// Bilinear resize of maps (B, K, h, w) to (H, W).
let resize (height: int64) (width: int64) (maps: Tensor) : Tensor =
    F.interpolate(maps, [| height; width |], mode = InterpolationMode.Bilinear, align_corners = false)

/// The multi-scale scales of MAP.md (AuxSegNet+ Tab. VIII: adding 2.0 costs 2x for no gain).
let defaultScales = [ 0.5; 1.0; 1.5 ]

/// Multi-scale + flip CAM fusion: camOf maps images (B, 3, h, w) to CAMs (B, K, h', w');
/// each scale (and its flip, flipped back) is upsampled to the input size and summed; the sum
/// is max-normalised per present class. images (B, 3, H, W) -> (B, K, H, W) in [0, 1].
/// Each scale's intermediates are freed before the next scale runs (only the running sum
/// lives across scales): freeing them all at the end made the allocator hand the memory back
/// to the kernel and fault it in again on every batch (bench/README.md, cam-eval).
let multiScale (camOf: Tensor -> Tensor) (scales: float list) (flip: bool) (images: Tensor) (labels: Tensor) : Tensor =
    if List.isEmpty scales then invalidArg (nameof scales) "multi-scale CAM needs at least one scale"
    let h, w = images.size 2, images.size 3
    let mutable acc : Tensor = null                                        // (B, K, H, W)
    try
        for s in scales do
            use _scale = torch.NewDisposeScope()
            let sh, sw = max 1L (int64 (round (float h * s))), max 1L (int64 (round (float w * s)))
            let x = if sh = h && sw = w then images.alias() else F.interpolate(images, [| sh; sw |], mode = InterpolationMode.Bilinear, align_corners = false)
            let mutable part = resize h w ((camOf x).relu())               // (B, K, H, W)
            if flip then
                part <- part + resize h w ((camOf (x.flip(3L))).relu().flip(3L))
            let next = (if isNull acc then part.alias() else acc + part).MoveToOuterDisposeScope()
            if not (isNull acc) then acc.Dispose()
            acc <- next
        use sum = acc
        normaliseMax sum labels
    with _ ->
        if not (isNull acc) then acc.Dispose()
        reraise ()

/// Seeds from a background threshold: label = argmax over [t, cam_1 .. cam_K] where absent
/// classes never win. cams (B, K, H, W) normalised; labels (B, K) -> (B, H, W) int64 in 0..K.
let seeds (bgThreshold: float) (cams: Tensor) (labels: Tensor) : Tensor =
    use scope = torch.NewDisposeScope()
    let b, _, h, w = cams.size 0, cams.size 1, cams.size 2, cams.size 3
    let absent = labels.eq(0.0).view(b, labels.size 1, 1L, 1L).expand(cams.shape)
    let masked = cams.masked_fill(absent, -1.0)                     // absent classes never win
    let bg = torch.full([| b; 1L; h; w |], bgThreshold, device = cams.device)
    (torch.cat([| bg; masked |], 1L).argmax(1L)).MoveToOuterDisposeScope()

/// Pseudo labels with an ignore band: foreground (argmax + 1) where the best present CAM
/// >= fg, background where it < bg, 255 in between. cams (B, K, H, W), labels (B, K).
let pseudoLabels (fg: float) (bg: float) (cams: Tensor) (labels: Tensor) : Tensor =
    if bg > fg then invalidArg (nameof bg) (sprintf "the background threshold %g must not exceed the foreground threshold %g" bg fg)
    use scope = torch.NewDisposeScope()
    let b = cams.size 0
    let absent = labels.eq(0.0).view(b, labels.size 1, 1L, 1L).expand(cams.shape)
    let masked = cams.masked_fill(absent, -1.0)
    let struct (best, arg) = masked.max(1L)                          // (B, H, W)
    let lbl = (arg + 1L).masked_fill(best.lt(fg), 255.0)
    let lbl = lbl.masked_fill(best.lt(bg), 0.0)
    lbl.MoveToOuterDisposeScope()

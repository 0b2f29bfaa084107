/// The pseudo-label forward of CoSA (Sec. 3.2): the assignment network (or, with SA off, the
/// online network) on the weak view, without gradient, at several scales and their flips,
/// gives M', M-dagger' and S' at the image resolution.
module Hybrid.Wsss.Methods.Cosa.Assignment

open TorchSharp
open Hybrid.Vision.Heads
open Hybrid.Wsss

type private F = torch.nn.functional

/// A network's maps on a batch at the image size (H, W). B batch, K foreground classes.
type Maps =
    { /// M': CAM normalised to [0, 1] per present class by its maximum, absent classes 0
      /// (B, K, H, W)
      Cam: Tensor
      /// M-dagger': the low-level CAM, normalised the same way (B, K, H, W)
      AuxCam: Tensor
      /// S': segmentation logits summed over the scales and flips (B, K + 1, H, W)
      Segmentation: Tensor }

/// Multi-scale (and flip) inference of `net` on images (B, 3, H, W) with labels (B, K). Each
/// scale's (and flip's, flipped back) ReLU CAMs and segmentation logits are bilinearly resized
/// to (H, W) and summed; the CAM sums are max-normalised per present class (Cam.normaliseMax).
/// The network runs in eval mode and without gradient; its previous mode is restored.
/// Each forward's intermediates are freed before the next forward runs and only the three
/// running sums live across them (as Cam.multiScale does: holding every forward's maps until
/// the end made each step touch fresh memory instead of reusing the freed blocks).
let infer (net: CosaNetwork) (scales: float list) (flip: bool) (images: Tensor) (labels: Tensor) : Maps =
    if List.isEmpty scales then invalidArg (nameof scales) "pseudo labels need at least one scale"
    let wasTraining = net.training
    net.eval ()
    try
        use _noGrad = torch.no_grad ()
        use scope = torch.NewDisposeScope()
        let h, w = images.size 2, images.size 3
        // the running sums (B, K, H, W), (B, K, H, W), (B, K + 1, H, W), owned by `scope`
        let mutable sums: (Tensor * Tensor * Tensor) option = None
        let run (x: Tensor) (flipped: bool) =
            use forward = torch.NewDisposeScope()
            let o = net.forward x
            let back (t: Tensor) = if flipped then t.flip(3L) else t
            let cam1 = back (Cam.resize h w (net.RawCam(o, CamDetach.None).relu()))   // (B, K, H, W)
            let aux1 = back (Cam.resize h w (net.RawAuxCam(o).relu()))                // (B, K, H, W)
            let seg1 = back (Cam.resize h w o.Segmentation)                           // (B, K + 1, H, W)
            match sums with
            | None ->
                forward.MoveToOther(scope, cam1, aux1, seg1) |> ignore
                sums <- Some(cam1, aux1, seg1)
            | Some (cam, aux, seg) ->
                cam.add_(cam1) |> ignore
                aux.add_(aux1) |> ignore
                seg.add_(seg1) |> ignore
        for s in scales do
            use _scale = torch.NewDisposeScope()
            let sh, sw = max 1L (int64 (round (float h * s))), max 1L (int64 (round (float w * s)))
            let x =
                if sh = h && sw = w then images.alias()
                else F.interpolate(images, [| sh; sw |], mode = InterpolationMode.Bilinear, align_corners = false)
            run x false
            if flip then run (x.flip(3L)) true
        let cam, aux, seg = sums.Value
        { Cam = (Cam.normaliseMax cam labels).MoveToOuterDisposeScope()
          AuxCam = (Cam.normaliseMax aux labels).MoveToOuterDisposeScope()
          Segmentation = seg.MoveToOuterDisposeScope() }
    finally
        net.train wasTraining

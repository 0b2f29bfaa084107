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
let infer (net: CosaNetwork) (scales: float list) (flip: bool) (images: Tensor) (labels: Tensor) : Maps =
    if List.isEmpty scales then invalidArg (nameof scales) "pseudo labels need at least one scale"
    let wasTraining = net.training
    net.eval ()
    try
        use _noGrad = torch.no_grad ()
        use scope = torch.NewDisposeScope()
        let h, w = images.size 2, images.size 3
        let mutable cam: Tensor option = None
        let mutable aux: Tensor option = None
        let mutable seg: Tensor option = None
        let add (acc: Tensor option) (t: Tensor) = Some(match acc with None -> t | Some a -> a + t)
        let run (x: Tensor) (flipped: bool) =
            let o = net.forward x
            let back (t: Tensor) = if flipped then t.flip(3L) else t
            let cam1 = Cam.resize h w (net.RawCam(o, CamDetach.None).relu())       // (B, K, H, W)
            let aux1 = Cam.resize h w (net.RawAuxCam(o).relu())                    // (B, K, H, W)
            let seg1 = Cam.resize h w o.Segmentation                               // (B, K + 1, H, W)
            cam <- add cam (back cam1)
            aux <- add aux (back aux1)
            seg <- add seg (back seg1)
        for s in scales do
            let sh, sw = max 1L (int64 (round (float h * s))), max 1L (int64 (round (float w * s)))
            let x =
                if sh = h && sw = w then images.alias()
                else F.interpolate(images, [| sh; sw |], mode = InterpolationMode.Bilinear, align_corners = false)
            run x false
            if flip then run (x.flip(3L)) true
        { Cam = (Cam.normaliseMax cam.Value labels).MoveToOuterDisposeScope()
          AuxCam = (Cam.normaliseMax aux.Value labels).MoveToOuterDisposeScope()
          Segmentation = seg.Value.MoveToOuterDisposeScope() }
    finally
        net.train wasTraining

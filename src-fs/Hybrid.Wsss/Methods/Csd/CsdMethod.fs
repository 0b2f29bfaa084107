namespace Hybrid.Wsss.Methods.Csd

open TorchSharp
open Hybrid.Vision
open Hybrid.Wsss
open Hybrid.Wsss.Training
open Hybrid.Wsss.Methods.Cam

/// The copy-paste views of one multi-label training image (slot of the batch) and its partner.
type PastedPair =
    { Slot: int
      Partner: Partner
      /// x_sm^fg: the partner's foreground pasted in (label = union)
      Foreground: CopyPasteResult
      /// x_sm^bg: the partner's background pasted in at the same place (None when the
      /// partner's mask leaves no background to paste)
      Background: CopyPasteResult option
      /// (H, W) bool, result frame: the pasted background pixels the stage-1 mask calls
      /// background (L_bg's region)
      BackgroundRegion: Tensor option }

/// CSD's stage 2 (Sec. 3.2): the CAM baseline trained with L = L_cls + lambda1 L_fg +
/// lambda2 L_bg (Eq. 6) on multi-label images augmented by copy-paste of single-label images.
module CsdMethod =
    /// The pastes of a batch: each multi-label image gets a partner (co-occurrence resampling
    /// or uniform), pasted as foreground and, at the same place, as background.
    let pastes (cfg: CsdConfig) (src: PartnerSource) (step: int) (batch: Batch) : PastedPair list =
        let device = batch.Images.device
        let _, _, h, w = batch.Images.size 0, batch.Images.size 1, batch.Images.size 2, batch.Images.size 3
        [ for slot in 0 .. Batch.size batch - 1 do
            let index = PartnerSource.indexOf src batch.Ids[slot]
            match PartnerSource.draw src step slot index |> Option.bind (PartnerSource.load src step slot) with
            | None -> ()
            | Some p ->
                if int64 p.Height <> h || int64 p.Width <> w then
                    invalidOp $"CSD: the partner is {p.Width}x{p.Height} but the batch images are {w}x{h}; train with a fixed crop size"
                let image = torch.tensor (p.Image, [| 3L; int64 p.Height; int64 p.Width |], device = device) // (3, H, W)
                let fg = SourceMask.toTensor SourceMask.Foreground device p.Mask                              // (H, W) bool
                let labels = torch.tensor (p.Labels, [| int64 p.Labels.Length |], device = device)             // (K)
                let target = batch.Images.select(0L, int64 slot)                                              // (3, H, W)
                let targetLabels = batch.Labels.select(0L, int64 slot)                                        // (K)
                let rng = PartnerSource.placement src step slot
                let fgView = CopyPaste.PasteForeground(image, fg, labels, target, targetLabels, rng, cfg.FeatherRadius)
                let bgView, region =
                    if SourceMask.hasBackgroundToPaste cfg.BackgroundWindow p.Mask then
                        let v = CopyPaste.PasteBackground(image, fg, labels, target, targetLabels, rng, cfg.FeatherRadius, fgView.Placement, Option.toNullable cfg.BackgroundWindow)
                        let reliable = (SourceMask.toTensor SourceMask.Background device p.Mask).to_type(ScalarType.Float32) // (H, W)
                        let moved = v.ToResultFrame(reliable, 0.0)                                                     // (H, W) result frame
                        Some v, Some(v.BackgroundMask.logical_and(moved.gt(0.5)))
                    else None, None
                yield
                    { Slot = slot
                      Partner = p
                      Foreground = fgView
                      Background = bgView
                      BackgroundRegion = region } ]

    let private zero (device: Device) = torch.zeros (Array.empty<int64>, device = device)

    /// One training step: L_cls on the batch (and on the pasted views with paste_cls), L_fg and
    /// L_bg between the network on each partner (teacher, no gradient) and on its pastes. One
    /// forward over [batch; partners; foreground views; background views] so that batch
    /// normalisation treats teacher and student alike.
    let step (cfg: CsdConfig) (net: CamNet) (src: PartnerSource option) (ctx: StepContext) (batch: Batch) : NamedLosses =
        let cls scores labels = CamBaseline.classificationLoss cfg.Baseline.Loss scores labels
        match src with
        | None -> [ "cls", cls (net.forward batch.Images) batch.Labels ]
        | Some src ->
            let device = batch.Images.device
            let b = int64 (Batch.size batch)
            let h, w = Batch.imageSize batch
            let pairs = pastes cfg src ctx.Step batch
            if pairs.IsEmpty then
                [ "cls", cls (net.forward batch.Images) batch.Labels; "fg", zero device; "bg", zero device ]
            else
                let withBg = pairs |> List.filter (fun p -> p.Background.IsSome)
                let t, tb = int64 pairs.Length, int64 withBg.Length
                let stack (xs: Tensor list) = torch.stack (Array.ofList xs, 0L)
                let partners = pairs |> List.map (fun p -> torch.tensor (p.Partner.Image, [| 3L; h; w |], device = device)) |> stack // (T, 3, H, W)
                let fgViews = pairs |> List.map (fun p -> p.Foreground.Image) |> stack                                              // (T, 3, H, W)
                let bgViews = withBg |> List.map (fun p -> p.Background.Value.Image)                                                  // Tb x (3, H, W)
                let inputs = torch.cat (Array.ofList ([ batch.Images; partners; fgViews ] @ (if tb > 0L then [ stack bgViews ] else [])), 0L) // (B + 2T + Tb, 3, H, W)
                let out = net.Run inputs
                let maps = out.Maps                                                                  // (N, K, h, w)
                let cellArea = float (h * w) / float (maps.size 2 * maps.size 3)
                // L_cls: the training images (and the pasted views with their labels when asked)
                let lossCls =
                    if cfg.PasteClassification then
                        let labels =
                            [ batch.Labels
                              pairs |> List.map (fun p -> p.Foreground.Labels) |> stack ]
                            @ (if tb > 0L then [ withBg |> List.map (fun p -> p.Background.Value.Labels) |> stack ] else [])
                        let rows = torch.cat ([| out.Scores.narrow(0L, 0L, b); out.Scores.narrow(0L, b + t, t + tb) |], 0L)
                        cls rows (torch.cat (Array.ofList labels, 0L))
                    else cls (out.Scores.narrow(0L, 0L, b)) batch.Labels
                // teacher: the partners' maps at image size, no gradient, one per pair
                let teacher = Cam.resize h w (maps.narrow(0L, b, t).detach())                         // (T, K, H, W)
                let teacherIn (view: CopyPasteResult) (i: int) = view.ToResultFrame(teacher.select(0L, int64 i), 0.0) // (K, H, W)
                let lossFg =
                    let tFg = pairs |> List.mapi (fun i p -> teacherIn p.Foreground i) |> stack        // (T, K, H, W)
                    let sFg = Cam.resize h w (maps.narrow(0L, b + t, t))                               // (T, K, H, W)
                    let region = pairs |> List.map (fun p -> p.Foreground.ForegroundMask) |> stack     // (T, H, W)
                    Consistency.foreground cfg.Reduction cellArea tFg sFg region
                let lossBg =
                    if tb = 0L then zero device
                    else
                        let index = pairs |> List.mapi (fun i p -> p, i) |> List.filter (fun (p, _) -> p.Background.IsSome)
                        let tBg = index |> List.map (fun (p, i) -> teacherIn p.Background.Value i) |> stack // (Tb, K, H, W)
                        let sBg = Cam.resize h w (maps.narrow(0L, b + 2L * t, tb))                         // (Tb, K, H, W)
                        let region = withBg |> List.map (fun p -> p.BackgroundRegion.Value) |> stack        // (Tb, H, W)
                        Consistency.background cfg.Reduction cellArea cfg.Background cfg.DummyScore tBg sBg region
                [ "cls", lossCls; "fg", lossFg * cfg.Lambda1; "bg", lossBg * cfg.Lambda2 ]

    /// Stage 2 as a Method on a given CAM network (src None: copy-paste off, the baseline).
    let create (cfg: CsdConfig) (net: CamNet) (src: PartnerSource option) (env: MethodEnv) : Method =
        { Name = "csd"
          Model = net
          Groups = net.Groups(MethodEnv.headLrMult env cfg.Baseline.NewLayerLr)
          Step = step cfg net src
          AfterStep = ignore
          Predict = { Predictor.none with Cam = Some net.Maps }
          State = MethodState.none }

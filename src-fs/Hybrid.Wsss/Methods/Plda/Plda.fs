namespace Hybrid.Wsss.Methods.Plda

open TorchSharp
open TorchSharp.Modules
open Hybrid.Torch.Optim
open Hybrid.Vision
open Hybrid.Wsss
open Hybrid.Wsss.Training

/// Everything PLDA trains: the baseline's modules plus the discriminator (absent for MMD)
/// and the learned background scorer (absent with a fixed background), under stable names
/// for checkpoints: baseline.*, discriminator.*, background.*.
type PldaModel(baseline: torch.nn.Module, discriminator: DomainClassifier option, background: Conv2d option) as this =
    inherit torch.nn.Module("PldaModel")

    do
        this.register_module("baseline", baseline)
        discriminator |> Option.iter (fun d -> this.register_module("discriminator", d))
        background |> Option.iter (fun b -> this.register_module("background", b))

    /// Children are registered by name above; no field reflection.
    override _.RegisterComponents() = ()
    member _.Baseline = baseline
    member _.Discriminator = discriminator
    member _.Background = background

/// A PLDA run: the method for the training loop, the model and the diagnostics it fills.
type PldaRun =
    { Method: Method
      Model: PldaModel
      Diagnostics: PldaDiagnostics }

/// Pixel-Level Domain Adaptation (PLDA, TIP) plugged into a CAM baseline:
/// L = L_baseline + w_da L_da + w_cps (L_cps_s + L_cps_t) (Eq. 9), each added term switchable.
module Plda =
    let private noGrad (f: unit -> 'T) : 'T =
        use _ng = torch.no_grad ()
        f ()

    /// The per-pixel classifier CPS trains: [s_bg, s_1 .. s_K] (B, K + 1, h, w) from the
    /// feature (B, D, h, w) and the CAM scores (B, K, h, w).
    let classifierLogits (background: Conv2d option) (features: Tensor) (scores: Tensor) : Tensor =
        use scope = torch.NewDisposeScope()
        let bg =
            match background with
            | Some conv -> conv.forward features                          // (B, 1, h, w)
            | None -> torch.ones ([| scores.size 0; 1L; scores.size 2; scores.size 3 |], device = scores.device)
        (torch.cat ([| bg; scores |], 1L)).MoveToOuterDisposeScope()     // (B, K + 1, h, w)

    /// PLDA's loss terms on top of the baseline's, for one batch. Returns the terms (named
    /// "da", "cps_s", "cps_t") and feeds the diagnostics when the batch has GT masks.
    let terms (cfg: PldaConfig) (net: CamNetwork) (model: PldaModel) (pamr: Pamr) (diagnostics: PldaDiagnostics)
              (ctx: StepContext) (batch: Batch) (features: Tensor) (scores: Tensor) : NamedLosses =
        if not (cfg.DomainAdaptation || cfg.CpsSource || cfg.CpsTarget) then []
        else
            let images, labels = batch.Images, batch.Labels
            let ncam = DomainAssignment.normalise scores labels          // (B, K, h, w)
            // Domain assignment (Sec. III-D); MaskAssign forwards the erased image without gradient
            let erased, maskedScores, domains =
                match cfg.Assignment with
                | MaskAssign ->
                    let source = DomainAssignment.above cfg.Delta ncam    // (B, h, w)
                    let erased = DomainAssignment.erase images source     // (B, 3, H, W)
                    let masked =                                          // (B, K, h, w)
                        noGrad (fun () ->
                            // the erased images are no training data of the BN statistics
                            use _keep = if cfg.ErasedKeepsBatchNorm then Hybrid.Torch.Modules.BatchNormStatistics.Preserve net.Model else null
                            net.Scores (net.Features erased))
                    let mcam = DomainAssignment.normalise masked labels
                    Some erased, Some masked, DomainAssignment.maskAssign cfg.Delta ncam mcam
                | SimpleAssign -> None, None, DomainAssignment.simpleAssign cfg.Delta cfg.SimpleLow ncam
            let da =
                if cfg.DomainAdaptation then
                    let grl = DomainAlignment.grlCoefficient cfg ctx.Clock
                    [ "da", cfg.DaWeight * DomainAlignment.loss cfg model.Discriminator grl features domains ]
                else []
            // Confident pseudo-supervision (Sec. III-E): PAMR against the (erased) image at the CAM's size
            let refine (img: Tensor) (p: Tensor) = if cfg.PamrIterations = 0 then p.alias () else pamr.RefineAtMaskSize(img, p)
            let logits = lazy (classifierLogits model.Background features scores) // (B, K + 1, h, w)
            let cpsS =
                if cfg.CpsSource then
                    let p = ConfidentPseudoSupervision.distribution refine images scores labels
                    Some(ConfidentPseudoSupervision.targets (PldaConfig.cutoffs cfg) p domains.Source domains.Head)
                else None
            let cpsT =
                if cfg.CpsTarget then
                    // Eq. 8: labels from the masked image's refined CAM (SimpleAssign has no masked
                    // image: the target reads the same CAM as the source)
                    let p =
                        match erased, maskedScores with
                        | Some e, Some m -> ConfidentPseudoSupervision.distribution refine e m labels
                        | _ -> ConfidentPseudoSupervision.distribution refine images scores labels
                    Some(ConfidentPseudoSupervision.targets (PldaConfig.cutoffs cfg) p domains.Target domains.Head)
                else None
            match batch.Masks with
            | Some gt ->
                use g = PldaDiagnostics.Downsample gt (scores.size 2) (scores.size 3)
                diagnostics.Observe g domains cpsS cpsT
            | None -> ()
            let cps name (sup: Tensor option) =
                match sup with
                | Some s -> [ name, cfg.CpsWeight * ConfidentPseudoSupervision.loss logits.Value s ]
                | None -> []
            da @ cps "cps_s" cpsS @ cps "cps_t" cpsT

    /// PLDA's new layers (discriminator, background scorer) get lr x NewLayerLrMult.
    let private groups (cfg: PldaConfig) (net: CamNetwork) (disc: DomainClassifier option) (bg: Conv2d option) =
        let fresh =
            [ yield! disc |> Option.map (fun d -> d.parameters () |> List.ofSeq) |> Option.defaultValue []
              yield! bg |> Option.map (fun b -> b.parameters () |> List.ofSeq) |> Option.defaultValue [] ]
        if List.isEmpty fresh then net.Groups
        else net.Groups @ [ ParamGroup(fresh, lr_mult = cfg.NewLayerLrMult, name = "plda") ]

    /// Builds PLDA on a baseline network. The discriminator and background scorer are created
    /// on the device of the baseline's parameters.
    let build (cfg: PldaConfig) (net: CamNetwork) : PldaRun =
        let cfg = PldaConfig.validate cfg
        let disc = DomainAlignment.create cfg net.Channels net.Classes
        let bg =
            match cfg.Background with
            | LearnedBackground ->
                let conv = torch.nn.Conv2d(net.Channels, 1L, 1L)
                torch.nn.init.zeros_ conv.weight |> ignore
                conv.bias |> Option.ofObj |> Option.iter (fun b -> torch.nn.init.zeros_ b |> ignore)
                Some conv
            | FixedBackground -> None
        match net.Model.parameters () |> Seq.tryHead with
        | Some p ->
            disc |> Option.iter (fun d -> d.``to``(p.device) |> ignore)
            bg |> Option.iter (fun b -> b.``to``(p.device) |> ignore)
        | None -> ()
        let model = new PldaModel(net.Model, disc, bg)
        let pamr = Pamr(cfg.PamrIterations, (cfg.PamrDilations |> Array.ofList :> System.Collections.Generic.IReadOnlyList<int>))
        let diagnostics = PldaDiagnostics()
        let step (ctx: StepContext) (batch: Batch) : NamedLosses =
            let features = net.Features batch.Images                     // (B, D, h, w)
            let scores = net.Scores features                             // (B, K, h, w)
            let baseline = net.Losses ctx batch features scores
            baseline @ terms cfg net model pamr diagnostics ctx batch features scores
        let predict = { net.Predict with Cam = Some(fun images -> net.Scores (net.Features images)) }
        { Method =
            { Name = "plda"
              Model = model
              Groups = groups cfg net disc bg
              Step = step
              AfterStep = ignore
              Predict = predict
              State = MethodState.none }
          Model = model
          Diagnostics = diagnostics }

    /// PLDA on a baseline network, as the training loop sees it.
    let create (cfg: PldaConfig) (net: CamNetwork) : Method = (build cfg net).Method

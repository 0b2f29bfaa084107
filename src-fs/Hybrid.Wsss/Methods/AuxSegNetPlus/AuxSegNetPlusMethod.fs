namespace Hybrid.Wsss.Methods.AuxSegNetPlus

open TorchSharp
open Hybrid.Torch.Optim
open Hybrid.Wsss
open Hybrid.Wsss.Schedules
open Hybrid.Wsss.Training

/// AuxSegNet+ as the training loop sees it, one Method per phase of the stage-wise plan.
module AuxSegNetPlusMethod =
    let name = "auxsegnet+"

    /// The network of a configuration on a shared backbone, for K foreground classes.
    let network (backbone: SharedBackbone) (classes: int) (cfg: Config) : AuxSegNetNetwork =
        if classes < 1 then invalidArg (nameof classes) "AuxSegNet+ needs at least one foreground class"
        new AuxSegNetNetwork(backbone, int64 classes, Config.validate cfg)

    /// Backbone at the base learning rate, every new layer at x NewLayerLrMultiplier.
    let groups (net: AuxSegNetNetwork) : ParamGroup list =
        [ ParamGroup(net.BackboneParameters, 1.0, name = "backbone")
          ParamGroup(net.NewLayerParameters, net.Config.NewLayerLrMultiplier, name = "new_layers") ]

    /// Segmentation logits at feature resolution: when the network learns an affinity, the log
    /// of the segmentation probabilities refined by its pairwise affinity (or the refined
    /// logits, when the configuration refines logits) (Sec. III-C
    /// "Inference": "refined by the learned cross-task pairwise affinity map"; training's
    /// refinement also applies the unary affinity), else the initial logits. (B, K + 1, h, w).
    let segment (net: AuxSegNetNetwork) (images: Tensor) : Tensor =
        use _ng = torch.no_grad ()
        use scope = torch.NewDisposeScope()
        let out = net.Heads images
        let logits =
            match out.Affinity with
            | Some a ->
                match net.Config.Refines with
                | Probabilities -> (AffinityRefinement.pairwise a (out.Segmentation.softmax(1L))).clamp_min(1e-8).log()
                | Logits -> AffinityRefinement.pairwise a out.Segmentation
            | None -> out.Segmentation.alias ()
        logits.MoveToOuterDisposeScope()

    /// Raw class score maps W . F (B, K, h, w).
    let cam (net: AuxSegNetNetwork) (images: Tensor) : Tensor =
        use _ng = torch.no_grad ()
        use scope = torch.NewDisposeScope()
        let _, c = net.Classify(net.Features images)
        c.MoveToOuterDisposeScope()

    /// The method's own pseudo masks of a batch (B, H, W): multi-scale CAMs, refined by the
    /// learned affinity when the configuration refines CAMs, thresholded against the batch's
    /// saliency maps.
    let pseudo (net: AuxSegNetNetwork) (b: Batch) : Tensor =
        use _ng = torch.no_grad ()
        use scope = torch.NewDisposeScope()
        let cfg = net.Config
        let cams, _ = LabelGeneration.multiScaleCam net cfg.RefineCam false b.Images b.Labels
        (PseudoLabelMaps.segmentation cfg.Thresholds cams b.Labels (Batch.saliency b)).MoveToOuterDisposeScope()

    let predictor (net: AuxSegNetNetwork) : Predictor =
        { Cam = Some(cam net)
          Segment = Some(segment net)
          Pseudo = Some(pseudo net) }

    /// One step's losses in a phase: the classification phase trains the classifier alone
    /// (multilabel soft margin); a label stage trains every configured branch (Eq. 19) on the
    /// targets `targets` gives for the batch.
    let step (net: AuxSegNetNetwork) (phase: Phase) (targets: Batch -> StageTargets) (_: StepContext) (b: Batch) : NamedLosses =
        match phase with
        | Classification ->
            let scores, _ = net.Classify(net.Features b.Images)
            Objective.classification scores b.Labels
        | LabelStage _ ->
            let out = net.Forward b.Images
            Objective.stage net.Config out b.Labels (targets b)

    /// The Method of one phase.
    let forPhase (net: AuxSegNetNetwork) (phase: Phase) (targets: Batch -> StageTargets) : Method =
        { Name = name
          Model = net
          Groups = groups net
          Step = step net phase targets
          AfterStep = ignore
          Predict = predictor net
          State = MethodState.none }

/// CoSA as a Method (Eq. 11): the online network learns classification from the image labels,
/// segmentation from the CPL of the assignment network (CAM2Seg, with RAW), and its CAMs from
/// the SPL (Seg2CAM) and the contrastive separation; the assignment network follows by EMA.
///
/// Where CoSA's public code differs from the paper, this follows the paper (and MAP.md):
/// - CPL: one threshold xi (Eq. 3) from a two-component GMM (Eq. 6); the code thresholds twice
///   (an ignore band between a low and a high threshold, each from a three-component GMM
///   smoothed by an EMA) and ships the GMM switched off.
/// - CAM2Seg: the RAW-weighted cross entropy of Eq. 5 over all pixels; the code averages the
///   background and foreground pixels separately (0.5 / 0.5; `c2s-reduce=halves`) and has no
///   RAW weights.
/// - Eq. 11 adds lambda_c2s (L_c2s + L_c2s(M-dagger)); the code mixes the two 0.5 / 0.5.
/// - The code's extra dense-energy (CRF) regulariser is not part of the paper and is left out;
///   the contrastive separation (absent from the code) is Eq. 9-10.
/// - The EMA covers parameters and buffers (MAP.md); the code averages parameters only.
module Hybrid.Wsss.Methods.Cosa.Cosa

open TorchSharp
open Hybrid.Torch.Optim
open Hybrid.Vision.Heads
open Hybrid.Wsss
open Hybrid.Wsss.Schedules
open Hybrid.Wsss.Training

/// The mutable state of a run beside the model: the thresholds of M' and M-dagger'.
type CosaState(cfg: CosaConfig) =
    member val Threshold = ThresholdTracker.create cfg.DynamicThreshold cfg.Threshold cfg.QueueLength cfg.ConfidenceFloor
    member val AuxThreshold = ThresholdTracker.create cfg.DynamicThreshold cfg.Threshold cfg.QueueLength cfg.ConfidenceFloor

    /// The thresholds' queues and histories, for checkpoints.
    member s.Save() : (string * Tensor) list = s.Threshold.Snapshot "threshold" @ s.AuxThreshold.Snapshot "aux_threshold"

    /// Restores what Save wrote (owns and disposes the tensors).
    member s.Restore(state: Map<string, Tensor>) =
        try
            s.Threshold.Restore("threshold", state)
            s.AuxThreshold.Restore("aux_threshold", state)
        finally
            state |> Map.iter (fun _ t -> t.Dispose())

/// The swapped assignments of one batch, at the image size (H, W).
type Targets =
    { Maps: Assignment.Maps
      /// xi and nu (B, H, W) and the CPL (B, H, W) of M'
      Xi: float
      Confidence: Tensor
      Cpl: Tensor
      /// the same for M-dagger'
      AuxXi: float
      AuxConfidence: Tensor
      AuxCpl: Tensor }

let name = "cosa"

/// The network that produces the assignments: AN with SA on, ON itself with SA off.
let assigningNetwork (cfg: CosaConfig) (model: CosaModel) : CosaNetwork =
    if cfg.SwapAssignments then model.Assignment else model.Online

/// The network that answers predictions.
let predictingNetwork (cfg: CosaConfig) (model: CosaModel) : CosaNetwork =
    match cfg.Predicting with
    | AssignmentNetwork -> model.Assignment
    | OnlineNetwork -> model.Online

/// CPL of both CAMs (Eq. 3) from the weak view, feeding the thresholds (DT enqueues the batch
/// before it is thresholded, as the paper describes).
let assign (cfg: CosaConfig) (model: CosaModel) (state: CosaState) (batch: Batch) : Targets =
    use scope = torch.NewDisposeScope()
    let maps = Assignment.infer (assigningNetwork cfg model) cfg.PseudoScales cfg.PseudoFlip batch.Images batch.Labels
    // the crop's padding has no image content: it gets no pseudo label (255, as the public
    // code marks pixels outside the image) and its confidences stay out of the GMM queues
    // (0 lies below the queues' confidence floor)
    let content (nu: Tensor) = match batch.Padding with Some p -> nu.masked_fill(p, 0.0) | None -> nu
    let nu = Cpl.confidence maps.Cam batch.Labels                     // (B, H, W)
    let xi = state.Threshold.Observe(content nu)
    let nuAux = Cpl.confidence maps.AuxCam batch.Labels               // (B, H, W)
    let xiAux = state.AuxThreshold.Observe(content nuAux)
    { Maps =
        { Cam = maps.Cam.MoveToOuterDisposeScope()
          AuxCam = maps.AuxCam.MoveToOuterDisposeScope()
          Segmentation = maps.Segmentation.MoveToOuterDisposeScope() }
      Xi = xi
      Confidence = nu.MoveToOuterDisposeScope()
      Cpl = (Batch.ignorePadding batch (Cpl.labels xi maps.Cam batch.Labels)).MoveToOuterDisposeScope()
      AuxXi = xiAux
      AuxConfidence = nuAux.MoveToOuterDisposeScope()
      AuxCpl = (Batch.ignorePadding batch (Cpl.labels xiAux maps.AuxCam batch.Labels)).MoveToOuterDisposeScope() }

/// The guidance target of the CAMs at their size (h, w), or None without guidance.
let guidanceTarget (cfg: CosaConfig) (classes: int64) (h: int64) (w: int64) (targets: Targets) (batch: Batch) : Seg2Cam.Target option =
    match cfg.Guidance with
    | NoGuidance -> None
    | FromSpl ->
        use spl = Spl.probabilities cfg.SplTemperature targets.Maps.Segmentation batch.Labels // (B, K + 1, H, W)
        // the padding is no guidance: only pixels with image content count
        Some { Seg2Cam.fromSpl h w spl with Valid = Batch.contentAt h w batch }
    | FromGroundTruth -> Some(Seg2Cam.fromGroundTruth classes h w (Batch.masks batch))

/// The contrastive separation (Eq. 9-10) of the online CAM scores (B, K, h, w), with the
/// region and labels from M-dagger' resized to (h, w).
let separation (cfg: CosaConfig) (cams: Tensor) (targets: Targets) (batch: Batch) : Tensor =
    use scope = torch.NewDisposeScope()
    let labels = batch.Labels
    let h, w = cams.size 2, cams.size 3
    let aux = Cam.resize h w targets.Maps.AuxCam                      // (B, K, h, w)
    let nu = Cpl.confidence aux labels                                // (B, h, w)
    let cpl = Cpl.labels targets.AuxXi aux labels                     // (B, h, w)
    let lowPerplexity = Reliability.lowPerplexity cfg.Perplexity targets.AuxXi cfg.LowPerplexityBound nu
    // anchors only where the image has content
    let region =
        match Batch.contentAt h w batch with
        | Some c -> lowPerplexity.logical_and(c.squeeze(1L).gt(0.5))   // (B, h, w)
        | None -> lowPerplexity
    (Separation.loss cfg.SeparationForm cfg.SeparationTemperature cfg.SeparationPixels cams cpl region).MoveToOuterDisposeScope()

/// The weighted terms of Eq. 11 for one batch. Before the warm-up ends only the two
/// classification terms are computed (the pseudo-label forward is skipped: its terms would
/// be multiplied by 0).
let losses (cfg: CosaConfig) (model: CosaModel) (state: CosaState) (ctx: StepContext) (batch: Batch) : NamedLosses =
    let on = model.Online
    let strong = if cfg.OnlineStrongView then batch.Strong |> Option.defaultValue batch.Images else batch.Images // (B, 3, H, W)
    let o = on.forward strong
    let cls = Losses.bce o.Scores batch.Labels                         // Eq. 1
    let clsAux = Losses.bce o.AuxScores batch.Labels
    let gate = Schedule.build 1.0 (Ramps.gateFrom (Warmup.steps ctx.Total cfg.Warmup)) ctx.Clock
    if gate = 0.0 then
        [ "cls", cls; "cls_aux", clsAux ]
    else
        let h, w = Batch.imageSize batch
        let targets = assign cfg model state batch
        let seg = Cam2Seg.upsample h w o.Segmentation                  // (B, K + 1, H, W)
        let raw xi nu = if cfg.ReliabilityWeighting then Some(Reliability.rawWeights cfg.Perplexity xi nu) else None
        let c2s = Cam2Seg.loss cfg.C2sReduction seg targets.Cpl (raw targets.Xi targets.Confidence)
        let c2sAux = Cam2Seg.loss cfg.C2sReduction seg targets.AuxCpl (raw targets.AuxXi targets.AuxConfidence)
        let fh, fw = o.Features.size 2, o.Features.size 3
        // the online CAM scores W . F (B, K, h, w), computed once for Seg2CAM and the separation
        let rawCam = lazy (on.RawCam(o, CamDetach.None))
        let camScores (detach: CamDetach) = if detach = CamDetach.None then rawCam.Force() else on.RawCam(o, detach)
        let s2c =
            guidanceTarget cfg on.Classes fh fw targets batch
            |> Option.map (fun target ->
                let cams = (camScores cfg.Detach).relu()       // (B, K, h, w)
                Seg2Cam.loss cams target)
        let csc =
            if cfg.ContrastiveSeparation then
                Some(separation cfg (camScores CamDetach.None) targets batch)
            else None
        [ yield "cls", cls
          yield "cls_aux", clsAux
          yield "c2s", c2s * (gate * cfg.WeightC2s)
          yield "c2s_aux", c2sAux * (gate * cfg.WeightC2sAux)
          match s2c with
          | Some l -> yield "s2c", l * (gate * cfg.WeightS2c)
          | None -> ()
          match csc with
          | Some l -> yield "csc", l * (gate * cfg.WeightCsc)
          | None -> () ]

/// Runs f with the network in eval mode, without gradient; restores the mode.
let private evaluating (net: CosaNetwork) (f: unit -> Tensor) : Tensor =
    let wasTraining = net.training
    net.eval ()
    try
        use _noGrad = torch.no_grad ()
        use scope = torch.NewDisposeScope()
        (f ()).MoveToOuterDisposeScope()
    finally
        net.train wasTraining

/// CoSA's pseudo masks (the CPL of Eq. 3 from the predicting network's multi-scale CAM and
/// the current threshold): the labels CoSA-MS trains a standalone segmentation network on.
/// batch -> (B, H, W) int64 in 0..K.
let pseudoMasks (cfg: CosaConfig) (model: CosaModel) (state: CosaState) (batch: Batch) : Tensor =
    let net = predictingNetwork cfg model
    evaluating net (fun () ->
        let maps = Assignment.infer net cfg.PseudoScales cfg.PseudoFlip batch.Images batch.Labels
        Batch.ignorePadding batch (Cpl.labels state.Threshold.Value maps.Cam batch.Labels))

/// The predictions of a trained CoSA model (see Training.Predictor).
let predictor (cfg: CosaConfig) (model: CosaModel) (state: CosaState) : Predictor =
    let net () = predictingNetwork cfg model
    { Cam = Some(fun images -> let n = net () in evaluating n (fun () -> n.RawCam(n.forward images, CamDetach.None)))
      Segment = Some(fun images -> let n = net () in evaluating n (fun () -> (n.forward images).Segmentation))
      Pseudo = Some(pseudoMasks cfg model state) }

/// The optimizer groups: the online backbone at the base rate, its new layers (classifiers
/// and decoder) at `headLr` times it. The AN is not optimised.
let groups (headLr: float) (model: CosaModel) : ParamGroup list =
    [ ParamGroup(model.Online.BackboneParameters |> List.filter (fun p -> p.requires_grad), 1.0, name = "backbone")
      ParamGroup(model.Online.HeadParameters, headLr, name = "heads") ]

/// CoSA around an existing model (tests build tiny ones), heads at cfg.HeadLrMultiplier.
let ofModelWith (headLr: float) (cfg: CosaConfig) (model: CosaModel) : Method * CosaState =
    let cfg = CosaConfig.validate cfg
    let state = CosaState(cfg)
    let momentum = AssignmentMomentum.schedule cfg.Momentum
    let m =
        { Name = name
          Model = model
          Groups = groups headLr model
          Step = losses cfg model state
          AfterStep = fun ctx -> model.UpdateAssignment(momentum ctx.Clock)
          Predict = predictor cfg model state
          State = { Save = state.Save; Restore = state.Restore } }
    m, state

/// CoSA around an existing model with the config's head lr multiplier.
let ofModel (cfg: CosaConfig) (model: CosaModel) : Method * CosaState = ofModelWith cfg.HeadLrMultiplier cfg model

/// A CoSA model for an environment: ON and AN built alike on the environment's backbone (and
/// device), AN starting as a copy of ON.
let createModel (env: MethodEnv) (cfg: CosaConfig) : CosaModel =
    let network () = new CosaNetwork(MethodEnv.backbone env, int64 env.Classes, cfg.SegmentationHead)
    new CosaModel(network (), network ()) |> MethodEnv.place env

/// CoSA for an environment, with its state (thresholds). The head lr multiplier applies on a
/// pretrained backbone only (MethodEnv.headLrMult: from scratch every layer is new).
let createWithState (env: MethodEnv) (cfg: CosaConfig) : Method * CosaState =
    let cfg = CosaConfig.validate cfg
    ofModelWith (MethodEnv.headLrMult env cfg.HeadLrMultiplier) cfg (createModel env cfg)

/// CoSA for an environment.
let create (env: MethodEnv) (cfg: CosaConfig) : Method = fst (createWithState env cfg)

namespace Hybrid.Wsss.Methods.AuxSegNetPlus

open System
open System.Collections.Generic
open System.IO
open System.Threading
open TorchSharp
open Hybrid.Wsss
open Hybrid.Wsss.Eval
open Hybrid.Wsss.Schedules
open Hybrid.Wsss.Training

/// The data of a stage-wise run.
type StageData =
    { /// the training stream of a phase from a step (label stages find their targets with `Targets`)
      Train: Phase -> int -> seq<Batch>
      /// the training images in their original geometry, for label generation; ground-truth
      /// masks, when present, only score the labels
      Generation: unit -> seq<Batch>
      /// training steps per epoch
      StepsPerEpoch: int
      /// the targets of a label-stage batch under the stage's labels (`LabelSet.targets` by id,
      /// or the batch's own Masks / Saliency when the loader reads the stage's label folders)
      Targets: LabelSet -> Batch -> StageTargets
      /// normalised images (B, 3, H, W) -> uint8 RGB (B, 3, H, W), for the saliency CRF
      ToRgb: Tensor -> Tensor
      /// the early-stopping metric of a label stage's epoch (higher is better), e.g. validation
      /// mIoU of Predictor.Segment; None: minus the epoch's mean training loss
      Validate: (Predictor -> float) option }

module StageData =
    /// Targets looked up by image id in the stage's label set (training in original geometry).
    let byId (labels: LabelSet) (b: Batch) : StageTargets =
        let h, w = Batch.imageSize b
        LabelSet.targets labels b.Ids h w b.Images.device

/// Labels generated for a stage and their quality against ground truth (when it was available).
type StageLabels =
    { Labels: LabelSet
      Quality: EvalResult option }

/// Everything a stage-wise run did.
type StageReport =
    { Phases: PhaseSummary list
      /// labels of every label stage in order (stage 0 first), then the labels after the last
      /// stage (what a further stage would train on)
      Labels: StageLabels list
      /// the metric of every epoch, by phase
      EpochMetrics: (Phase * float list) list }

/// What a stopped run had finished, for resuming it. A run resumes at the phase it stopped
/// in, which trains again from its start: the network at that start and the labels it trains
/// on are those of the uninterrupted run and each phase's loop reseeds, so the run ends as if
/// it had never stopped.
type StageJournal =
    { /// the epoch metrics of a phase that had finished (None: it had not)
      Finished: Phase -> float list option
      /// loads the network as it was at the end of a finished phase
      Restore: Phase -> unit
      /// the labels generated for a stage before the run stopped (None: they were not)
      Labels: int -> StageLabels option
      /// records a phase that has just finished (its best epoch's weights already restored)
      PhaseDone: Phase -> float list -> unit }

module StageJournal =
    /// A run that starts from nothing and records nothing.
    let none =
        { Finished = fun _ -> None
          Restore = ignore
          Labels = fun _ -> None
          PhaseDone = fun _ _ -> () }

/// The stage-wise AuxSegNet+ run (Algorithm 1): classification phase, label generation, label
/// stages with early stopping, labels regenerated after each stage.
module StageRunner =
    let phaseName (phase: Phase) =
        match phase with
        | Classification -> "classification"
        | LabelStage k -> sprintf "stage-%d" k

    /// The stage plan of a configuration.
    let plan (cfg: Config) : StagePlan =
        { ClassificationEpochs = cfg.ClassificationEpochs
          Stages = cfg.Stages
          MaxEpochsPerStage = cfg.MaxEpochsPerStage
          Patience = cfg.Patience
          Goal = Maximise }

    let private snapshot (m: torch.nn.Module) : Dictionary<string, Tensor> =
        let d = Dictionary<string, Tensor>()
        use _ng = torch.no_grad ()
        for kv in m.state_dict () do
            d.[kv.Key] <- kv.Value.detach().clone().DetachFromDisposeScope()
        d

    let private release (d: Dictionary<string, Tensor>) =
        for t in d.Values do
            t.Dispose()

    /// Runs the whole plan on `net`. `template` supplies the optimizer, seed, logging, and the
    /// run folder (each phase writes to its own subfolder); Steps, Lr, EvalEvery and Cancel are
    /// set per phase (poly 0.9 decay over each phase's epoch budget, as the paper's SGD recipe).
    /// `onLabels` sees every generated label set (e.g. to write it to the run folder).
    /// Cancelling `template.Cancel` stops the run at the next step with an
    /// OperationCanceledException; `journal` resumes a stopped run (StageJournal).
    let runResuming
        (journal: StageJournal)
        (net: AuxSegNetNetwork)
        (data: StageData)
        (template: TrainConfig)
        (onProgress: Phase -> Progress -> unit)
        (onLabels: StageLabels -> unit)
        : StageReport =
        if data.StepsPerEpoch < 1 then invalidArg (nameof data) "StepsPerEpoch must be >= 1"
        let cfg = net.Config
        let plan = plan cfg
        let generated = ResizeArray<StageLabels>()
        let metrics = Dictionary<Phase, ResizeArray<float>>()
        let mutable current: LabelSet option = None
        let generate (stage: int) (source: LabelSource) =
            let l =
                match journal.Labels stage with
                | Some l -> l
                | None ->
                    let labels, quality = LabelGeneration.run net stage source data.ToRgb (data.Generation())
                    { Labels = labels; Quality = quality }
            generated.Add l
            onLabels l
            current <- Some l.Labels
        let regenerate (phase: Phase) =
            template.Cancel.ThrowIfCancellationRequested()
            match phase, current with
            | Classification, _ -> ()
            | LabelStage 0, _
            | LabelStage _, None -> generate 0 AfterClassification
            | LabelStage k, Some previous ->
                if cfg.IterativeRefinement then generate k (AfterStage previous)
                else
                    // Tab. XI without iterative refinement: every stage trains on stage 0's labels
                    let l = { Labels = { previous with Stage = k }; Quality = (generated |> Seq.last).Quality }
                    generated.Add l
                    onLabels l // the labels stage k trains on, like every other stage's
                    current <- Some l.Labels
        let train (phase: Phase) (onEpoch: int -> float -> EpochVerdict) =
            let epochs =
                match phase with
                | Classification -> plan.ClassificationEpochs
                | LabelStage _ -> plan.MaxEpochsPerStage
            let steps = epochs * data.StepsPerEpoch
            let targets =
                match phase, current with
                | Classification, _ -> fun (_: Batch) -> invalidOp "the classification phase has no dense targets"
                | LabelStage _, Some labels -> data.Targets labels
                | LabelStage k, None -> invalidOp (sprintf "stage %d has no labels (they are generated before it)" k)
            let m = AuxSegNetPlusMethod.forPhase net phase targets
            // the epoch's mean training loss, for the metric without validation
            let mutable lossSum = 0.0
            let mutable lossSteps = 0
            let step ctx b =
                let losses = m.Step ctx b
                lossSum <- lossSum + (losses |> List.sumBy (fun (_, t) -> Host.item<float> t))
                lossSteps <- lossSteps + 1
                losses
            let mutable best: Dictionary<string, Tensor> option = None
            let phaseMetrics = ResizeArray<float>()
            metrics.[phase] <- phaseMetrics
            match journal.Finished phase with
            | Some recorded ->
                // finished before the run stopped: its epochs replayed to the plan, its end loaded
                recorded |> List.iteri (fun epoch metric -> phaseMetrics.Add metric; onEpoch epoch metric |> ignore)
                journal.Restore phase
            | None ->
                // the phase's own stop (early stopping), linked to the run's (Ctrl-C)
                use cts = CancellationTokenSource.CreateLinkedTokenSource(template.Cancel)
                let endOfEpoch (epoch: int) =
                    let metric =
                        match phase, data.Validate with
                        | Classification, _ -> nan
                        | LabelStage _, Some validate ->
                            net.eval ()
                            let v = validate (AuxSegNetPlusMethod.predictor net)
                            net.train ()
                            v
                        | LabelStage _, None -> -(lossSum / float (max 1 lossSteps))
                    lossSum <- 0.0
                    lossSteps <- 0
                    phaseMetrics.Add metric
                    let verdict = onEpoch epoch metric
                    if verdict.NewBest && cfg.RestoreBest then
                        best |> Option.iter release
                        best <- Some(snapshot net)
                    if verdict.Stop then cts.Cancel()
                    verdict
                let phaseCfg =
                    { template with
                        Steps = steps
                        Lr = Schedule.build cfg.Lr (Schedule.poly 0.9)
                        EvalEvery = Some data.StepsPerEpoch
                        Cancel = cts.Token
                        Resume = false
                        OutDir = template.OutDir |> Option.map (fun d -> Path.Combine(d, phaseName phase)) }
                let mutable lastEpoch = -1
                let evaluate (stepDone: int) =
                    lastEpoch <- stepDone / data.StepsPerEpoch - 1
                    endOfEpoch lastEpoch |> ignore
                    [ "epoch_metric", phaseMetrics.[phaseMetrics.Count - 1] ]
                let result = Train.run phaseCfg { m with Step = step } (data.Train phase) (onProgress phase) (Some evaluate)
                if template.Cancel.IsCancellationRequested then
                    raise (OperationCanceledException(sprintf "AuxSegNet+ stopped during %s (--resume trains that phase again from its start)" (phaseName phase)))
                match result.Outcome with
                | Completed _ when lastEpoch < epochs - 1 -> endOfEpoch (epochs - 1) |> ignore // the loop does not evaluate its last step
                | _ -> ()
                match best with
                | Some state ->
                    Hybrid.Torch.Serialization.StateDicts.Load(net, state, true) |> ignore
                    release state
                | None -> ()
                net.train ()
                journal.PhaseDone phase (List.ofSeq phaseMetrics)
        let phases = StageDriver.run plan train regenerate
        // the labels after the last stage: what a further stage would train on (Fig. 8's last point)
        match current with
        | Some previous when cfg.IterativeRefinement -> generate (previous.Stage + 1) (AfterStage previous)
        | _ -> ()
        { Phases = phases
          Labels = List.ofSeq generated
          EpochMetrics = [ for kv in metrics -> kv.Key, List.ofSeq kv.Value ] }

    /// The whole plan from its start (see runResuming).
    let run net data template onProgress onLabels = runResuming StageJournal.none net data template onProgress onLabels

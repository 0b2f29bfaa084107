namespace Hybrid.Wsss.Methods.AuxSegNetPlus

open System
open System.IO
open System.Collections.Generic
open TorchSharp
open Hybrid.Torch.Serialization
open Hybrid.Wsss
open Hybrid.Wsss.Eval
open Hybrid.Wsss.Schedules
open Hybrid.Wsss.Training
open Hybrid.Wsss.Data

/// What decides a label stage's best epoch and its early stop.
type StopMetric =
    /// minus the epoch's mean training loss: no ground truth involved (the default, so that the
    /// whole run stays weakly supervised)
    | TrainingLoss
    /// segmentation mIoU on the validation split after each epoch (uses the validation masks;
    /// the paper only says "early stopping", so this is offered, not assumed)
    | ValidationMiou

/// The settings of an AuxSegNet+ run: the method's configuration and how the run is driven.
type EntrySettings =
    { Config: Config
      Stop: StopMetric
      /// steps of one "epoch" of the plan; None: the run's --steps spread over the worst-case
      /// plan (classification epochs + stages x max epochs), so every method gets the same budget
      EpochSteps: int option }

/// AuxSegNet+ as a registered method: the stage-wise run (Algorithm 1) on the run context's
/// data, its labels written to the run folder, the final network checkpointed at the root.
module AuxSegNetPlusEntry =

    let defaults = { Config = Config.defaults; Stop = TrainingLoss; EpochSteps = None }

    /// The method's settings table: the configuration's rows, then how the run is driven.
    let table: SettingsTable<EntrySettings> =
        { Method = "auxsegnet+"
          Defaults = defaults
          Rows =
            (Config.table.Rows |> List.map (Setting.within "" (fun s -> s.Config) (fun c s -> { s with Config = c })))
            @ [ Setting.choice "stop-metric" "what early-stops a label stage: the training loss (no GT used) or val mIoU" "Sec. IV-A \"early stopping\" (loss: ours)"
                    [ "loss", TrainingLoss; "val-miou", ValidationMiou ] (fun s -> s.Stop) (fun v s -> { s with Stop = v })
                Setting.optionalInt "epoch-steps" "auto" "steps per plan epoch (auto: --steps / (classification-epochs + stages x max-epochs))" "ours" 1
                    (fun s -> s.EpochSteps) (fun v s -> { s with EpochSteps = v }) ]
          Validate = fun s -> Config.problems s.Config }

    let set (key: string) (value: string) (s: EntrySettings) : EntrySettings = SettingsTable.set table key value s

    let settings (sets: (string * string) list) : EntrySettings = SettingsTable.build table sets

    /// The environment's backbone as the network's shared feature extractor (its final map).
    let sharedBackbone (env: MethodEnv) : SharedBackbone =
        let b = MethodEnv.backbone env
        { Module = b
          // the other stage maps stay in the caller's dispose scope
          Features = fun images -> (b.forward images).Final // (B, D, h, w)
          Channels = b.Info.Channels }

    /// The method around a network: its Predict (CAM, refined segmentation, own pseudo masks)
    /// is what evaluation, labelling and inference use.
    let private methodOf (net: AuxSegNetNetwork) : Method =
        AuxSegNetPlusMethod.forPhase net (LabelStage 0) (fun _ -> invalidOp "AuxSegNet+ has no stage targets outside its stage-wise run")

    /// The untrained network of the settings on the environment (a finished run's checkpoint is
    /// loaded into it).
    let build (env: MethodEnv) (sets: (string * string) list) : Method =
        methodOf (AuxSegNetPlusMethod.network (sharedBackbone env) env.Classes (settings sets).Config)

    /// What the stage-wise run did, for `<out>/stages.json`.
    let private reportJson (report: StageReport) : string =
        let finite (v: float) = if Double.IsNaN v || Double.IsInfinity v then box null else box v
        let doc =
            dict
                [ "phases",
                  box
                      [| for p in report.Phases ->
                             dict
                                 [ "phase", box (StageRunner.phaseName p.Phase)
                                   "epochs", box p.Epochs
                                   "end", box (sprintf "%A" p.Reason)
                                   "best_epoch", (p.Best |> Option.map (fun b -> box b.Epoch) |> Option.defaultValue null)
                                   "best_metric", (p.Best |> Option.map (fun b -> finite b.Metric) |> Option.defaultValue null) ] |]
                  "labels",
                  box
                      [| for l in report.Labels ->
                             dict
                                 [ "stage", box l.Labels.Stage
                                   "images", box l.Labels.Images.Count
                                   "train_miou", (l.Quality |> Option.map (fun q -> finite q.MeanIoU) |> Option.defaultValue null)
                                   "train_fg_iou", (l.Quality |> Option.map (fun q -> finite q.ForegroundIoU) |> Option.defaultValue null)
                                   "train_precision", (l.Quality |> Option.map (fun q -> finite q.MeanPrecision) |> Option.defaultValue null)
                                   "train_recall", (l.Quality |> Option.map (fun q -> finite q.MeanRecall) |> Option.defaultValue null) ] |]
                  "epoch_metrics",
                  box (dict [ for phase, values in report.EpochMetrics -> StageRunner.phaseName phase, values |> List.map finite |> Array.ofList ]) ]
        Text.Json.JsonSerializer.Serialize(doc, Text.Json.JsonSerializerOptions(WriteIndented = true))

    /// Steps of one plan epoch for a run of `steps` steps.
    let epochSteps (s: EntrySettings) (steps: int) =
        match s.EpochSteps with
        | Some n -> n
        | None ->
            let units = s.Config.ClassificationEpochs + s.Config.Stages * s.Config.MaxEpochsPerStage
            max 1 (steps / max 1 units)

    /// Normalised images (ImageNet mean and std, as the loader) -> uint8 RGB, for the CRF.
    let toRgb (images: Tensor) : Tensor = // (B, 3, H, W)
        use scope = torch.NewDisposeScope()
        let dev = images.device
        let mean = torch.tensor([| 0.485f; 0.456f; 0.406f |], [| 1L; 3L; 1L; 1L |], device = dev)
        let std = torch.tensor([| 0.229f; 0.224f; 0.225f |], [| 1L; 3L; 1L; 1L |], device = dev)
        let rgb = ((images * std + mean) * 255.0).round().clamp(0.0, 255.0)
        rgb.to_type(ScalarType.Byte).MoveToOuterDisposeScope()

    let private describe (l: StageLabels) =
        match l.Quality with
        | Some q ->
            $"mIoU {q.MeanIoU * 100.0:F1}, precision {q.MeanPrecision * 100.0:F1}, recall {q.MeanRecall * 100.0:F1}, foreground IoU {q.ForegroundIoU * 100.0:F1} against the training masks (scored only, never trained on)"
        | None -> "no masks to score them against"

    /// Trains AuxSegNet+ under the run context. The labels of every stage are written to
    /// `<out>/labels/stage-k` (and train the stage through the run's own loader, so crops,
    /// rescaling and flips apply to labels as to images); `<out>/stages.json` records the plan.
    let train (ctx: RunContext) (sets: (string * string) list) : Method =
        let s = settings sets
        let cfg = s.Config
        let env = ctx.Env
        let ds = MethodEnv.trainSet env
        if not ds.HasSaliency then
            invalidOp "AuxSegNet+ needs saliency maps for the training images: generate them with `hybrid data saliency` (FMNIST-Scenes has them by default)"
        let out =
            match ctx.Config.OutDir with
            | Some d -> d
            | None -> Path.Combine(Path.GetTempPath(), $"hybrid-auxsegnet-{Guid.NewGuid():N}")
        let perEpoch = epochSteps s ctx.Config.Steps
        let plan = StageRunner.plan cfg
        ctx.Log $"auxsegnet+: {plan.ClassificationEpochs} classification epochs, then {plan.Stages} label stages of <= {plan.MaxEpochsPerStage} epochs (patience {plan.Patience}); {perEpoch} steps per epoch; early stop on {s.Stop}"
        let net = AuxSegNetPlusMethod.network (sharedBackbone env) env.Classes cfg
        let labelDir (stage: int) = Path.Combine(out, "labels", $"stage-{stage}")
        // stage -> the folder its labels are read from: its own, or (without iterative
        // refinement, where every stage reuses stage 0's set) the folder of the set it reuses
        let labelFolder = Dictionary<int, string>()
        let written = ResizeArray<obj * string>()
        let data: StageData =
            { Train =
                fun phase start ->
                    match phase with
                    | Classification -> ctx.Batches start
                    | LabelStage k -> ctx.BatchesOf (LabelFolders.dataset labelFolder[k] ds) start
              Generation = fun () -> DataSource.evalBatches env.Device ds 8
              StepsPerEpoch = perEpoch
              // the loader read the stage's label folders as masks and saliency
              Targets = fun _ b -> { Segmentation = Batch.masks b; Saliency = Batch.saliency b }
              ToRgb = toRgb
              Validate =
                match s.Stop with
                | TrainingLoss -> None
                | ValidationMiou ->
                    Some(fun p ->
                        let r = Evaluate.segmentation Hybrid.Data.VocSplit.Val (env.Classes + 1) p Evaluate.Scales.single (ctx.ValBatches())
                        r.MeanIoU) }
        // labels a resumed run reads back instead of generating (by reference)
        let restored = HashSet<obj>(HashIdentity.Reference)
        let readLabels (stage: int) =
            let dir = labelDir stage
            let set = LabelFolders.read dir stage ds.NumClasses [ for s in ds.Samples -> s.Id ]
            restored.Add(box set.Images) |> ignore
            { Labels = set; Quality = LabelGeneration.quality set env.Classes (data.Generation()) }
        if not ctx.Config.Resume then
            // a run that starts afresh in a used folder: nothing of the earlier run may be resumed
            RunJournal.clear out
            for f in [ Train.checkpointPath out; Path.Combine(out, "stages.json") ] do
                if File.Exists f then File.Delete f
        let journal, labelsWritten = RunJournal.create out net readLabels
        let onLabels (l: StageLabels) =
            let stage = l.Labels.Stage
            match written |> Seq.tryFind (fun (images, _) -> obj.ReferenceEquals(images, l.Labels.Images)) with
            | Some(_, dir) ->
                labelFolder[stage] <- dir
                ctx.Log $"auxsegnet+: stage-{stage} trains on the labels already in {dir} (no iterative refinement)"
            | None ->
                let dir = labelDir stage
                written.Add((box l.Labels.Images, dir))
                labelFolder[stage] <- dir
                if restored.Contains(box l.Labels.Images) then
                    ctx.Log $"auxsegnet+: stage-{stage} labels read back from {dir} ({describe l})"
                else
                    LabelFolders.write dir l.Labels
                    labelsWritten stage
                    ctx.Log $"auxsegnet+: stage-{stage} labels of {l.Labels.Images.Count} images ({describe l}) in {dir}"
        let template = { ctx.Config with OutDir = Some out }
        let finished = File.Exists(Train.checkpointPath out) && File.Exists(Path.Combine(out, "stages.json"))
        if ctx.Config.Resume && finished then
            // as Train.run does for a finished run: nothing left to train, the final network loads
            ctx.Log $"auxsegnet+: {out} holds a finished run; nothing to resume, its final network is loaded"
            Checkpoint.Load(Train.checkpointPath out, net, null, false) |> ignore
        else
            if ctx.Config.Resume then
                let done' = [ for p in [ Classification ] @ [ for k in 0 .. plan.Stages - 1 -> LabelStage k ] do
                                if (journal.Finished p).IsSome then StageRunner.phaseName p ]
                let list = if done'.IsEmpty then "none" else String.concat ", " done'
                ctx.Log $"auxsegnet+: resuming; phases already finished: {list} (the phase the run stopped in trains again from its start)"
            try
                let report = StageRunner.runResuming journal net data template (fun _ p -> ctx.OnProgress p) onLabels
                for p in report.Phases do
                    let best = p.Best |> Option.map (fun b -> $", best metric {b.Metric:F4} at epoch {b.Epoch}") |> Option.defaultValue ""
                    ctx.Log $"auxsegnet+: {StageRunner.phaseName p.Phase}: {p.Epochs} epochs ({p.Reason}{best})"
                File.WriteAllText(Path.Combine(out, "stages.json"), reportJson report)
                // the final network (each label stage ends on its best epoch's weights) at the run's root
                Checkpoint.Save(Train.checkpointPath out, net, null, int64 ctx.Config.Steps, readOnlyDict [ "method", AuxSegNetPlusMethod.name ])
            with :? OperationCanceledException as e -> ctx.Log e.Message
        methodOf net

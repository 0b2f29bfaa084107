namespace Hybrid.Wsss.Runs

open System
open System.IO
open System.Threading
open TorchSharp
open Hybrid.Data
open Hybrid.Vision.Backbones
open Hybrid.Wsss
open Hybrid.Wsss.Training
open Hybrid.Wsss.Reports
open Hybrid.Wsss.Data

/// What a run reports while it goes.
type RunHooks =
    { Log: string -> unit
      Warn: string -> unit
      OnProgress: Progress -> unit
      /// (images decoded, of total) while the images are scanned
      OnScan: int -> int -> unit
      /// a stop request: the run checkpoints at the next step boundary and returns Stopped
      Cancel: CancellationToken }

module RunHooks =
    let silent = { Log = ignore; Warn = ignore; OnProgress = ignore; OnScan = (fun _ _ -> ()); Cancel = CancellationToken.None }

/// A run checked as a whole and ready to train: nothing has been written yet.
type PreparedRun =
    { Spec: RunSpec
      Execution: Execution
      Mode: FolderMode
      Out: string
      Entry: MethodEntry
      Device: Device
      /// the settings in the table's spelling
      Settings: (string * string) list
      Train: SegmentationDataset
      Val: SegmentationDataset
      ClassNames: string[] }

/// How a run ended.
type RunOutcome =
    /// trained, evaluated on val, report written
    | Finished of RunReport.Results
    /// stopped on request at a step boundary, with a checkpoint to resume from
    | Stopped

/// From a RunSpec to a trained, evaluated, reported run: what `train`, `train-seg`, `repro`
/// and the demo run. Everything is checked before anything is written.
module RunDriver =
    /// ImageNet statistics the loaders normalise with (pictures undo it).
    let private mean, std = [| 0.485f; 0.456f; 0.406f |], [| 0.229f; 0.224f; 0.225f |]

    /// The method environment a spec describes on `device`.
    let env (spec: RunSpec) (train: SegmentationDataset option) (classNames: string[]) (device: Device) : MethodEnv =
        { Classes = classNames.Length - 1
          ClassNames = classNames
          Backbone = spec.Backbone
          BackboneOptions = BackboneOptions(OutputStride = Nullable(enum<OutputStride> spec.OutputStride), FrozenBatchNorm = spec.FrozenBatchNorm, Weights = Option.toObj (RunSpec.weightsFile spec))
          Device = device
          CropSize = spec.Crop
          Steps = spec.Steps
          Seed = spec.Seed
          TrainSet = train }

    let private openSplit (spec: RunSpec) (split: VocSplit) (labels: string option) =
        try DataSource.openSplit spec.Data split labels
        with
        | :? DirectoryNotFoundException
        | :? FileNotFoundException
        | :? InvalidDataException as e -> RunError.badData $"{spec.Data} ({split}): {e.Message}"

    /// Checks a run as a whole (spec, execution, settings, folder, data, every image unless the
    /// scan is off) and returns it ready to train; raises RunError naming every problem found.
    /// Writes nothing.
    let prepare (spec: RunSpec) (exec: Execution) (mode: FolderMode) (out: string) (hooks: RunHooks) : PreparedRun =
        let device =
            try Hybrid.Torch.Devices.Require(Hybrid.Torch.Devices.Parse exec.Device)
            with :? ArgumentException as e -> RunError.badArguments $"--device {exec.Device}: {e.Message}"
        RunError.ifAny BadArguments (RunSpec.problems spec @ Execution.problems exec)
        RunFolderState.check out mode
        let entry = RunSpec.entry spec
        let settings = match entry.Settings.Check spec.Settings with Ok s -> s | Error ps -> RunError.ifAny BadArguments ps; []
        let train = openSplit spec VocSplit.Train spec.Labels
        let valSet = openSplit spec VocSplit.Val None
        if train.Count < spec.BatchSize then
            RunError.badData $"{spec.Data}: the training split has {train.Count} images, fewer than one batch (--batch-size {spec.BatchSize})"
        if valSet.Count = 0 then RunError.badData $"{spec.Data}: the val split is empty; the run is evaluated on it"
        if spec.Labels.IsSome && not train.HasMasks then
            RunError.badData $"--labels {spec.Labels.Value}: not every training image has a mask there"
        if exec.ScanImages then
            hooks.Log $"checking that the {train.Count + valSet.Count} images of train and val decode (--no-scan skips this) ..."
            ImageScan.require [ "train", train; "val", valSet ] hooks.OnScan
        { Spec = spec
          Execution = exec
          Mode = mode
          Out = out
          Entry = entry
          Device = device
          Settings = settings
          Train = train
          Val = valSet
          ClassNames = train.ClassNames |> Array.ofSeq }

    /// Evaluates a trained predictor on val and writes results.json, report.md and pictures/.
    let report (device: Device) (dir: string) (title: string) (classNames: string[]) (valSet: SegmentationDataset) (p: Predictor) =
        let batches () = DataSource.evalBatches device valSet 16
        let results = RunReport.evaluate RunReport.defaults classNames.Length p batches
        RunReport.write dir title classNames results
        let threshold = results.Seeds |> Option.map (fun s -> s.Best.Threshold) |> Option.defaultValue 0.3
        RunReport.pictures (Path.Combine(dir, "pictures")) 8 threshold p mean std (batches ()) |> ignore
        results

    /// loss.svg (and miou.svg when the run evaluated periodically) from metrics.jsonl.
    let curves (dir: string) =
        let path = Path.Combine(dir, "metrics.jsonl")
        if File.Exists path then
            let rows = File.ReadAllLines path |> Array.filter (fun l -> l.Trim() <> "") |> Array.map (fun l -> Text.Json.JsonDocument.Parse(l).RootElement)
            let series name =
                [ for r in rows do
                      match r.TryGetProperty(name: string) with
                      | true, v when v.ValueKind = Text.Json.JsonValueKind.Number -> yield float (r.GetProperty("step").GetInt32()), v.GetDouble()
                      | _ -> () ]
            let loss = series "loss"
            // the per-step loss smoothed over 20 steps for legibility
            let smooth = loss |> List.windowed 20 |> List.map (fun w -> fst (List.last w), List.averageBy snd w)
            File.WriteAllText(Path.Combine(dir, "loss.svg"), Curves.svg "training loss (20-step mean)" "step" [ "loss", (if smooth.IsEmpty then loss else smooth) ])
            let evals = [ for k in [ "eval/seed_miou"; "eval/pseudo_miou"; "eval/seg_miou" ] do match series k with [] -> () | s -> yield k, s ]
            if not evals.IsEmpty then File.WriteAllText(Path.Combine(dir, "miou.svg"), Curves.svg "val mIoU" "step" evals)

    /// Trains a prepared run, then evaluates it and writes its report. run.json is written
    /// (atomically) before the first step; with Overwrite the folder's old run goes first.
    let execute (run: PreparedRun) (hooks: RunHooks) : RunOutcome =
        let spec, exec = run.Spec, run.Execution
        if run.Mode = Overwrite then RunFolderState.clear run.Out
        RunSpec.save run.Out spec exec
        let e = env spec (Some run.Train) run.ClassNames run.Device
        if not (MethodEnv.backboneIsNew e) then
            // what the file gives the backbone (a file that does not fit fails here, before training)
            use b = MethodEnv.backbone e
            b.LoadedWeights |> Option.ofObj |> Option.iter (fun r -> hooks.Log $"backbone weights: {r}")
        let recipe = { run.Entry.Recipe with Lr = spec.Lr; BatchSize = spec.BatchSize }
        let loaderOf ds = DataSource.trainLoader ds spec.Crop spec.BatchSize spec.Seed exec.Workers recipe.StrongView
        let cfg =
            { TrainConfig.defaults spec.Steps (Recipe.schedule recipe) with
                Optimizer = defaultArg spec.Optimizer recipe.Optimizer
                Seed = spec.Seed
                LogEvery = 10
                CheckpointEvery = Some exec.CheckpointEvery
                EvalEvery = exec.EvalEvery
                OutDir = Some run.Out
                Resume = (run.Mode = Resume)
                Cancel = hooks.Cancel }
        let ctx =
            { Env = e
              Config = cfg
              Batches = DataSource.trainStream run.Device (loaderOf run.Train)
              BatchesOf = fun ds -> DataSource.trainStream run.Device (loaderOf ds)
              ValBatches = fun () -> DataSource.evalBatches run.Device run.Val 16
              OnProgress = hooks.OnProgress
              Log = hooks.Log }
        let m = run.Entry.Train ctx run.Settings
        try
            if hooks.Cancel.IsCancellationRequested then Stopped
            else
                hooks.Log "evaluating on val ..."
                let title = $"{run.Entry.Name} on {Path.GetFileName(Path.GetFullPath spec.Data)}"
                let results = report run.Device run.Out title run.ClassNames run.Val m.Predict
                curves run.Out
                Finished results
        finally
            m.Model.Dispose()

    /// The trained method of a finished (or checkpointed) run folder on `device`: rebuilt from
    /// run.json, weights from its checkpoint, in eval mode.
    let restore (device: Device) (dir: string) : RunSpec * Method * string[] =
        let spec, _ = RunSpec.load dir
        let entry =
            match Hybrid.Wsss.Methods.Registry.all |> List.tryFind (fun e -> e.Name = spec.Method) with
            | Some e -> e
            | None -> raise (InvalidDataException $"{RunSpec.path dir}: method '{spec.Method}' is not one this version knows")
        let trainSet = openSplit spec VocSplit.Train spec.Labels
        let classNames = trainSet.ClassNames |> Array.ofSeq
        let m = entry.Build (env spec (Some trainSet) classNames device) spec.Settings
        let ck = Train.checkpointPath dir
        if not (File.Exists ck) then
            m.Model.Dispose()
            RunError.folderConflict $"{dir} has no checkpoint ({ck}): did the run finish? (`./hybrid train --out {dir} --resume` continues it)"
        Train.restore ck m
        m.Model.eval ()
        spec, m, classNames

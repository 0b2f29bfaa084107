/// `hybrid train`: the arguments become one RunSpec (or run.json's, with --resume), checked as
/// a whole before anything is written; then RunDriver trains, evaluates and reports the run.
module Hybrid.Cli.Commands.TrainCmd

open System
open System.IO
open Argu
open Hybrid.Wsss.Training
open Hybrid.Wsss.Reports
open Hybrid.Wsss.Runs
open Hybrid.Cli

type Args =
    | Method of name: string
    | Data of dir: string
    | Backbone of name: string
    | Output_Stride of int
    | Frozen_Bn
    | Weights of file: string
    | Config of file: string
    | Set of key_value: string
    | Seed of int
    | Steps of int
    | Batch_Size of int
    | Crop of int
    | Lr of float
    | Optimizer of name: string
    | Weight_Decay of float
    | Workers of int
    | Out of dir: string
    | Resume
    | Overwrite
    | Spec of file: string
    | Labels of dir: string
    | Checkpoint_Every of int
    | Eval_Every of int
    | No_Scan
    | Device of name: string
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Method _ -> $"""method to train: {String.concat " | " Hybrid.Wsss.Methods.Registry.names} (`hybrid settings METHOD` lists its settings)"""
            | Data _ -> "dataset folder in VOC layout (default data/fmnist-scenes)"
            | Backbone _ -> "backbone name (default: the small CPU backbone; `hybrid backbones` lists them)"
            | Output_Stride _ -> "backbone output stride 8 or 16 (default 8)"
            | Frozen_Bn -> "the backbone's BatchNorm layers keep their (pretrained) running statistics and affine parameters, as the papers' ResNet recipes do"
            | Weights _ -> "backbone weights: a .pth, .safetensors or a run's checkpoint; imagenet (resnet18_imagenet's ImageNet weights, its default); none (random init)"
            | Config _ -> "JSON file of method settings {\"key\": value, ...}, applied before --set"
            | Set _ -> "one method setting: key=value (repeatable; `hybrid settings METHOD` lists the keys)"
            | Seed _ -> "seed (default 0)"
            | Steps _ -> "training steps (default 3000)"
            | Batch_Size _ -> "batch size (default: the method's recipe)"
            | Crop _ -> "training crop size (default 96)"
            | Lr _ -> "base learning rate, finite and > 0 (default: the method's recipe)"
            | Optimizer _ -> "sgd (momentum 0.9, weight decay 5e-4: the DeepLab recipe of PLDA and AuxSegNet+) or adamw (weight decay 0.01: CoSA's) (default: the method's recipe)"
            | Weight_Decay _ -> "weight decay of the optimizer, finite and >= 0 (default: the chosen optimizer's, or the method's recipe's)"
            | Workers _ -> "loader worker threads (default 2)"
            | Out _ -> "run folder (default runs/<method>-<time>); a folder holding a run is never overwritten without --overwrite"
            | Resume -> "continue the run in --out from its checkpoint, as its run.json says (other arguments must agree with it)"
            | Overwrite -> "replace the run that --out holds (finished or stopped)"
            | Spec _ -> "train the run a run.json file describes (e.g. another run's, or one written by repro)"
            | Labels _ -> "train on these masks instead of SegmentationClass (pseudo masks from `hybrid labels`)"
            | Checkpoint_Every _ -> "checkpoint every N steps (default 500; also at the end and on Ctrl-C / SIGTERM)"
            | Eval_Every _ -> "evaluate on val every N steps (default: only at the end)"
            | No_Scan -> "do not decode every train and val image before training (for huge datasets)"
            | Device _ -> DeviceOption.usage

/// Method settings of a --config JSON file as key/value pairs; a broken file is named with the
/// position of the problem.
let configSets (path: string) : (string * string) list =
    if not (File.Exists path) then RunError.badArguments $"--config {path}: no such file"
    let doc =
        try Text.Json.JsonDocument.Parse(File.ReadAllText path)
        with :? Text.Json.JsonException as e ->
            let at = match Option.ofNullable e.LineNumber, Option.ofNullable e.BytePositionInLine with
                     | Some l, Some c -> $" at line {l + 1L}, column {c + 1L}"
                     | _ -> ""
            RunError.badArguments $"--config {path}: not valid JSON{at}: {e.Message.Split('.').[0]}"
    use doc = doc
    if doc.RootElement.ValueKind <> Text.Json.JsonValueKind.Object then
        RunError.badArguments $"--config {path}: expected a JSON object of settings {{\"key\": value, ...}}, got {doc.RootElement.ValueKind}"
    [ for p in doc.RootElement.EnumerateObject() ->
          let value =
              try RunSpec.settingText p.Value
              with :? ArgumentException as e -> RunError.badArguments $"--config {path}: \"{p.Name}\": {e.Message}"
          p.Name, value ]

/// `key=value` pairs of --set.
let parseSets (sets: string list) =
    sets |> List.map (fun s ->
        match s.IndexOf '=' with
        | i when i > 0 -> s[.. i - 1].Trim(), s[i + 1 ..].Trim()
        | _ -> RunError.badArguments $"--set expects key=value, got '{s}'")

/// The optimizer `--optimizer` and `--weight-decay` ask for over a base spec's (None: the
/// method's recipe, which `--weight-decay` alone adjusts).
let optimizerOf (args: ParseResults<Args>) (b: RunSpec) : OptimizerKind option =
    let kind =
        match args.TryGetResult Optimizer with
        | Some name ->
            match OptimizerKind.ofName name with
            | Some k -> Some k
            | None -> RunError.badArguments $"""--optimizer {name}: unknown (known: {String.concat ", " OptimizerKind.names})"""
        | None -> b.Optimizer
    match args.TryGetResult Weight_Decay with
    | None -> kind
    | Some wd ->
        match defaultArg kind (Hybrid.Wsss.Methods.Registry.find b.Method).Recipe.Optimizer with
        | Sgd(m, _) -> Some(Sgd(m, wd))
        | AdamW _ -> Some(AdamW wd)

/// The spec the arguments describe over a base spec (a method's defaults, or run.json's).
let specOf (args: ParseResults<Args>) (b: RunSpec) : RunSpec =
    let sets = (args.TryGetResult Config |> Option.map configSets |> Option.defaultValue []) @ parseSets (args.GetResults Set)
    { b with
        Data = args.GetResult(Data, b.Data)
        Labels = (match args.TryGetResult Labels with Some l -> Some l | None -> b.Labels)
        Backbone = args.GetResult(Backbone, b.Backbone)
        OutputStride = args.GetResult(Output_Stride, b.OutputStride)
        FrozenBatchNorm = b.FrozenBatchNorm || args.Contains Frozen_Bn
        Weights =
            match args.TryGetResult Weights, args.TryGetResult Backbone with
            | Some w, _ when w.Trim().ToLowerInvariant() = "none" -> None
            | Some w, _ -> Some w
            // another backbone given: its own default start (ImageNet's for resnet18_imagenet)
            | None, Some bb when bb <> b.Backbone -> RunSpec.defaultWeights bb
            | None, _ -> b.Weights
        Seed = args.GetResult(Seed, b.Seed)
        Steps = args.GetResult(Steps, b.Steps)
        BatchSize = args.GetResult(Batch_Size, b.BatchSize)
        Crop = args.GetResult(Crop, b.Crop)
        Lr = args.GetResult(Lr, b.Lr)
        Optimizer = optimizerOf args b
        Settings = b.Settings @ sets }

let executionOf (args: ParseResults<Args>) (b: Execution) : Execution =
    { Device = args.GetResult(Device, b.Device)
      Workers = args.GetResult(Workers, b.Workers)
      CheckpointEvery = args.GetResult(Checkpoint_Every, b.CheckpointEvery)
      EvalEvery = (match args.TryGetResult Eval_Every with Some n -> Some n | None -> b.EvalEvery)
      ScanImages = b.ScanImages && not (args.Contains No_Scan) }

/// The command that continues a run.
let resumeCommand (out: string) =
    let quote (a: string) = if a |> Seq.exists (fun c -> Char.IsWhiteSpace c || "'\"$`\\;&|<>()*?!#~".Contains c) then "'" + a.Replace("'", "'\\''") + "'" else a
    $"./hybrid train --out {quote out} --resume"

/// What the arguments ask for: the spec, how to execute it, the folder and what to do with it.
let request (args: ParseResults<Args>) : RunSpec * Execution * string * FolderMode =
    let mode =
        match args.Contains Resume, args.Contains Overwrite with
        | true, true -> RunError.badArguments "--resume continues the run in --out and --overwrite replaces it: give one of them"
        | true, false -> FolderMode.Resume
        | false, true -> FolderMode.Overwrite
        | false, false -> FolderMode.Fresh
    let fromFile =
        args.TryGetResult Spec |> Option.map (fun f ->
            if not (File.Exists f) then RunError.badArguments $"--spec {f}: no such file"
            try RunSpec.ofJson f (File.ReadAllText f)
            with :? InvalidDataException as e -> RunError.badArguments e.Message)
    match mode with
    | FolderMode.Resume ->
        let out = match args.TryGetResult Out with Some o -> o | None -> RunError.badArguments "--resume needs --out: the run folder to continue"
        if not (File.Exists(RunSpec.path out)) then
            RunError.folderConflict $"nothing to resume in {out}: no run.json there (is it the --out folder of a `hybrid train` run?)"
        let stored, storedExec =
            try RunSpec.load out
            with :? InvalidDataException as e -> RunError.badData e.Message
        // arguments given beside --resume must describe the same run
        let given = specOf args (match fromFile with Some(s, _) -> s | None -> stored)
        let given = match args.TryGetResult Method with Some m when m.ToLowerInvariant() <> stored.Method -> { given with Method = m.ToLowerInvariant() } | _ -> given
        match RunSpec.differences stored given with
        | [] -> stored, executionOf args storedExec, out, mode
        | ds ->
            let lines = ds |> List.map (fun d -> "  " + d) |> String.concat "\n"
            RunError.badArguments $"--resume continues {out} as its run.json describes; these arguments differ from it:\n{lines}\ndrop them to resume, or start a new run (another --out, or --overwrite)"
    | _ ->
        let b, e =
            match fromFile, args.TryGetResult Method with
            | Some(s, e), None -> s, e
            | Some(s, e), Some m when m.ToLowerInvariant() = s.Method -> s, e
            | Some(s, _), Some m -> RunError.badArguments $"--method {m} differs from the method of --spec ({s.Method})"
            | None, Some m ->
                match Hybrid.Wsss.Methods.Registry.all |> List.tryFind (fun e -> e.Name = m.ToLowerInvariant()) with
                | Some entry -> RunSpec.defaults entry, Execution.defaults
                | None -> RunError.badArguments $"""--method {m}: unknown (known: {String.concat ", " Hybrid.Wsss.Methods.Registry.names})"""
            | None, None -> RunError.badArguments "train needs --method (or --spec FILE, or --out RUN --resume)"
        let spec = specOf args b
        let out = args.TryGetResult Out |> Option.defaultWith (fun () -> RunFolder.fresh spec.Method)
        spec, executionOf args e, out, mode

/// Prepares, trains, evaluates and reports one run with the CLI's progress display and stop
/// signals. Returns the exit code (0, or 130 / 143 when stopped by a signal).
let runSpec (spec: RunSpec) (exec: Execution) (out: string) (mode: FolderMode) : int =
    let entry = RunSpec.entry spec
    Say.info $"{entry.Name}: {entry.Summary}"
    let scan = Progress.counter "images decoded"
    let hooksOf (cancel: Threading.CancellationToken) =
        { Log = Say.info; Warn = Say.warn; OnProgress = Progress.reporter entry.Name; OnScan = scan; Cancel = cancel }
    let prepared = RunDriver.prepare spec exec mode out (hooksOf Threading.CancellationToken.None)
    let verb = match mode with FolderMode.Resume -> "resuming" | FolderMode.Overwrite -> "replacing the run in" | FolderMode.Fresh -> "run folder"
    Say.info $"data {spec.Data}: {prepared.Train.Count} train / {prepared.Val.Count} val images, {prepared.ClassNames.Length - 1} classes; {verb} {out}; device {Hybrid.Torch.Devices.Show prepared.Device}"
    use stop = new StopSignals.StopRequest()
    let outcome =
        use _signals =
            StopSignals.listen stop (fun s ->
                let name = if s = Runtime.InteropServices.PosixSignal.SIGTERM then "SIGTERM" else "Ctrl-C"
                Say.warn $"\n{name}: stopping at the end of this step and saving a checkpoint (Ctrl-C or SIGTERM again ends the process at once)")
        RunDriver.execute prepared (hooksOf stop.Token)
    match outcome with
    | Stopped ->
        Say.warn $"stopped early; resume with: {resumeCommand out}"
        stop.ExitCode
    | Finished results ->
        for line in [ results.Seeds |> Option.map (fun s -> Markdown.summary s.Best.Result + $" (best threshold {s.Best.Threshold:F2})"); results.Pseudo |> Option.map Markdown.summary; results.Segmentation |> Option.map Markdown.summary; results.SegmentationGivenLabels |> Option.map Markdown.summary; results.SegmentationCrf |> Option.map Markdown.summary ] |> List.choose id do
            Say.info line
        let report, pictures = Path.Combine(out, "report.md"), Path.Combine(out, "pictures")
        Say.info $"report: {report}; pictures: {pictures}"
        0

let run (args: ParseResults<Args>) =
    let spec, exec, out, mode = request args
    runSpec spec exec out mode

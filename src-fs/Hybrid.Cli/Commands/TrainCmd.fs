/// `hybrid train`: trains a method on a VOC-layout dataset, then evaluates it on val and writes
/// the report (results.json, report.md, pictures, curves) into the run folder.
module Hybrid.Cli.Commands.TrainCmd

open System
open System.IO
open System.Threading
open Argu
open TorchSharp
open Hybrid.Data
open Hybrid.Vision.Backbones
open Hybrid.Wsss
open Hybrid.Wsss.Eval
open Hybrid.Wsss.Training
open Hybrid.Wsss.Reports
open Hybrid.Wsss.Data
open Hybrid.Cli

type Args =
    | [<Mandatory>] Method of name: string
    | Data of dir: string
    | Backbone of name: string
    | Output_Stride of int
    | Weights of file: string
    | Config of file: string
    | Set of key_value: string
    | Seed of int
    | Steps of int
    | Batch_Size of int
    | Crop of int
    | Lr of float
    | Workers of int
    | Out of dir: string
    | Resume
    | Labels of dir: string
    | Checkpoint_Every of int
    | Eval_Every of int
    | Device of name: string
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Method _ -> $"""method to train: {String.concat " | " Methods.Registry.names}"""
            | Data _ -> "dataset folder in VOC layout (default data/fmnist-scenes)"
            | Backbone _ -> "backbone name (default: the small CPU backbone; `hybrid backbones` lists them)"
            | Output_Stride _ -> "backbone output stride 8 or 16"
            | Weights _ -> "pretrained backbone weights (.pth or .safetensors)"
            | Config _ -> "JSON file of settings {\"key\": value, ...} applied before --set"
            | Set _ -> "override one method setting: key=value (repeatable; '-' and '_' in a key are alike)"
            | Seed _ -> "seed (default 0)"
            | Steps _ -> "training steps (default 3000)"
            | Batch_Size _ -> "batch size (default: the method's recipe)"
            | Crop _ -> "training crop size (default 96)"
            | Lr _ -> "base learning rate (default: the method's recipe)"
            | Workers _ -> "loader worker threads (default 2)"
            | Out _ -> "run folder (default runs/<method>-<time>)"
            | Resume -> "continue the run in --out from its checkpoint"
            | Labels _ -> "train on these masks instead of SegmentationClass (pseudo masks from `hybrid labels`)"
            | Checkpoint_Every _ -> "checkpoint every N steps (default 500)"
            | Eval_Every _ -> "evaluate on val every N steps (default: only at the end)"
            | Device _ -> DeviceOption.usage

/// Settings from a --config JSON file as key/value pairs.
let private configSets (path: string) =
    if not (File.Exists path) then raise (FileNotFoundException $"config file not found: {path}")
    use doc = Text.Json.JsonDocument.Parse(File.ReadAllText path)
    [ for p in doc.RootElement.EnumerateObject() -> p.Name, (if p.Value.ValueKind = Text.Json.JsonValueKind.String then p.Value.GetString() else p.Value.GetRawText()) ]

let defaultBackbone = "tiny_resnet"

/// The environment and the backbone options a spec describes, on `device`.
let env (spec: RunFolder.RunSpec) (train: SegmentationDataset option) (classNames: string[]) (device: torch.Device) =
    { Classes = classNames.Length - 1
      ClassNames = classNames
      Backbone = spec.Backbone
      BackboneOptions = BackboneOptions(OutputStride = Nullable(enum<OutputStride> spec.OutputStride), Weights = (if String.IsNullOrEmpty spec.Weights then null else spec.Weights))
      Device = device
      CropSize = spec.Crop
      Steps = spec.Steps
      Seed = spec.Seed
      TrainSet = train }

/// Evaluates a trained predictor on val (batches on `device`) and writes report, pictures and
/// curves into dir.
let report (device: torch.Device) (dir: string) (title: string) (classNames: string[]) (valSet: SegmentationDataset) (p: Predictor) =
    let batches () = DataSource.evalBatches device valSet 16
    let results = RunReport.evaluate RunReport.defaults (classNames.Length) p batches
    RunReport.write dir title classNames results
    let threshold = results.Seeds |> Option.map (fun s -> s.Best.Threshold) |> Option.defaultValue 0.3
    let mean, std = [| 0.485f; 0.456f; 0.406f |], [| 0.229f; 0.224f; 0.225f |]
    RunReport.pictures (Path.Combine(dir, "pictures")) 8 threshold p mean std (batches ()) |> ignore
    results

/// Loss curve (and eval metrics if any) from metrics.jsonl as SVG.
let curves (dir: string) =
    let path = Path.Combine(dir, "metrics.jsonl")
    if File.Exists path then
        let rows = File.ReadAllLines path |> Array.map (fun l -> Text.Json.JsonDocument.Parse(l).RootElement)
        let series name = [ for r in rows do match r.TryGetProperty(name: string) with | true, v -> yield float (r.GetProperty("step").GetInt32()), v.GetDouble() | _ -> () ]
        let loss = series "loss"
        // smooth the per-step loss over 20 steps for legibility
        let smooth = loss |> List.windowed 20 |> List.map (fun w -> fst (List.last w), List.averageBy snd w)
        File.WriteAllText(Path.Combine(dir, "loss.svg"), Curves.svg "training loss (20-step mean)" "step" [ "loss", (if smooth.IsEmpty then loss else smooth) ])
        let evals = [ for k in [ "eval/seed_miou"; "eval/pseudo_miou"; "eval/seg_miou" ] do match series k with [] -> () | s -> yield k, s ]
        if not evals.IsEmpty then File.WriteAllText(Path.Combine(dir, "miou.svg"), Curves.svg "val mIoU" "step" evals)

/// The command that continues this run: the arguments it was given, with its run folder and --resume.
let resumeCommand (args: ParseResults<Args>) (out: string) =
    let given = args.GetAllResults() |> List.filter (function Out _ | Resume -> false | _ -> true)
    let quote (a: string) = if a = "" || a |> Seq.exists (fun c -> Char.IsWhiteSpace c || "'\"$`\\;&|<>()*?!#~".Contains c) then "'" + a.Replace("'", "'\\''") + "'" else a
    let argv = args.Parser.PrintCommandLineArguments(given @ [ Out out; Resume ]) |> Array.map quote |> String.concat " "
    "./hybrid train " + argv

let run (args: ParseResults<Args>) =
    let entry = Methods.Registry.find (args.GetResult Method)
    let device = DeviceOption.resolve (args.TryGetResult Device)
    let dataDir = args.GetResult(Data, "data/fmnist-scenes")
    let out = args.TryGetResult Out |> Option.defaultWith (fun () -> RunFolder.fresh entry.Name)
    let resume = args.Contains Resume
    let sets = (args.TryGetResult Config |> Option.map configSets |> Option.defaultValue []) @ RunFolder.parseSets (args.GetResults Set)
    let spec: RunFolder.RunSpec =
        { Method = entry.Name
          Data = dataDir
          Backbone = args.GetResult(Backbone, defaultBackbone)
          OutputStride = args.GetResult(Output_Stride, 8)
          Weights = args.GetResult(Weights, "")
          Steps = args.GetResult(Steps, 3000)
          BatchSize = args.GetResult(Batch_Size, entry.Recipe.BatchSize)
          Crop = args.GetResult(Crop, 96)
          Lr = args.GetResult(Lr, entry.Recipe.Lr)
          Seed = args.GetResult(Seed, 0)
          Sets = sets |> List.map (fun (k, v) -> $"{k}={v}") |> Array.ofList
          Resolved = ""
          MaskFolder = args.GetResult(Labels, "") }
    let trainSet = DataSource.openSplit dataDir VocSplit.Train (if spec.MaskFolder = "" then None else Some spec.MaskFolder)
    let valSet = DataSource.openSplit dataDir VocSplit.Val None
    let classNames = trainSet.ClassNames |> Array.ofSeq
    Say.info $"{entry.Name}: {entry.Summary}"
    Say.info $"data {dataDir}: {trainSet.Count} train / {valSet.Count} val images, {classNames.Length - 1} classes; run folder {out}; device {Hybrid.Torch.Devices.Show device}"
    let e = env spec (Some trainSet) classNames device
    if not (MethodEnv.backboneIsNew e) then
        // what the file gives the backbone (a file that does not fit fails here, before training)
        use b = MethodEnv.backbone e
        b.LoadedWeights |> Option.ofObj |> Option.iter (fun r -> Say.info $"backbone weights: {r}")
    let recipe = { entry.Recipe with Lr = spec.Lr; BatchSize = spec.BatchSize }
    use stop = new StopSignals.StopRequest()
    use signals =
        StopSignals.listen stop (fun s ->
            let name = if s = Runtime.InteropServices.PosixSignal.SIGTERM then "SIGTERM" else "Ctrl-C"
            Say.warn $"\n{name}: stopping at the end of this step and saving a checkpoint (Ctrl-C or SIGTERM again ends the process at once)")
    let loader = DataSource.trainLoader trainSet spec.Crop spec.BatchSize spec.Seed (args.GetResult(Workers, 2)) recipe.StrongView
    let cfg =
        { TrainConfig.defaults spec.Steps (Recipe.schedule recipe) with
            Optimizer = recipe.Optimizer
            Seed = spec.Seed
            LogEvery = 10
            CheckpointEvery = Some(args.GetResult(Checkpoint_Every, 500))
            EvalEvery = args.TryGetResult Eval_Every
            OutDir = Some out
            Resume = resume
            Cancel = stop.Token }
    let ctx =
        { Env = e
          Config = cfg
          Batches = DataSource.trainStream device loader
          BatchesOf = fun ds -> DataSource.trainStream device (DataSource.trainLoader ds spec.Crop spec.BatchSize spec.Seed (args.GetResult(Workers, 2)) recipe.StrongView)
          ValBatches = fun () -> DataSource.evalBatches device valSet 16
          OnProgress = Progress.reporter entry.Name
          Log = Say.info }
    RunFolder.save out spec
    let m, resolved = entry.Train ctx sets
    RunFolder.save out { spec with Resolved = resolved }
    signals.Dispose()
    if stop.IsRequested then
        Say.warn $"stopped early; resume with: {resumeCommand args out}"
        stop.ExitCode
    else
        Say.info "evaluating on val ..."
        let results = report device out $"{entry.Name} on {Path.GetFileName(Path.GetFullPath dataDir)}" classNames valSet m.Predict
        curves out
        for line in [ results.Seeds |> Option.map (fun s -> Markdown.summary s.Best.Result + $" (best threshold {s.Best.Threshold:F2})"); results.Pseudo |> Option.map Markdown.summary; results.Segmentation |> Option.map Markdown.summary ] |> List.choose id do
            Say.info line
        let reportPath, picturesPath = Path.Combine(out, "report.md"), Path.Combine(out, "pictures")
        Say.info $"report: {reportPath}; pictures: {picturesPath}"
        m.Model.Dispose()
        0

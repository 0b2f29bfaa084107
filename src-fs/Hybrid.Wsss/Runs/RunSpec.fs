namespace Hybrid.Wsss.Runs

open System
open System.Globalization
open System.IO
open System.Text.Json
open System.Text.Json.Nodes
open Hybrid.Wsss.Training
open Hybrid.Wsss.Methods

/// What defines a run: the method and its settings, the data, the backbone, the recipe and the
/// seed. Two runs with equal specs train the same weights. run.json holds it; `--resume`,
/// `eval`, `labels`, `infer` and `repro` read it back.
type RunSpec =
    { Method: string
      /// dataset folder (VOC layout)
      Data: string
      /// masks to train on instead of the ground truth (e.g. the pseudo masks of `labels`)
      Labels: string option
      Backbone: string
      OutputStride: int
      /// BatchNorm layers of the backbone normalise with their running statistics and train
      /// no affine parameters (the papers' ResNet recipes); false: they train as usual
      FrozenBatchNorm: bool
      /// pretrained backbone weights (.pth, .safetensors, a checkpoint)
      Weights: string option
      Seed: int
      Steps: int
      BatchSize: int
      /// training crop (square, pixels)
      Crop: int
      /// base learning rate (groups multiply it)
      Lr: float
      /// the optimizer; None: the method's recipe (Registry)
      Optimizer: OptimizerKind option
      /// the method's settings as given (keys in the table's spelling); defaults fill the rest
      Settings: (string * string) list }

/// How a run is executed: what may differ between a run and its resumption without changing
/// its result.
type Execution =
    { Device: string
      Workers: int
      CheckpointEvery: int
      EvalEvery: int option
      /// decode every image the run will read before training
      ScanImages: bool }

module Execution =
    let defaults = { Device = "cpu"; Workers = 2; CheckpointEvery = 500; EvalEvery = None; ScanImages = true }

    let problems (e: Execution) =
        [ if e.Workers < 0 then $"--workers {e.Workers}: must be >= 0"
          if e.CheckpointEvery < 1 then $"--checkpoint-every {e.CheckpointEvery}: must be >= 1 (a checkpoint is also written at the end and on Ctrl-C / SIGTERM)"
          match e.EvalEvery with
          | Some n when n < 1 -> $"--eval-every {n}: must be >= 1 (leave it out to evaluate only at the end)"
          | _ -> () ]

module RunSpec =
    /// run.json's format tag (written first in the file); a reader refuses other versions.
    let format = "hybrid-run-1"

    let defaultData = "data/fmnist-scenes"
    let defaultBackbone = "tiny_resnet"

    /// `--weights imagenet`: the ImageNet weights of resnet18_imagenet (converted from the
    /// NuGet package's ONNX file and cached; run.json keeps the name, not the cache path).
    let imagenetWeights = "imagenet"

    /// The weights a backbone starts from when none are given: ImageNet's for the backbone
    /// that has them, none (random init) otherwise.
    let defaultWeights (backbone: string) =
        if backbone = Hybrid.Vision.Backbones.ResNet18ImageNet.RegistryName then Some imagenetWeights else None

    /// The weights file of a spec (the cache file for `imagenet`, converted on first use).
    let weightsFile (s: RunSpec) : string option =
        match s.Weights with
        | Some w when w = imagenetWeights -> Some(Hybrid.Vision.Backbones.Onnx.ResNet18ImageNetWeights.Pretrained())
        | w -> w

    /// The spec `train` starts from for a method: the method's recipe, the embedded data.
    let defaults (entry: MethodEntry) =
        { Method = entry.Name
          Data = defaultData
          Labels = None
          Backbone = defaultBackbone
          OutputStride = 8
          FrozenBatchNorm = false
          Weights = None
          Seed = 0
          Steps = 3000
          BatchSize = entry.Recipe.BatchSize
          Crop = 96
          Lr = entry.Recipe.Lr
          Optimizer = None
          Settings = [] }

    /// Every problem of a spec that can be seen without reading data (empty: valid). Settings
    /// are checked against the method's table; files are checked to exist.
    let problems (s: RunSpec) : string list =
        [ match Registry.all |> List.tryFind (fun e -> e.Name = s.Method) with
          | None -> $"""--method {s.Method}: unknown (known: {String.Join(", ", Registry.names)})"""
          | Some entry ->
              match entry.Settings.Check s.Settings with
              | Ok _ -> ()
              | Error ps -> yield! ps
          if not (Hybrid.Vision.Backbones.BackboneRegistry.Names |> Seq.contains s.Backbone) then
              $"""--backbone {s.Backbone}: unknown (known: {String.Join(", ", Hybrid.Vision.Backbones.BackboneRegistry.Names)})"""
          if s.OutputStride <> 8 && s.OutputStride <> 16 then $"--output-stride {s.OutputStride}: must be 8 or 16"
          if s.Steps < 1 then $"--steps {s.Steps}: must be >= 1"
          if s.BatchSize < 1 then $"--batch-size {s.BatchSize}: must be >= 1"
          if s.Crop < 16 then $"--crop {s.Crop}: must be >= 16 pixels"
          if not (Double.IsFinite s.Lr) || s.Lr <= 0.0 then $"--lr {s.Lr.ToString(CultureInfo.InvariantCulture)}: must be a finite number > 0"
          match s.Optimizer with
          | Some(Sgd(m, wd)) when not (m >= 0.0 && m < 1.0) || not (wd >= 0.0 && Double.IsFinite wd) ->
              $"--optimizer sgd: momentum {m} must lie in [0, 1) and --weight-decay {wd} be finite and >= 0"
          | Some(AdamW wd) when not (wd >= 0.0 && Double.IsFinite wd) -> $"--weight-decay {wd}: must be finite and >= 0"
          | _ -> ()
          if s.Seed < 0 then $"--seed {s.Seed}: must be >= 0"
          if String.IsNullOrWhiteSpace s.Data then "--data: empty"
          elif not (Directory.Exists s.Data) then
              if File.Exists s.Data then $"--data {s.Data} is a file; give the dataset folder (VOC layout)"
              else $"--data {s.Data}: no such folder (generate the embedded benchmark with `./hybrid data scenes --out {s.Data}`)"
          match s.Labels with
          | Some l when not (Directory.Exists l) -> $"--labels {l}: no such folder (write pseudo masks with `./hybrid labels`)"
          | _ -> ()
          match s.Weights with
          | Some w when w = imagenetWeights ->
              if s.Backbone <> Hybrid.Vision.Backbones.ResNet18ImageNet.RegistryName then
                  $"--weights imagenet: only the {Hybrid.Vision.Backbones.ResNet18ImageNet.RegistryName} backbone has ImageNet weights (--backbone {s.Backbone})"
          | Some w when not (File.Exists w) -> $"--weights {w}: no such file"
          | _ -> () ]

    /// The spec's method (the name is checked by `problems`).
    let entry (s: RunSpec) = Registry.find s.Method

    // ---- run.json ----

    /// run.json's "optimizer": {"kind": "sgd", "momentum": m, "weight_decay": wd} or
    /// {"kind": "adamw", "weight_decay": wd}; null: the method's recipe.
    let optimizerNode (o: OptimizerKind option) : JsonNode =
        match o with
        | None -> null
        | Some(Sgd(m, wd)) ->
            let n = JsonObject()
            n["kind"] <- JsonValue.Create "sgd"
            n["momentum"] <- JsonValue.Create m
            n["weight_decay"] <- JsonValue.Create wd
            n
        | Some(AdamW wd) ->
            let n = JsonObject()
            n["kind"] <- JsonValue.Create "adamw"
            n["weight_decay"] <- JsonValue.Create wd
            n

    /// Reads run.json's "optimizer" (absent or null: None, as in run.json before the option).
    let optimizerOf (path: string) (v: JsonElement) : OptimizerKind option =
        if v.ValueKind = JsonValueKind.Null || v.ValueKind = JsonValueKind.Undefined then None
        else
            let num (n: string) =
                match v.TryGetProperty n with
                | true, x when x.ValueKind = JsonValueKind.Number -> x.GetDouble()
                | _ -> raise (InvalidDataException $"{path}: optimizer.{n} is missing or not a number")
            match v.TryGetProperty "kind" with
            | true, k when k.GetString() = "sgd" -> Some(Sgd(num "momentum", num "weight_decay"))
            | true, k when k.GetString() = "adamw" -> Some(AdamW(num "weight_decay"))
            | _ -> raise (InvalidDataException $"{path}: optimizer.kind must be \"sgd\" or \"adamw\"")

    let private settingNode (entry: MethodEntry option) (key: string) (value: string) : JsonNode =
        let typ = entry |> Option.bind (fun e -> e.Settings.Rows |> List.tryFind (fun r -> r.Name = key)) |> Option.map (fun r -> r.Type)
        match typ with
        | Some Flag ->
            match Setting.parseFlag value with
            | Ok b -> JsonValue.Create b
            | Error _ -> JsonValue.Create value
        | Some Integer ->
            match Setting.parseInt value with
            | Ok n -> JsonValue.Create n
            | Error _ -> JsonValue.Create value
        | Some Number ->
            match Setting.parseFloat value with
            | Ok x -> JsonValue.Create x
            | Error _ -> JsonValue.Create value
        | _ -> JsonValue.Create value

    let private settingsObject (entry: MethodEntry option) (pairs: (string * string) list) =
        let o = JsonObject()
        for k, v in pairs do o[k] <- settingNode entry k v
        o

    /// run.json's text: the spec, how it was executed, and every setting's resolved value
    /// (defaults included, for reading; the spec's own settings are what a resume uses).
    let toJson (s: RunSpec) (exec: Execution) : string =
        let entry = Registry.all |> List.tryFind (fun e -> e.Name = s.Method)
        let o = JsonObject()
        o["format"] <- JsonValue.Create format
        o["method"] <- JsonValue.Create s.Method
        o["data"] <- JsonValue.Create s.Data
        o["labels"] <- (s.Labels |> Option.map (fun l -> JsonValue.Create l :> JsonNode) |> Option.toObj)
        o["backbone"] <- JsonValue.Create s.Backbone
        o["output_stride"] <- JsonValue.Create s.OutputStride
        o["frozen_bn"] <- JsonValue.Create s.FrozenBatchNorm
        o["weights"] <- (s.Weights |> Option.map (fun w -> JsonValue.Create w :> JsonNode) |> Option.toObj)
        o["seed"] <- JsonValue.Create s.Seed
        o["steps"] <- JsonValue.Create s.Steps
        o["batch_size"] <- JsonValue.Create s.BatchSize
        o["crop"] <- JsonValue.Create s.Crop
        o["lr"] <- JsonValue.Create s.Lr
        o["optimizer"] <- optimizerNode s.Optimizer
        o["settings"] <- settingsObject entry s.Settings
        let e = JsonObject()
        e["device"] <- JsonValue.Create exec.Device
        e["workers"] <- JsonValue.Create exec.Workers
        e["checkpoint_every"] <- JsonValue.Create exec.CheckpointEvery
        e["eval_every"] <- (exec.EvalEvery |> Option.map (fun n -> JsonValue.Create n :> JsonNode) |> Option.toObj)
        o["execution"] <- e
        match entry with
        | Some en ->
            match en.Settings.Check s.Settings with
            | Ok pairs -> o["resolved_settings"] <- settingsObject entry (en.Settings.Resolve pairs)
            | Error _ -> ()
        | None -> ()
        o.ToJsonString(JsonSerializerOptions(WriteIndented = true)) + "\n"

    /// A JSON value of a settings object as the text `--set` would give.
    let settingText (v: JsonElement) =
        match v.ValueKind with
        | JsonValueKind.String -> v.GetString()
        | JsonValueKind.True -> "true"
        | JsonValueKind.False -> "false"
        | JsonValueKind.Number -> v.GetRawText()
        | k -> invalidArg "value" $"a setting's value must be a string, number or true/false, not {k}"

    let private legacy (path: string) (r: JsonElement) : RunSpec * Execution =
        // run.json as `train` wrote it before the format tag: PascalCase fields, settings as
        // "key=value" strings
        let str (n: string) = match r.TryGetProperty n with | true, v when v.ValueKind = JsonValueKind.String -> v.GetString() | _ -> ""
        let int (n: string) (d: int) = match r.TryGetProperty n with | true, v when v.ValueKind = JsonValueKind.Number -> v.GetInt32() | _ -> d
        let opt (t: string) = if String.IsNullOrEmpty t then None else Some t
        let sets =
            match r.TryGetProperty "Sets" with
            | true, v when v.ValueKind = JsonValueKind.Array ->
                [ for x in v.EnumerateArray() do
                      let t = x.GetString()
                      match t.IndexOf '=' with
                      | i when i > 0 -> yield t[.. i - 1].Trim(), t[i + 1 ..].Trim()
                      | _ -> () ]
            | _ -> []
        if str "Method" = "" then raise (InvalidDataException $"{path}: not a run.json (no format tag and no Method)")
        { Method = str "Method"
          Data = str "Data"
          Labels = opt (str "MaskFolder")
          Backbone = str "Backbone"
          OutputStride = int "OutputStride" 8
          FrozenBatchNorm = false
          Weights = opt (str "Weights")
          Seed = int "Seed" 0
          Steps = int "Steps" 3000
          BatchSize = int "BatchSize" 16
          Crop = int "Crop" 96
          Lr = (match r.TryGetProperty "Lr" with | true, v when v.ValueKind = JsonValueKind.Number -> v.GetDouble() | _ -> 1e-3)
          Optimizer = None
          Settings = sets },
        Execution.defaults

    /// Reads run.json text (this format, or the untagged one of earlier versions).
    let ofJson (path: string) (text: string) : RunSpec * Execution =
        let doc =
            try JsonDocument.Parse text
            with :? JsonException as e ->
                let line = (e.LineNumber |> Option.ofNullable |> Option.map ((+) 1L) |> Option.map string |> Option.defaultValue "?")
                raise (InvalidDataException $"{path}: not valid JSON (line {line}): {e.Message}")
        use doc = doc
        let r = doc.RootElement
        match r.TryGetProperty "format" with
        | true, f when f.GetString() = format ->
            let req (n: string) =
                match r.TryGetProperty n with
                | true, v -> v
                | _ -> raise (InvalidDataException $"{path}: '{n}' is missing")
            let optStr (n: string) =
                match r.TryGetProperty n with
                | true, v when v.ValueKind = JsonValueKind.String -> Some(v.GetString())
                | _ -> None
            let e = match r.TryGetProperty "execution" with | true, v -> Some v | _ -> None
            let eInt (n: string) (d: int) =
                match e |> Option.map (fun e -> e.TryGetProperty n) with
                | Some(true, v) when v.ValueKind = JsonValueKind.Number -> v.GetInt32()
                | _ -> d
            { Method = (req "method").GetString()
              Data = (req "data").GetString()
              Labels = optStr "labels"
              Backbone = (req "backbone").GetString()
              OutputStride = (req "output_stride").GetInt32()
              // absent in the run.json of versions before the flag: BN trained then
              FrozenBatchNorm = (match r.TryGetProperty "frozen_bn" with | true, v when v.ValueKind = JsonValueKind.True -> true | _ -> false)
              Weights = optStr "weights"
              Seed = (req "seed").GetInt32()
              Steps = (req "steps").GetInt32()
              BatchSize = (req "batch_size").GetInt32()
              Crop = (req "crop").GetInt32()
              Lr = (req "lr").GetDouble()
              // absent in the run.json of versions before --optimizer: the method's recipe
              Optimizer = (match r.TryGetProperty "optimizer" with | true, v -> optimizerOf path v | _ -> None)
              Settings = [ for p in (req "settings").EnumerateObject() -> p.Name, settingText p.Value ] },
            { Device = (match e |> Option.map (fun e -> e.TryGetProperty "device") with | Some(true, v) when v.ValueKind = JsonValueKind.String -> v.GetString() | _ -> Execution.defaults.Device)
              Workers = eInt "workers" Execution.defaults.Workers
              CheckpointEvery = eInt "checkpoint_every" Execution.defaults.CheckpointEvery
              EvalEvery = (match e |> Option.map (fun e -> e.TryGetProperty "eval_every") with | Some(true, v) when v.ValueKind = JsonValueKind.Number -> Some(v.GetInt32()) | _ -> None)
              ScanImages = true }
        | true, f -> raise (InvalidDataException $"{path}: run.json format '{f}' is not one this version reads ({format})")
        | _ -> legacy path r

    let path (dir: string) = Path.Combine(dir, "run.json")

    /// The spec of a run folder (its run.json).
    let load (dir: string) : RunSpec * Execution =
        let p = path dir
        if not (File.Exists p) then
            RunError.folderConflict $"{dir} is not a run folder (no run.json): pass the --out folder of a `hybrid train` run"
        ofJson p (File.ReadAllText p)

    /// Writes run.json atomically (a reader never sees half a file).
    let save (dir: string) (s: RunSpec) (exec: Execution) =
        Directory.CreateDirectory dir |> ignore
        Hybrid.Torch.Serialization.AtomicFile.WriteAllText(path dir, toJson s exec)

    /// The fields in which two specs differ, as "field: a (run.json: b)" lines; settings
    /// compare by their resolved values (so `--set gc=off` equals `--set GC=false`).
    let differences (stored: RunSpec) (given: RunSpec) : string list =
        let show (o: obj) =
            match o with
            | :? float as x -> x.ToString("R", CultureInfo.InvariantCulture)
            | :? (string option) as s -> defaultArg s "(none)"
            | :? (OptimizerKind option) as o -> (match o with Some k -> OptimizerKind.describe k | None -> "(the method's)")
            | o -> string o
        let field name (a: 'T) (b: 'T) = if a <> b then [ $"{name} {show (box b)} (run.json: {show (box a)})" ] else []
        let resolved (s: RunSpec) =
            match Registry.all |> List.tryFind (fun e -> e.Name = s.Method) with
            | Some e -> (match e.Settings.Check s.Settings with Ok p -> Some(e.Settings.Resolve p) | Error _ -> None)
            | None -> None
        field "--method" stored.Method given.Method
        @ field "--data" stored.Data given.Data
        @ field "--labels" stored.Labels given.Labels
        @ field "--backbone" stored.Backbone given.Backbone
        @ field "--output-stride" stored.OutputStride given.OutputStride
        @ field "--frozen-bn" stored.FrozenBatchNorm given.FrozenBatchNorm
        @ field "--weights" stored.Weights given.Weights
        @ field "--seed" stored.Seed given.Seed
        @ field "--steps" stored.Steps given.Steps
        @ field "--batch-size" stored.BatchSize given.BatchSize
        @ field "--crop" stored.Crop given.Crop
        @ field "--lr" stored.Lr given.Lr
        @ field "--optimizer" stored.Optimizer given.Optimizer
        @ (if stored.Method = given.Method && resolved stored <> resolved given then
               let a, b = defaultArg (resolved stored) [], defaultArg (resolved given) []
               [ for (k, x), (_, y) in List.zip a b do
                     if x <> y then $"--set {k}={y} (run.json: {x})" ]
           else [])

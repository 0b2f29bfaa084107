/// A run folder: the resolved configuration written at the start (run.json), then checkpoints,
/// metrics.jsonl, results, report.md and pictures/ as the run goes.
module Hybrid.Cli.RunFolder

open System
open System.IO
open System.Text.Json

/// What `train` resolved from its arguments; enough to rebuild the model for `eval`/`infer`.
type RunSpec =
    { Method: string
      Data: string
      Backbone: string
      OutputStride: int
      Weights: string
      Steps: int
      BatchSize: int
      Crop: int
      Lr: float
      Seed: int
      Sets: string[]
      /// The method's fully resolved settings (its typed config, printed).
      Resolved: string
      MaskFolder: string }

let specPath dir = Path.Combine(dir, "run.json")

let save (dir: string) (spec: RunSpec) =
    Directory.CreateDirectory dir |> ignore
    File.WriteAllText(specPath dir, JsonSerializer.Serialize(spec, JsonSerializerOptions(WriteIndented = true)))

let load (dir: string) : RunSpec =
    let p = specPath dir
    if not (File.Exists p) then raise (FileNotFoundException $"{dir} is not a run folder (no run.json): pass the --out folder of a `hybrid train` run")
    JsonSerializer.Deserialize<RunSpec>(File.ReadAllText p)

/// runs/<method>-<yyyyMMdd-HHmmss> when no folder is given.
let fresh (methodName: string) =
    let stamp = DateTime.Now.ToString("yyyyMMdd-HHmmss")
    let safe = methodName.Replace("+", "plus")
    Path.Combine("runs", $"{safe}-{stamp}")

/// `key=value` pairs of --set.
let parseSets (sets: string list) =
    sets |> List.map (fun s ->
        match s.IndexOf '=' with
        | i when i > 0 -> s[.. i - 1].Trim(), s[i + 1 ..].Trim()
        | _ -> invalidArg "set" $"--set expects key=value, got '{s}'")

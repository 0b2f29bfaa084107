/// `hybrid repro --spec paper-repro/<paper>/table.json [--quick]`: runs every row of a paper's
/// ablation table over its seeds, then writes the table (mean +- std over seeds and a paired
/// t-test of each row against its baseline row) next to the spec as RESULTS.md.
module Hybrid.Cli.Commands.ReproCmd

open System
open System.IO
open System.Text.Json
open Argu
open Hybrid.Data
open Hybrid.Wsss.Eval
open Hybrid.Cli

type Args =
    | [<Mandatory>] Spec of file: string
    | Quick
    | Runs of dir: string
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Spec _ -> "table spec (paper-repro/<paper>/table.json)"
            | Quick -> "1 seed, few steps, on a tiny generated dataset (a smoke test of the table)"
            | Runs _ -> "folder for the runs (default runs/repro/<paper>)"

type Row = { Name: string; Method: string; Sets: string list; Baseline: string option }

type TableSpec =
    { Paper: string
      Metric: string
      Data: string
      Steps: int
      Seeds: int list
      Extra: string list
      Rows: Row list }

let private strings (e: JsonElement) (name: string) =
    match e.TryGetProperty name with
    | true, v -> [ for x in v.EnumerateArray() -> x.GetString() ]
    | _ -> []

let parse (path: string) : TableSpec =
    if not (File.Exists path) then raise (FileNotFoundException $"table spec not found: {path}")
    use doc = JsonDocument.Parse(File.ReadAllText path)
    let r = doc.RootElement
    let str (n: string) (d: string) = match r.TryGetProperty n with | true, v -> v.GetString() | _ -> d
    { Paper = str "paper" (Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath path)))
      Metric = str "metric" "seed_miou"
      Data = str "data" "data/fmnist-scenes"
      Steps = (match r.TryGetProperty "steps" with | true, v -> v.GetInt32() | _ -> 1500)
      Seeds = (match r.TryGetProperty "seeds" with | true, v -> [ for x in v.EnumerateArray() -> x.GetInt32() ] | _ -> [ 0; 1; 2 ])
      Extra = strings r "args"
      Rows =
        [ for row in r.GetProperty("rows").EnumerateArray() ->
            { Name = row.GetProperty("name").GetString()
              Method = row.GetProperty("method").GetString()
              Sets = strings row "set"
              Baseline = (match row.TryGetProperty "baseline" with | true, v -> Some(v.GetString()) | _ -> None) } ] }

let private metricOf (dir: string) (metric: string) =
    let p = Path.Combine(dir, "results.json")
    if not (File.Exists p) then nan
    else
        use doc = JsonDocument.Parse(File.ReadAllText p)
        match doc.RootElement.TryGetProperty metric with
        | true, v -> 100.0 * v.GetDouble()
        | _ -> nan

let private pct (v: float) = v.ToString("F1", Globalization.CultureInfo.InvariantCulture)

/// The Markdown table of a finished grid: rows x seeds of the metric.
let table (spec: TableSpec) (values: Map<string, float[]>) (quick: bool) (commit: string) (command: string) =
    let lines =
        [ yield $"# {spec.Paper}: reproduction on FMNIST-Scenes"
          yield ""
          let note = if quick then " (QUICK MODE: tiny data, few steps: a smoke test, not a result)" else ""
          yield $"Produced by `{command}` at commit {commit}{note}."
          yield $"Metric: {spec.Metric} (%%) on val; {spec.Seeds.Length} seed(s) {spec.Seeds}; {spec.Steps} steps per run."
          yield ""
          yield "| row | mean ± std | per seed | Δ vs baseline | paired t-test p |"
          yield "|---|---|---|---|---|"
          for row in spec.Rows do
              let v = values[row.Name]
              let s = PairedStats.summarise v
              let delta, p =
                  match row.Baseline |> Option.bind (fun b -> Map.tryFind b values) with
                  | Some b when v.Length >= 2 ->
                      let t = PairedStats.pairedTTest v b
                      pct (Array.average v - Array.average b), t.PValue.ToString("F3", Globalization.CultureInfo.InvariantCulture)
                  | Some b -> pct (Array.average v - Array.average b), "- (1 seed)"
                  | None -> "-", "-"
              let perSeed = v |> Array.map pct |> String.concat ", "
              yield $"| {row.Name} | {pct s.Mean} ± {pct s.Std} | {perSeed} | {delta} | {p} |" ]
    String.concat "\n" lines + "\n"

let run (a: ParseResults<Args>) =
    let specPath = a.GetResult Spec
    let spec = parse specPath
    let quick = a.Contains Quick
    let spec, data =
        if quick then
            let tiny = Path.Combine(Path.GetTempPath(), "hybrid-repro-quick-scenes")
            if not (File.Exists(Path.Combine(tiny, FmnistScenes.ManifestFile))) then
                FmnistScenes.Generate(FmnistScenesOptions(tiny, Train = 32, Val = 16, Size = 48, Seed = 1L)) |> ignore
            { spec with Seeds = [ List.head spec.Seeds ]; Steps = 4 }, tiny
        else spec, spec.Data
    let runsDir = a.GetResult(Runs, Path.Combine("runs", "repro" + (if quick then "-quick" else ""), spec.Paper.ToLowerInvariant()))
    let parser = ArgumentParser.Create<TrainCmd.Args>(programName = "hybrid train")
    let mutable values = Map.empty
    for row in spec.Rows do
        let vs =
            [| for seed in spec.Seeds ->
                let safe = row.Name.Replace(' ', '_').Replace('/', '_').Replace('+', 'p')
                let dir = Path.Combine(runsDir, safe, "seed" + string seed)
                if not (File.Exists(Path.Combine(dir, "results.json"))) then
                    Say.heading $"{spec.Paper} | {row.Name} | seed {seed}"
                    let argv =
                        [ "--method"; row.Method; "--data"; data; "--steps"; string spec.Steps; "--seed"; string seed; "--out"; dir ]
                        @ (if quick then [ "--crop"; "48"; "--batch-size"; "4"; "--workers"; "0" ] else spec.Extra)
                        @ (row.Sets |> List.collect (fun s -> [ "--set"; s ]))
                    let rc = TrainCmd.run (parser.ParseCommandLine(Array.ofList argv))
                    if rc <> 0 then failwith $"row '{row.Name}' seed {seed} failed (exit {rc})"
                metricOf dir spec.Metric |]
        values <- values.Add(row.Name, vs)
    let commit =
        try
            let psi = Diagnostics.ProcessStartInfo("git", "rev-parse --short HEAD", RedirectStandardOutput = true)
            use p = Diagnostics.Process.Start psi
            p.StandardOutput.ReadToEnd().Trim()
        with _ -> "unknown"
    let command = $"""./hybrid repro --spec {specPath}{(if quick then " --quick" else "")}"""
    let md = table spec values quick commit command
    let out = Path.Combine(Path.GetDirectoryName(Path.GetFullPath specPath), (if quick then "RESULTS-quick.md" else "RESULTS.md"))
    File.WriteAllText(out, md)
    printfn "%s" md
    Say.info $"written to {out}"
    0

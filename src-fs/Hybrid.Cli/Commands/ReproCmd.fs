/// `hybrid repro --spec paper-repro/<paper>/table.json [--quick] [--jobs N] [--no-train]`: runs
/// every row of a paper's ablation table over its seeds, then writes the table (mean +- std over
/// seeds and a paired t-test of each row against its baseline row) next to the spec as RESULTS.md.
/// A run is identified by method, settings, steps and seed, so papers sharing a row (the CAM
/// baseline, the supervised upper bound) share its runs; finished runs are never trained again.
module Hybrid.Cli.Commands.ReproCmd

open System
open System.IO
open System.Text.Json
open Argu
open Hybrid.Data
open Hybrid.Wsss.Eval
open Hybrid.Wsss.Training
open Hybrid.Wsss.Runs
open Hybrid.Cli

type Args =
    | [<Mandatory>] Spec of file: string
    | Row of name: string
    | Seed of k: int
    | Quick
    | Runs of dir: string
    | Jobs of n: int
    | No_Train
    | Device of name: string
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Spec _ -> "table spec (paper-repro/<paper>/table.json); repeat for several papers (one queue of runs)"
            | Row _ -> "train only the rows whose name contains this text (repeatable); the table lists every row"
            | Seed _ -> "train only this seed of the table's seeds (repeatable); the table lists every seed"
            | Quick -> "1 seed, few steps, on a tiny generated dataset (a smoke test of the table)"
            | Runs _ -> "folder for the runs (default runs/repro; shared by the papers); with it the table is written into this folder as <paper>-RESULTS.md, not beside the spec"
            | Jobs _ -> "runs trained at once, each a child process with cores / N threads (default 1: in this process)"
            | No_Train -> "train nothing: write the table from the runs that have finished (missing cells shown as such)"
            | Device _ -> DeviceOption.usage + "; every run of the table trains and evaluates on it"

type Row =
    { Name: string
      Method: string
      Sets: string list
      Baseline: string option
      /// the row's own metric (e.g. seg_miou for the supervised upper bound), else the table's
      Metric: string option
      /// the row's own number of steps (e.g. a pretraining row), else the table's
      Steps: int option
      /// the row whose run of the same seed initialises this row's backbone (`--weights` its
      /// checkpoint): pretraining, then each method fine-tuned from it
      Init: string option
      /// the row's optimizer by name (`train --optimizer`: sgd, adamw), else the method's recipe
      Optimizer: string option
      /// the row's base learning rate (`train --lr`), else the method's recipe
      Lr: float option }

type TableSpec =
    { Paper: string
      Metric: string
      Data: string
      Steps: int
      Seeds: int list
      /// the backbone, its output stride, crop and batch of every run (None: train's defaults)
      Backbone: string option
      OutputStride: int option
      Crop: int option
      BatchSize: int option
      Rows: Row list }

/// One run of a table: its spec, how it executes, its folder, fresh or resumed.
type RunRequest =
    { Spec: RunSpec
      Execution: Execution
      Out: string
      Mode: FolderMode }

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
      Backbone = (match r.TryGetProperty "backbone" with | true, v -> Some(v.GetString()) | _ -> None)
      OutputStride = (match r.TryGetProperty "output_stride" with | true, v -> Some(v.GetInt32()) | _ -> None)
      Crop = (match r.TryGetProperty "crop" with | true, v -> Some(v.GetInt32()) | _ -> None)
      BatchSize = (match r.TryGetProperty "batch_size" with | true, v -> Some(v.GetInt32()) | _ -> None)
      Rows =
        [ for row in r.GetProperty("rows").EnumerateArray() ->
            { Name = row.GetProperty("name").GetString()
              Method = row.GetProperty("method").GetString()
              Sets = strings row "set"
              Baseline = (match row.TryGetProperty "baseline" with | true, v -> Some(v.GetString()) | _ -> None)
              Metric = (match row.TryGetProperty "metric" with | true, v -> Some(v.GetString()) | _ -> None)
              Steps = (match row.TryGetProperty "steps" with | true, v -> Some(v.GetInt32()) | _ -> None)
              Init = (match row.TryGetProperty "init" with | true, v -> Some(v.GetString()) | _ -> None)
              Optimizer = (match row.TryGetProperty "optimizer" with | true, v -> Some(v.GetString()) | _ -> None)
              Lr = (match row.TryGetProperty "lr" with | true, v -> Some(v.GetDouble()) | _ -> None) } ] }
    |> fun spec ->
        for row in spec.Rows do
            match row.Optimizer with
            | Some o when (OptimizerKind.ofName o).IsNone ->
                raise (InvalidDataException $"""{path}: row '{row.Name}': optimizer '{o}' is unknown (known: {String.concat ", " OptimizerKind.names})""")
            | _ -> ()
            match row.Lr with
            | Some lr when not (lr > 0.0 && Double.IsFinite lr) -> raise (InvalidDataException $"{path}: row '{row.Name}': lr {lr} must be finite and > 0")
            | _ -> ()
        spec
    |> fun spec ->
        // every init names another row, and following inits never comes back to a row
        let byName = spec.Rows |> List.map (fun r -> r.Name, r) |> Map.ofList
        for row in spec.Rows do
            let rec follow (seen: string list) (r: Row) =
                match r.Init with
                | None -> ()
                | Some name when List.contains name seen -> raise (InvalidDataException $"{path}: row '{row.Name}': its init chain comes back to '{name}'")
                | Some name ->
                    match Map.tryFind name byName with
                    | Some next -> follow (name :: seen) next
                    | None -> raise (InvalidDataException $"{path}: row '{r.Name}' is initialised from '{name}', which is not a row of the table")
            follow [ row.Name ] row
        spec

/// The steps a row's runs train for.
let rowSteps (spec: TableSpec) (row: Row) = defaultArg row.Steps spec.Steps

/// The row a row is initialised from, if any.
let initRow (spec: TableSpec) (row: Row) =
    row.Init |> Option.map (fun name -> spec.Rows |> List.find (fun r -> r.Name = name))

let private slug (s: string) = String(s.ToCharArray() |> Array.map (fun c -> if Char.IsLetterOrDigit c || c = '.' || c = '-' || c = '=' then c else '_'))

/// "<method>", "<settings>[,init=<method>-<settings of the init run>].<steps>steps".
let rec private runName (spec: TableSpec) (row: Row) =
    let recipe =
        [ match row.Optimizer with Some o -> $"optimizer={o.Trim().ToLowerInvariant()}" | None -> ()
          match row.Lr with Some lr -> "lr=" + lr.ToString("R", Globalization.CultureInfo.InvariantCulture) | None -> () ]
    let sets = if row.Sets.IsEmpty && recipe.IsEmpty then "default" else row.Sets @ recipe |> List.map slug |> String.concat ","
    let init =
        match initRow spec row with
        | Some r ->
            let m, n = runName spec r
            $",init={m}-{n}"
        | None -> ""
    slug row.Method, $"{sets}{init}.{rowSteps spec row}steps"

/// The run folder of a row's seed: method, settings, steps and the run it starts from name it,
/// so identical rows of different papers share their runs.
let runDir (runsDir: string) (spec: TableSpec) (row: Row) (seed: int) =
    let m, n = runName spec row
    Path.Combine(runsDir, m, n, $"seed{seed}")

/// How many inits lead to a row (0: trained from scratch): the wave it trains in.
let rec initDepth (spec: TableSpec) (row: Row) =
    match initRow spec row with
    | Some r -> 1 + initDepth spec r
    | None -> 0

let private finished (dir: string) = File.Exists(Path.Combine(dir, "results.json"))

let private metricOf (dir: string) (metric: string) =
    let p = Path.Combine(dir, "results.json")
    if not (File.Exists p) then nan
    else
        use doc = JsonDocument.Parse(File.ReadAllText p)
        match doc.RootElement.TryGetProperty metric with
        | true, v -> 100.0 * v.GetDouble()
        | _ -> nan

let private pct (v: float) = if Double.IsNaN v then "n/a" else v.ToString("F1", Globalization.CultureInfo.InvariantCulture)

/// Where a table goes: beside its spec (the committed table) when it comes from the default
/// run store and every run of it has finished, or when nothing is there yet; otherwise into the
/// run store as <paper>-RESULTS.md. Another store's table, or one with runs missing (a `--row`
/// or `--seed` subset, a fresh store), never replaces the committed table.
let resultsFile (besideSpec: string) (inStore: string) (runsGiven: bool) (missing: int) (besideSpecExists: bool) =
    if runsGiven || (missing > 0 && besideSpecExists) then inStore else besideSpec

/// The Markdown table of a grid: rows x seeds of each row's metric (NaN: the run is missing).
let table (spec: TableSpec) (values: Map<string, float[]>) (quick: bool) (commit: string) (command: string) =
    let lines =
        [ yield $"# {spec.Paper}: reproduction on FMNIST-Scenes"
          yield ""
          let note = if quick then " (QUICK MODE: tiny data, few steps: a smoke test, not a result)" else ""
          yield $"Produced by `{command}` at commit {commit}{note}."
          yield $"Metric: {spec.Metric} (%%) on val unless the row names another; {spec.Seeds.Length} seed(s) {spec.Seeds}; {spec.Steps} steps per run unless the row says otherwise."
          yield ""
          yield "| row | metric | mean ± std | per seed | Δ vs baseline | paired t-test p |"
          yield "|---|---|---|---|---|---|"
          for row in spec.Rows do
              let all = values[row.Name]
              let v = all |> Array.filter (fun x -> not (Double.IsNaN x))
              let metric = defaultArg row.Metric spec.Metric
              let perSeed = all |> Array.map pct |> String.concat ", "
              if v.Length = 0 then yield $"| {row.Name} | {metric} | not run | {perSeed} | - | - |"
              else
                  let s = PairedStats.summarise v
                  let delta, p =
                      match row.Baseline |> Option.bind (fun b -> Map.tryFind b values) with
                      | Some b ->
                          // pairs of seeds where both runs finished
                          let pairs = Array.zip all b |> Array.filter (fun (x, y) -> not (Double.IsNaN x || Double.IsNaN y))
                          if pairs.Length >= 2 then
                              let t = PairedStats.pairedTTest (Array.map fst pairs) (Array.map snd pairs)
                              pct (Array.averageBy fst pairs - Array.averageBy snd pairs), t.PValue.ToString("F3", Globalization.CultureInfo.InvariantCulture)
                          elif pairs.Length = 1 then pct (fst pairs.[0] - snd pairs.[0]), "- (1 pair)"
                          else "-", "- (baseline not run)"
                      | None -> "-", "-"
                  let std = if v.Length >= 2 then pct s.Std else "-"
                  yield $"| {row.Name} | {metric} | {pct s.Mean} ± {std} | {perSeed} | {delta} | {p} |" ]
    String.concat "\n" lines + "\n"

/// Trains the pending runs as child processes of this CLI, `jobs` at a time, each with
/// cores / jobs libtorch threads and its output in `<run>/train.log`. Each child trains the
/// run.json written into its folder (`train --spec`). Returns the failures.
let private trainInChildren (jobs: int) (pending: (string * RunRequest) list) =
    let threads = max 1 (Environment.ProcessorCount / jobs)
    let dll = Reflection.Assembly.GetEntryAssembly().Location
    let total = pending.Length
    let completed = ref 0
    let failures = Collections.Concurrent.ConcurrentBag<string>()
    let gate = obj ()
    let opts = Threading.Tasks.ParallelOptions(MaxDegreeOfParallelism = jobs)
    Threading.Tasks.Parallel.ForEach(pending, opts, fun (label: string, req: RunRequest) ->
        let dir = req.Out
        Directory.CreateDirectory dir |> ignore
        // the request as a file the child reads (beside the run, not its run.json: that one
        // is written by the child once the run has been checked)
        let specFile = Path.Combine(dir, "repro-request.json")
        Hybrid.Torch.Serialization.AtomicFile.WriteAllText(specFile, RunSpec.toJson req.Spec req.Execution)
        let logPath = Path.Combine(dir, "train.log")
        let psi = Diagnostics.ProcessStartInfo(Environment.ProcessPath, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false)
        for x in [ dll; "train"; "--spec"; specFile; "--out"; dir ] @ (if req.Mode = FolderMode.Resume then [ "--resume" ] else []) do
            psi.ArgumentList.Add x
        psi.Environment["HYBRID_NUM_THREADS"] <- string threads
        let sw = Diagnostics.Stopwatch.StartNew()
        lock gate (fun () -> Say.info $"start {label} ({threads} thread(s); log {logPath})")
        use log = new StreamWriter(logPath, false, AutoFlush = true) // `tail -f` follows the run
        use p = new Diagnostics.Process(StartInfo = psi)
        let write (e: Diagnostics.DataReceivedEventArgs) = if not (isNull e.Data) then lock log (fun () -> log.WriteLine e.Data)
        p.OutputDataReceived.Add write
        p.ErrorDataReceived.Add write
        p.Start() |> ignore
        p.BeginOutputReadLine()
        p.BeginErrorReadLine()
        p.WaitForExit()
        lock gate (fun () ->
            completed.Value <- completed.Value + 1
            if p.ExitCode = 0 then
                File.Delete specFile
                Say.info $"[{completed.Value}/{total}] done {label} in {sw.Elapsed.TotalMinutes:F1} min"
            else
                failures.Add $"{label} (exit {p.ExitCode}; see {logPath})"
                Say.warn $"[{completed.Value}/{total}] FAILED {label} (exit {p.ExitCode}); see {logPath}")) |> ignore
    List.ofSeq failures

/// The run of one seed of a row: a RunSpec record (the table's data, steps, backbone and the
/// row's method, settings and init), and whether it continues a run stopped part-way.
let runRequest (runsDir: string) (data: string option) (quick: bool) (device: string option) (spec: TableSpec) (row: Row) (seed: int) (dir: string) : RunRequest =
    let entry = Hybrid.Wsss.Methods.Registry.find row.Method
    let b = RunSpec.defaults entry
    let runSpec =
        { b with
            Data = defaultArg data spec.Data
            Steps = rowSteps spec row
            Seed = seed
            Backbone = defaultArg spec.Backbone b.Backbone
            OutputStride = defaultArg spec.OutputStride b.OutputStride
            Crop = (if quick then 48 else defaultArg spec.Crop b.Crop)
            BatchSize = (if quick then 4 else defaultArg spec.BatchSize b.BatchSize)
            Settings = TrainCmd.parseSets row.Sets
            Lr = defaultArg row.Lr b.Lr
            Optimizer = row.Optimizer |> Option.bind OptimizerKind.ofName
            Weights = initRow spec row |> Option.map (fun r -> Path.Combine(runDir runsDir spec r seed, "checkpoint.safetensors")) }
    { Spec = runSpec
      Execution = { Execution.defaults with Device = defaultArg device "cpu"; Workers = (if quick then 0 else Execution.defaults.Workers) }
      Out = dir
      Mode = (if RunFolderState.hasCheckpoint dir then FolderMode.Resume else FolderMode.Fresh) }

let run (a: ParseResults<Args>) =
    let quick = a.Contains Quick
    let jobs = a.GetResult(Jobs, 1)
    if jobs < 1 then invalidArg "jobs" $"--jobs {jobs}: must be >= 1"
    // checked here, so a device this build cannot use fails before any run starts
    let device = a.TryGetResult Device
    DeviceOption.resolve device |> ignore
    let runsDir = a.GetResult(Runs, Path.Combine("runs", "repro" + (if quick then "-quick" else "")))
    let data =
        if quick then
            let tiny = Path.Combine(Path.GetTempPath(), "hybrid-repro-quick-scenes")
            if not (File.Exists(Path.Combine(tiny, FmnistScenes.ManifestFile))) then
                FmnistScenes.Generate(FmnistScenesOptions(tiny, Train = 32, Val = 16, Size = 48, Seed = 1L)) |> ignore
            Some tiny
        else None
    let specs =
        [ for path in a.GetResults Spec ->
              let spec = parse path
              path, (if quick then { spec with Seeds = [ List.head spec.Seeds ]; Steps = 4; Rows = spec.Rows |> List.map (fun r -> { r with Steps = None }) } else spec) ]
    let named (row: Row) =
        match a.GetResults Row with
        | [] -> true
        | names -> names |> List.exists (fun n -> row.Name.Contains(n, StringComparison.OrdinalIgnoreCase))
    let seedWanted (seed: int) =
        match a.GetResults Seed with
        | [] -> true
        | seeds -> List.contains seed seeds
    // a wanted row brings the rows it is initialised from
    let rec wanted (spec: TableSpec) (row: Row) =
        named row || spec.Rows |> List.exists (fun r -> r.Init = Some row.Name && wanted spec r)
    let requestOf (spec: TableSpec) (row: Row) (seed: int) (dir: string) = runRequest runsDir data quick device spec row seed dir
    // one queue over every table, breadth first (every row's first seed before any row's
    // second), so a grid cut short still has each row; a run shared by rows is trained once.
    // Rows initialised from another row's runs train in a later wave than those runs.
    let pending =
        [ for _, spec in specs do
              for row in spec.Rows |> List.filter (wanted spec) do
                  for i, seed in List.indexed spec.Seeds do
                      let dir = runDir runsDir spec row seed
                      if seedWanted seed && not (finished dir) then yield (initDepth spec row, i), (spec, row, seed, dir) ]
        |> List.sortBy fst // stable: within a wave and seed rank, table and row order
        |> List.distinctBy (fun (_, (_, _, _, dir)) -> dir)
    let waves = pending |> List.groupBy (fst >> fst) |> List.sortBy fst |> List.map (snd >> List.map snd)
    // a run whose init run did not finish is not started (it would train from scratch)
    let startable (spec: TableSpec, row: Row, seed: int, _: string) =
        match initRow spec row with
        | Some r when not (finished (runDir runsDir spec r seed)) -> Error $"{row.Name} seed {seed}: its init run {runDir runsDir spec r seed} has not finished"
        | _ -> Ok()
    let trainWave (wave: (TableSpec * Row * int * string) list) =
        let verdicts = wave |> List.map (fun w -> w, startable w)
        let blocked = verdicts |> List.choose (fun (_, r) -> match r with Error e -> Some e | Ok() -> None)
        let ready = verdicts |> List.choose (fun (w, r) -> match r with Ok() -> Some w | Error _ -> None)
        blocked
        @ (if ready.IsEmpty then []
           elif jobs = 1 then
               [ for spec, row, seed, dir in ready do
                     Say.heading $"{spec.Paper} | {row.Name} | seed {seed}"
                     let req = requestOf spec row seed dir
                     let rc =
                         try TrainCmd.runSpec req.Spec req.Execution req.Out req.Mode
                         with RunError(_, msg) -> Say.error msg; 2
                     if rc <> 0 then yield $"{row.Name} seed {seed} (exit {rc})" ]
           else
               Say.info $"{ready.Length} runs to train, {jobs} at a time"
               trainInChildren jobs [ for spec, row, seed, dir in ready -> $"{spec.Paper} | {row.Name} | seed {seed}", requestOf spec row seed dir ])
    let failures =
        if a.Contains No_Train then []
        else waves |> List.collect trainWave
    let commit =
        try
            let psi = Diagnostics.ProcessStartInfo("git", "rev-parse --short HEAD", RedirectStandardOutput = true)
            use p = Diagnostics.Process.Start psi
            p.StandardOutput.ReadToEnd().Trim()
        with _ -> "unknown"
    for specPath, spec in specs do
        let values =
            spec.Rows
            |> List.map (fun row -> row.Name, [| for seed in spec.Seeds -> metricOf (runDir runsDir spec row seed) (defaultArg row.Metric spec.Metric) |])
            |> Map.ofList
        let runsArg = if a.Contains Runs then $" --runs {runsDir}" else ""
        let command = $"""./hybrid repro --spec {specPath}{(if quick then " --quick" else "")}{runsArg}"""
        let md = table spec values quick commit command
        let besideSpec = Path.Combine(Path.GetDirectoryName(Path.GetFullPath specPath), (if quick then "RESULTS-quick.md" else "RESULTS.md"))
        let missing = values |> Map.toSeq |> Seq.sumBy (fun (_, v) -> v |> Array.filter Double.IsNaN |> Array.length)
        let out =
            resultsFile besideSpec (Path.Combine(runsDir, $"{slug spec.Paper}-{Path.GetFileName besideSpec}")) (a.Contains Runs) missing (File.Exists besideSpec)
        File.WriteAllText(out, md)
        printfn "%s" md
        if out <> besideSpec && not (a.Contains Runs) then
            Say.warn $"{missing} run(s) of the table are missing in {runsDir}: {besideSpec} is kept as it was"
        Say.info $"written to {out}"
    match failures with
    | [] -> 0
    | fs ->
        for f in fs do Say.warn $"failed: {f}"
        1

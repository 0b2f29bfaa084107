/// The committed paper-repro table specs are runnable as written: every row names a registered
/// method and settings that method accepts, every baseline is a row of the same table, and rows
/// that are the same run (in one paper or across papers) share their run folder.
module Hybrid.Cli.Tests.ReproSpecTests

open System
open System.IO
open Expecto
open FsCheck
open FsCheck.FSharp
open Hybrid.Vision.Backbones
open Hybrid.Wsss.Training
open Hybrid.Wsss.Methods
open Hybrid.Cli.Commands
open Hybrid.TestSupport.Expectations

/// The repository root (the folder holding Hybrid.sln), found from the test's output folder.
let repoRoot =
    let rec up (d: DirectoryInfo) =
        if isNull d then failwith "Hybrid.sln not found above the test folder"
        elif File.Exists(Path.Combine(d.FullName, "Hybrid.sln")) then d.FullName
        else up d.Parent
    up (DirectoryInfo AppContext.BaseDirectory)

let specs () =
    Directory.GetFiles(Path.Combine(repoRoot, "paper-repro"), "table.json", SearchOption.AllDirectories) |> Array.sort

let private env = MethodEnv.onCpu (Array.init 11 (sprintf "c%d")) "tiny_resnet" 32 10

let private row m sets : ReproCmd.Row = { Name = "x"; Method = m; Sets = sets; Baseline = None; Metric = None; Steps = None; Init = None; Optimizer = None; Lr = None }

let private specOf steps (rows: ReproCmd.Row list) : ReproCmd.TableSpec =
    { Paper = "p"; Metric = "seed_miou"; Data = "d"; Steps = steps; Seeds = [ 0 ]; Backbone = None; OutputStride = None; Crop = None; BatchSize = None; Rows = rows }

[<Tests>]
let tests =
    testList "ReproSpec" [
        testCase "the committed table is replaced only by a complete table from the default run store" <| fun () ->
            let f = ReproCmd.resultsFile "spec/RESULTS.md" "runs/p-RESULTS.md"
            // (runs given, missing runs, a committed table exists) -> where the table goes
            for runsGiven, missing, exists, expected in
                [ false, 0, true, "spec/RESULTS.md"      // every run finished: the table is renewed
                  false, 0, false, "spec/RESULTS.md"
                  false, 3, false, "spec/RESULTS.md"     // nothing committed yet: a first table
                  false, 3, true, "runs/p-RESULTS.md"    // a --row/--seed subset or a fresh store
                  true, 0, true, "runs/p-RESULTS.md"     // another store's runs
                  true, 3, false, "runs/p-RESULTS.md" ] do
                Expect.equal (f runsGiven missing exists) expected $"runs given {runsGiven}, {missing} missing, committed {exists}"

        testCase "there is a table spec for each of the four papers" <| fun () ->
            let papers = specs () |> Array.map (fun p -> (ReproCmd.parse p).Paper) |> Set.ofArray
            Expect.isTrue (Set.isSubset (set [ "PLDA"; "CSD"; "CoSA"; "AuxSegNet+" ]) papers) (sprintf "%A" papers)

        testCase "every row names a registered method with settings it accepts, and baselines exist" <| fun () ->
            for path in specs () do
                let spec = ReproCmd.parse path
                Expect.isTrue (spec.Seeds.Length >= 3) ($"{path}: at least 3 seeds")
                let names = spec.Rows |> List.map (fun r -> r.Name)
                Expect.equal ((List.distinct names).Length) names.Length "(List.distinct names).Length"
                Expect.exists spec.Rows (fun r -> r.Method = "supervised") "a supervised row" // the upper bound
                for row in spec.Rows do
                    let entry = Registry.find row.Method
                    let sets = row.Sets |> List.map (fun s -> match s.Split('=', 2) with [| k; v |] -> k, v | _ -> failwith $"{path}: '{s}' is not key=value")
                    // the settings table checks every setting; a typo fails here
                    Expect.isOk (entry.Settings.Check sets) $"{path}: row '{row.Name}': its settings"
                    // and the untrained model builds from them
                    let m = entry.Build env sets
                    m.Model.Dispose()
                    row.Baseline |> Option.iter (fun b -> Expect.isTrue (List.contains b names) ($"{path}: baseline '{b}' of '{row.Name}' is not a row"))

        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 200 } "a run folder is a function of method, settings, steps, seed and the run it starts from" (
            let genSets = Gen.elements [ "a=1"; "b=2"; "loss=bce"; "kind=pairwise"; "cam-scales=0.5,1" ] |> Gen.listOf |> Gen.map List.distinct
            Prop.forAll (Arb.fromGen (Gen.zip3 (Gen.elements [ "cam"; "csd"; "auxsegnet+" ]) genSets (Gen.zip (Gen.choose (1, 5000)) (Gen.choose (0, 9))))) (fun (m, sets, (steps, seed)) ->
                let dir steps (r: ReproCmd.Row) = ReproCmd.runDir "runs" (specOf steps [ r ]) r seed
                let d = dir steps (row m sets)
                let pre = { row "cam" [] with Name = "pre"; Steps = Some(steps + 7) }
                let fromPre (preSteps: int) = let r = { row m sets with Init = Some "pre" } in ReproCmd.runDir "runs" (specOf steps [ { pre with Steps = Some preSteps }; r ]) r seed
                // the same run under another row name is the same folder; any change of the run moves it
                d = dir steps { row m sets with Name = "other" }
                && d <> dir (steps + 1) (row m sets)
                && d <> ReproCmd.runDir "runs" (specOf steps [ row m sets ]) (row m sets) (seed + 1)
                && d <> dir steps (row m (sets @ [ "extra=1" ]))
                && d <> dir steps { row m sets with Optimizer = Some "sgd" }
                && d <> dir steps { row m sets with Lr = Some 0.01 }
                && dir steps { row m sets with Optimizer = Some "sgd" } <> dir steps { row m sets with Optimizer = Some "adamw" }
                && d <> dir steps (row (m + "x") sets)
                && d = dir (steps + 3) { row m sets with Steps = Some steps } // a row's own steps win
                // starting from another run moves it, and so does any change of that run
                && d <> fromPre (steps + 7)
                && fromPre (steps + 7) <> fromPre (steps + 8)))

        testCase "an init that names no row, or comes back to itself, is refused with the row named" <| fun () ->
            let dir = Path.Combine(Path.GetTempPath(), "hybrid-spec-" + Guid.NewGuid().ToString("N"))
            Directory.CreateDirectory dir |> ignore
            try
                let write (rows: string) =
                    let p = Path.Combine(dir, "table.json")
                    File.WriteAllText(p, $"""{{"paper": "p", "rows": [{rows}]}}""")
                    p
                let e1 = throws<InvalidDataException> (fun () -> ReproCmd.parse (write """{"name": "a", "method": "cam", "init": "nope"}""") |> ignore)
                Expect.stringContains e1.Message "'nope'" "''nope''"
                let e2 = throws<InvalidDataException> (fun () -> ReproCmd.parse (write """{"name": "a", "method": "cam", "init": "b"}, {"name": "b", "method": "cam", "init": "a"}""") |> ignore)
                Expect.stringContains e2.Message "comes back" "'comes back'"
                let ok = ReproCmd.parse (write """{"name": "pre", "method": "cam", "steps": 50}, {"name": "a", "method": "plda", "init": "pre"}""")
                Expect.equal ok.Rows.Head.Steps (Some 50) "ok.Rows.Head.Steps"
                Expect.equal (ReproCmd.initDepth ok ok.Rows[1]) 1 "ReproCmd.initDepth ok ok.Rows[1]"
            finally
                Directory.Delete(dir, true)

        testCase "every table fine-tunes each row from one CAM pretraining run" <| fun () ->
            for path in specs () do
                let spec = ReproCmd.parse path
                match spec.Rows |> List.filter (fun r -> r.Init.IsNone) with
                | [ pre ] ->
                    Expect.equal pre.Method "cam" "pre.Method"
                    // scored by what a CAM run produces, whatever the table's metric
                    Expect.equal (defaultArg pre.Metric spec.Metric) "seed_miou" "defaultArg pre.Metric spec.Metric"
                    Expect.isTrue (pre.Steps |> Option.exists (fun s -> s > spec.Steps)) ($"{path}: the pretraining row trains longer than the table's rows")
                    for r in spec.Rows do
                        if r.Name <> pre.Name then Expect.equal r.Init (Some pre.Name) "r.Init"
                | other -> failwith $"{path}: expected one pretraining row (no init), found {other.Length}"

        testCase "the pretraining, CAM baseline and upper bound are the same runs in every table that has them" <| fun () ->
            let all = specs () |> Array.map ReproCmd.parse
            let dirsOf (pred: ReproCmd.Row -> bool) =
                [ for spec in all do
                    for r in spec.Rows do
                        if pred r then ReproCmd.runDir "runs" spec r 0 ]
            let pretraining (r: ReproCmd.Row) = r.Init.IsNone
            // the method's own recipe and settings (a table may add variants: another optimizer,
            // the bound with another method's head)
            let plain (r: ReproCmd.Row) = r.Sets.IsEmpty && r.Optimizer.IsNone && r.Lr.IsNone
            let baseline (r: ReproCmd.Row) = r.Method = "cam" && plain r && r.Init.IsSome
            let upper (r: ReproCmd.Row) = r.Method = "supervised" && plain r && r.Init.IsSome
            Expect.equal ((dirsOf pretraining).Length) all.Length "(dirsOf pretraining).Length"
            Expect.isTrue ((dirsOf baseline).Length >= 3) "(dirsOf baseline).Length >= 3" // PLDA, CSD and the summary table
            for pred in [ pretraining; baseline; upper ] do
                Expect.hasLength (List.distinct (dirsOf pred)) 1 "one run folder for the rows of this kind"

        testCase "a row's run is a RunSpec record: the table's data and steps, the row's method, settings and init" <| fun () ->
            let pre = { row "cam" [] with Name = "pre"; Steps = Some 50 }
            let r = { row "plda" [ "delta=0.5" ] with Init = Some "pre" }
            let spec = { specOf 10 [ pre; r ] with Backbone = Some "resnet18"; Crop = Some 64 }
            let req = ReproCmd.runRequest "runs" None false (Some "cpu") spec r 3 "out"
            Expect.equal req.Spec.Method "plda" "method"
            Expect.equal req.Spec.Data "d" "data"
            Expect.equal req.Spec.Steps 10 "steps"
            Expect.equal req.Spec.Seed 3 "seed"
            Expect.equal req.Spec.Settings [ "delta", "0.5" ] "settings"
            Expect.equal req.Spec.Backbone "resnet18" "the table's backbone"
            Expect.equal req.Spec.Crop 64 "the table's crop"
            Expect.equal req.Spec.Weights (Some(Path.Combine(ReproCmd.runDir "runs" spec pre 3, "checkpoint.safetensors"))) "weights: the init row's checkpoint"
            Expect.equal (ReproCmd.runRequest "runs" None false None spec pre 3 "out").Spec.Weights None "the pretraining row starts from scratch"
            let quick = ReproCmd.runRequest "runs" (Some "tiny") true None spec r 3 "out"
            Expect.equal (quick.Spec.Data, quick.Spec.Crop, quick.Spec.BatchSize, quick.Execution.Workers) ("tiny", 48, 4, 0) "quick mode"

        testCase "a row's optimizer and lr reach its run's spec; an unknown optimizer is refused with the row named" <| fun () ->
            let r = { row "cam" [] with Optimizer = Some "sgd"; Lr = Some 0.01 }
            let spec = specOf 10 [ r ]
            let req = ReproCmd.runRequest "runs" None false None spec r 0 "out"
            Expect.equal req.Spec.Optimizer (Some(Hybrid.Wsss.Training.Sgd(0.9, 5e-4))) "the paper's SGD"
            Expect.equal req.Spec.Lr 0.01 "the row's lr"
            let plain = ReproCmd.runRequest "runs" None false None spec (row "cam" []) 0 "out"
            Expect.equal (plain.Spec.Optimizer, plain.Spec.Lr) (None, (Hybrid.Wsss.Runs.RunSpec.defaults (Registry.find "cam")).Lr) "the recipe's without them"
            let dir = Path.Combine(Path.GetTempPath(), "hybrid-spec-" + Guid.NewGuid().ToString("N"))
            Directory.CreateDirectory dir |> ignore
            try
                let file = Path.Combine(dir, "table.json")
                File.WriteAllText(file, """{"paper": "p", "rows": [{"name": "fast", "method": "cam", "optimizer": "lion"}]}""")
                Expect.throwsC (fun () -> ReproCmd.parse file |> ignore) (fun e ->
                    Expect.stringContains e.Message "'fast'" "names the row"
                    Expect.stringContains e.Message "sgd, adamw" "names the known optimizers")
            finally
                Directory.Delete(dir, true)

        testCase "a run stopped after a checkpoint is resumed, a fresh one is not" <| fun () ->
            let dir = Path.Combine(Path.GetTempPath(), "hybrid-repro-resume-" + Guid.NewGuid().ToString("N"))
            Directory.CreateDirectory dir |> ignore
            try
                let r = row "plda" [ "delta=0.5" ]
                let spec = specOf 10 [ r ]
                let mode () = (ReproCmd.runRequest "runs" None false None spec r 3 dir).Mode
                Expect.equal (mode ()) Hybrid.Wsss.Runs.FolderMode.Fresh "a fresh run is not resumed"
                // a stage's checkpoint (CSD's stage 1, CoSA-MS, an AuxSegNet+ phase) or AuxSegNet+'s journal
                let stage = Directory.CreateDirectory(Path.Combine(dir, "stage1")).FullName
                File.WriteAllText(Path.Combine(stage, "checkpoint.safetensors"), "")
                Expect.equal (mode ()) Hybrid.Wsss.Runs.FolderMode.Resume "a stage checkpoint"
                File.Delete(Path.Combine(stage, "checkpoint.safetensors"))
                File.WriteAllText(Path.Combine(dir, "journal.json"), "{}")
                Expect.equal (mode ()) Hybrid.Wsss.Runs.FolderMode.Resume "the journal"
                File.Delete(Path.Combine(dir, "journal.json"))
                Expect.equal (mode ()) Hybrid.Wsss.Runs.FolderMode.Fresh "nothing"
                File.WriteAllText(Path.Combine(dir, "checkpoint.safetensors"), "")
                Expect.equal (mode ()) Hybrid.Wsss.Runs.FolderMode.Resume "a checkpoint"
            finally
                Directory.Delete(dir, true)
    ]

/// Runs as typed values and no lost work (issue 21, points 1, 3 and 5): the findings of the
/// issue replayed as commands. Every bad argument is refused before anything is written, with
/// one exit code per class of error; a folder holding a run is never overwritten without
/// --overwrite; --resume needs only --out and reads run.json.
module Hybrid.Cli.Tests.RunLifecycleTests

open System
open System.IO
open Expecto
open Argu
open Hybrid.Data
open Hybrid.Wsss.Runs
open Hybrid.Cli
open Hybrid.TestSupport.Expectations

let private temp = TempDirs.create "life"

/// `hybrid ARGV` as the process runs it: the exit code and the error message (if any).
let cli (argv: string[]) : int * string =
    let parser = ArgumentParser.Create<Program.CliArgs>(programName = "hybrid")
    let messages = Collections.Generic.List<string>()
    try
        let code = Program.dispatchWith messages.Add (parser.ParseCommandLine argv)
        code, String.concat "\n" messages
    with :? ArguParseException as e -> ExitCodes.badArguments, e.Message

/// A tiny dataset and a finished supervised run on it (4 steps, batch 2).
let private fixture =
    lazy
        (let root = temp "fixture"
         let data = Path.Combine(root, "data")
         FmnistScenes.Generate(FmnistScenesOptions(data, Train = 6, Val = 4, Size = 32, Seed = 5L)) |> ignore
         let run = Path.Combine(root, "run")
         let rc, msg = cli [| "train"; "--method"; "supervised"; "--data"; data; "--steps"; "4"; "--batch-size"; "2"; "--crop"; "32"; "--workers"; "1"; "--out"; run; "--checkpoint-every"; "2" |]
         if rc <> 0 then failwith $"the fixture run failed (exit {rc}): {msg}"
         data, run)

/// Every file under a folder with its bytes (to show that nothing changed).
let private contents (dir: string) =
    if not (Directory.Exists dir) then [||]
    else Directory.GetFiles(dir, "*", SearchOption.AllDirectories) |> Array.sort |> Array.map (fun f -> Path.GetRelativePath(dir, f), File.ReadAllBytes f)

let private copyRun () =
    let _, run = fixture.Force()
    let dst = temp "run"
    for f in Directory.GetFiles(run, "*", SearchOption.AllDirectories) do
        let target = Path.Combine(dst, Path.GetRelativePath(run, f))
        Directory.CreateDirectory(Path.GetDirectoryName target) |> ignore
        File.Copy(f, target)
    dst

/// Runs f on a path for a new --out folder (not created; removed afterwards if it was).
let private withOut (name: string) (f: string -> unit) =
    let out = temp name
    Directory.Delete out
    try f out
    finally if Directory.Exists out then Directory.Delete(out, true)

let private trainArgs (data: string) (out: string) (extra: string list) =
    Array.ofList ([ "train"; "--method"; "supervised"; "--data"; data; "--steps"; "2"; "--batch-size"; "2"; "--crop"; "32"; "--workers"; "1"; "--out"; out ] @ extra)

[<Tests>]
let tests =
    testSequenced <| testList "RunLifecycle" [
        testCase "finding 1: a failed train leaves a finished run as it was, and eval still reads it" <| fun () ->
            let data, _ = fixture.Force()
            let run = copyRun ()
            try
                let before = contents run
                for extra, expected in [ [ "--set"; "bogus=1" ], "bogus"; [ "--steps"; "0" ], "--steps 0" ] do
                    let rc, msg = cli (trainArgs data run extra)
                    Expect.equal rc ExitCodes.badArguments $"{extra}: exit code"
                    Expect.stringContains msg expected $"{extra}: the message names the problem"
                    Expect.equal (contents run) before $"{extra}: the run folder is unchanged"
                let rc, msg = cli [| "eval"; "seg"; "--run"; run |]
                Expect.equal rc 0 $"eval on the run after the failed trains: {msg}"
            finally
                Directory.Delete(run, true)

        testCase "finding 1: a successful train never overwrites a finished run without --overwrite" <| fun () ->
            let data, _ = fixture.Force()
            let run = copyRun ()
            try
                let before = contents run
                let rc, msg = cli (trainArgs data run [])
                Expect.equal rc ExitCodes.runFolderConflict "exit code"
                Expect.stringContains msg "--overwrite" "the message says how to replace it"
                Expect.equal (contents run) before "unchanged"
                let rc, msg = cli (trainArgs data run [ "--overwrite"; "--seed"; "7" ])
                Expect.equal rc 0 $"--overwrite trains: {msg}"
                let spec, _ = RunSpec.load run
                Expect.equal spec.Seed 7 "the new run's run.json"
                Expect.equal spec.Steps 2 "the new run's steps"
            finally
                Directory.Delete(run, true)

        testCase "finding 2: --resume needs only --out and continues the run run.json describes" <| fun () ->
            let data, _ = fixture.Force()
            let run = copyRun ()
            try
                // a run stopped after its checkpoint: no results yet
                for f in [ "results.json"; "report.md" ] do File.Delete(Path.Combine(run, f))
                let spec, exec = RunSpec.load run
                let rc, msg = cli [| "train"; "--out"; run; "--resume" |]
                Expect.equal rc 0 $"resume: {msg}"
                Expect.isTrue (File.Exists(Path.Combine(run, "results.json"))) "the resumed run finished and was evaluated"
                let after, afterExec = RunSpec.load run
                Expect.equal after spec "run.json still describes the same run (data, steps, batch)"
                Expect.equal afterExec.CheckpointEvery exec.CheckpointEvery "and its execution"
                Expect.equal after.Data data "the run's data, not the default folder"
            finally
                Directory.Delete(run, true)

        testCase "finding 2: arguments given beside --resume must agree with run.json; the difference is named" <| fun () ->
            let run = copyRun ()
            try
                File.Delete(Path.Combine(run, "results.json"))
                let before = contents run
                let rc, msg = cli [| "train"; "--out"; run; "--resume"; "--steps"; "8"; "--set"; "head=cosa" |]
                Expect.equal rc ExitCodes.badArguments "exit code"
                Expect.stringContains msg "--steps 8 (run.json: 4)" "names the steps"
                Expect.stringContains msg "head=cosa (run.json: deeplab_v1)" "names the setting"
                Expect.equal (contents run) before "unchanged"
                // the same values as run.json are fine (here: the device, which may differ anyway)
                let rc, _ = cli [| "train"; "--out"; run; "--resume"; "--steps"; "4"; "--device"; "cpu" |]
                Expect.equal rc 0 "agreeing arguments"
            finally
                Directory.Delete(run, true)

        testCase "finding 2: --resume on a folder without a checkpoint is refused, not trained from scratch" <| fun () ->
            let data, _ = fixture.Force()
            let empty = temp "empty"
            let started = temp "started"
            try
                let rc, msg = cli [| "train"; "--out"; empty; "--resume" |]
                Expect.equal rc ExitCodes.runFolderConflict "no run.json"
                Expect.stringContains msg "nothing to resume" "says so"
                File.Copy(Path.Combine(snd (fixture.Force()), "run.json"), Path.Combine(started, "run.json"))
                let rc, msg = cli [| "train"; "--out"; started; "--resume" |]
                Expect.equal rc ExitCodes.runFolderConflict "run.json but no checkpoint"
                Expect.stringContains msg "no checkpoint" "says so"
                Expect.isFalse (File.Exists(Path.Combine(started, "checkpoint.safetensors"))) "nothing trained"
                ignore data
            finally
                Directory.Delete(empty, true)
                Directory.Delete(started, true)

        testCase "finding 5: every bad argument is refused before anything is written, with exit code 2" <| fun () ->
            let data, _ = fixture.Force()
            let root = temp "bad"
            try
                let aFile = Path.Combine(root, "a-file")
                File.WriteAllText(aFile, "x")
                let broken = Path.Combine(root, "broken.json")
                File.WriteAllText(broken, "{\n  \"gc\": true,\n  \"sa\": \n}")
                let cases =
                    [ [ "--checkpoint-every"; "0" ], "--checkpoint-every 0"
                      [ "--eval-every"; "0" ], "--eval-every 0"
                      [ "--lr"; "NaN" ], "--lr NaN"
                      [ "--lr"; "-0.1" ], "--lr -0.1"
                      [ "--lr"; "Infinity" ], "--lr"
                      [ "--batch-size"; "0" ], "--batch-size 0"
                      [ "--steps"; "-3" ], "--steps -3"
                      [ "--crop"; "0" ], "--crop 0"
                      [ "--workers"; "-1" ], "--workers -1"
                      [ "--output-stride"; "5" ], "--output-stride 5"
                      [ "--set"; "head" ], "key=value"
                      [ "--set"; "new_layer_lr=-1" ], "new_layer_lr"
                      [ "--config"; broken ], "broken.json"
                      [ "--config"; broken ], "line 4"
                      [ "--config"; Path.Combine(root, "missing.json") ], "missing.json"
                      [ "--weights"; Path.Combine(root, "missing.pth") ], "missing.pth"
                      [ "--backbone"; "nope" ], "--backbone nope" ]
                for extra, expected in cases do
                    let out = Path.Combine(root, "run")
                    let rc, msg = cli (trainArgs data out extra)
                    Expect.equal rc ExitCodes.badArguments $"{extra}: exit code ({msg})"
                    Expect.stringContains msg expected $"{extra}: the message"
                    Expect.isFalse (Directory.Exists out) $"{extra}: nothing written"
                let rc, msg = cli (trainArgs data aFile [])
                Expect.equal rc ExitCodes.badArguments "--out a file"
                Expect.stringContains msg "is a file" "says so"
                Expect.equal (File.ReadAllText aFile) "x" "the file is untouched"
                let rc, msg = cli (trainArgs (Path.Combine(root, "no-data")) (Path.Combine(root, "run")) [])
                Expect.equal rc ExitCodes.badArguments $"a missing dataset folder is a bad --data ({msg})"
                Expect.stringContains msg "no-data" "names it"
                let rc, msg = cli [| "train"; "--method"; "nope"; "--out"; Path.Combine(root, "run") |]
                Expect.equal rc ExitCodes.badArguments "unknown method"
                Expect.stringContains msg "cosa" "lists the methods"
            finally
                Directory.Delete(root, true)

        testCase "finding 5: an image that does not decode is found before training, named, exit code 3" <| fun () ->
            let root = temp "corrupt"
            try
                let data = Path.Combine(root, "data")
                FmnistScenes.Generate(FmnistScenesOptions(data, Train = 6, Val = 4, Size = 32, Seed = 6L)) |> ignore
                let ds = Hybrid.Wsss.Data.DataSource.openSplit data VocSplit.Val None
                let victim = ds[1].ImagePath
                let bytes = File.ReadAllBytes victim
                File.WriteAllBytes(victim, bytes[.. bytes.Length / 3])
                let out = Path.Combine(root, "run")
                let rc, msg = cli (trainArgs data out [])
                Expect.equal rc ExitCodes.badData $"exit code ({msg})"
                Expect.stringContains msg (Path.GetFileName victim) "names the file"
                Expect.stringContains msg "val" "names the split"
                Expect.isFalse (Directory.Exists out) "nothing written, nothing trained"
            finally
                Directory.Delete(root, true)

        testCase "a folder with other files is never written into" <| fun () ->
            let data, _ = fixture.Force()
            let dir = temp "other"
            try
                File.WriteAllText(Path.Combine(dir, "notes.txt"), "mine")
                let rc, msg = cli (trainArgs data dir [ "--overwrite" ])
                Expect.equal rc ExitCodes.runFolderConflict $"exit code ({msg})"
                Expect.equal (contents dir |> Array.map fst) [| "notes.txt" |] "only the user's file"
            finally
                Directory.Delete(dir, true)

        testCase "run.json is the RunSpec as versioned JSON; a run of an earlier version is still read" <| fun () ->
            let _, run = fixture.Force()
            let text = File.ReadAllText(RunSpec.path run)
            use doc = Text.Json.JsonDocument.Parse text
            Expect.equal (doc.RootElement.GetProperty("format").GetString()) RunSpec.format "the format tag"
            Expect.equal (doc.RootElement.GetProperty("resolved_settings").GetProperty("head").GetString()) "deeplab_v1" "every resolved setting, typed"
            let legacy = temp "legacy"
            try
                File.WriteAllText(RunSpec.path legacy, """{"Method": "cosa", "Data": "d", "Backbone": "tiny_resnet", "OutputStride": 8, "Weights": "", "Steps": 400, "BatchSize": 16, "Crop": 96, "Lr": 0.001, "Seed": 2, "Sets": ["gc=false", "w-c2s=0.2"], "Resolved": "{...}", "MaskFolder": ""}""")
                let spec, _ = RunSpec.load legacy
                Expect.equal (spec.Method, spec.Steps, spec.Seed, spec.Weights, spec.Labels) ("cosa", 400, 2, None, None) "fields"
                Expect.equal spec.Settings [ "gc", "false"; "w-c2s", "0.2" ] "settings"
            finally
                Directory.Delete(legacy, true)

        testCase "--backbone resnet18_imagenet starts from ImageNet unless --weights says otherwise" <| fun () ->
            let parser = ArgumentParser.Create<Commands.TrainCmd.Args>(programName = "hybrid train")
            let weights argv = let spec, _, _, _ = Commands.TrainCmd.request (parser.ParseCommandLine argv) in spec.Weights
            Expect.equal (weights [| "--method"; "cam"; "--backbone"; "resnet18_imagenet" |]) (Some "imagenet") "the default"
            Expect.equal (weights [| "--method"; "cam"; "--backbone"; "resnet18_imagenet"; "--weights"; "none" |]) None "--weights none"
            Expect.equal (weights [| "--method"; "cam" |]) None "tiny_resnet: random init"
            Expect.equal (weights [| "--method"; "cam"; "--weights"; "w.pth" |]) (Some "w.pth") "a file"

        testCase "train --spec trains the run a run.json describes" <| fun () ->
            let _, run = fixture.Force()
            withOut "from-spec" (fun out ->
                let rc, msg = cli [| "train"; "--spec"; RunSpec.path run; "--out"; out; "--seed"; "3" |]
                Expect.equal rc 0 msg
                let a, _ = RunSpec.load run
                let b, _ = RunSpec.load out
                Expect.equal b { a with Seed = 3 } "the same spec, the seed given beside it")

        testCase "training scores the segmentation with the dense CRF too; eval seg --crf records it in an older run's results.json" <| fun () ->
            let _, _ = fixture.Force()
            let run = copyRun ()
            try
                let results = Path.Combine(run, "results.json")
                let read () = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText results).AsObject()
                let trained = read ()
                Expect.isTrue (trained.ContainsKey "seg_crf_miou") "training wrote seg_crf_miou"
                let crf = trained.["seg_crf_miou"].GetValue<float>()
                let seg = trained.["seg_miou"].GetValue<float>()
                // a run evaluated before the CRF score existed
                trained.Remove "seg_crf_miou" |> ignore
                File.WriteAllText(results, trained.ToJsonString())
                let rc, msg = cli [| "eval"; "seg"; "--run"; run; "--crf" |]
                Expect.equal rc 0 msg
                let back = read ()
                Expect.floatClose Accuracy.veryHigh (back.["seg_crf_miou"].GetValue<float>()) crf "the same score as training's report"
                Expect.floatClose Accuracy.veryHigh (back.["seg_miou"].GetValue<float>()) seg "the other numbers kept"
            finally
                Directory.Delete(run, true)

        testCase "--frozen-bn reaches the backbone and run.json" <| fun () ->
            let data, _ = fixture.Force()
            withOut "frozen" (fun out ->
                let rc, msg = cli (trainArgs data out [ "--frozen-bn" ])
                Expect.equal rc 0 msg
                let spec, _ = RunSpec.load out
                Expect.isTrue spec.FrozenBatchNorm "run.json"
                let _, m, _ = RunDriver.restore TorchSharp.torch.CPU out
                try
                    let norms = m.Model.modules () |> Seq.map (fun x -> x.GetType().Name) |> Set.ofSeq
                    Expect.contains norms "FrozenBatchNorm2d" "the backbone's norms are frozen"
                    Expect.isFalse (norms.Contains "BatchNorm2d") "no trainable BatchNorm2d left"
                finally
                    m.Model.Dispose())

        testCase "--optimizer and --weight-decay reach run.json and the optimizer that trains" <| fun () ->
            let data, _ = fixture.Force()
            let stateBytes (run: string) =
                let struct (tensors, _) = Hybrid.Torch.Serialization.Safetensors.Load(Path.Combine(run, "checkpoint.safetensors"))
                try tensors.["optim.state"].numel ()
                finally for t in tensors.Values do t.Dispose()
            withOut "sgd" (fun sgd ->
                withOut "adamw" (fun adamw ->
                    let rc, msg = cli (trainArgs data sgd [ "--optimizer"; "sgd"; "--weight-decay"; "0.001" ])
                    Expect.equal rc 0 msg
                    let spec, _ = RunSpec.load sgd
                    Expect.equal spec.Optimizer (Some(Hybrid.Wsss.Training.Sgd(0.9, 0.001))) "run.json"
                    let rc, msg = cli (trainArgs data adamw [])
                    Expect.equal rc 0 msg
                    Expect.equal (fst (RunSpec.load adamw)).Optimizer None "the recipe's when not given"
                    // SGD keeps one momentum buffer per parameter, AdamW two moments
                    let s, a = stateBytes sgd, stateBytes adamw
                    Expect.isLessThan (float s) (0.75 * float a) $"SGD's state ({s} bytes) is about half AdamW's ({a})"))
            withOut "bad-optimizer" (fun out ->
                let rc, msg = cli (trainArgs data out [ "--optimizer"; "lion" ])
                Expect.equal rc ExitCodes.badArguments "exit code"
                Expect.stringContains msg "sgd, adamw" "names the known optimizers")

        testCase "weights export writes the run's backbone alone, which train --weights starts from" <| fun () ->
            let data, run = fixture.Force()
            let dir = temp "export"
            try
                let file = Path.Combine(dir, "backbone.safetensors")
                let rc, msg = cli [| "weights"; "export"; "--run"; run; "--out"; file |]
                Expect.equal rc 0 msg
                let struct (tensors, metadata) = Hybrid.Torch.Serialization.Safetensors.Load file
                try
                    use backbone = Hybrid.Vision.Backbones.BackboneRegistry.Create("tiny_resnet")
                    let own = backbone.state_dict ()
                    Expect.equal (Set.ofSeq tensors.Keys) (Set.ofSeq own.Keys) "exactly the backbone's tensors, unprefixed"
                    Expect.equal metadata["format"] BackboneExport.format "format tag"
                    let spec, _ = RunSpec.ofJson "metadata" metadata["run"]
                    Expect.equal spec (fst (RunSpec.load run)) "the run's spec is the provenance"
                    Expect.isTrue (metadata.ContainsKey "results") "a finished run's scores travel with it"
                    // the exported tensors are the trained ones, not a fresh backbone's
                    let struct (ck, _) = Hybrid.Torch.Serialization.Safetensors.Load(Path.Combine(run, "checkpoint.safetensors"))
                    try
                        let key = "model.backbone." + (Seq.head (Seq.sort tensors.Keys))
                        Expect.isTrue (tensors[Seq.head (Seq.sort tensors.Keys)].allclose(ck[key], 0.0, 0.0)) $"{key} equals the checkpoint's"
                    finally
                        for t in ck.Values do t.Dispose()
                finally
                    for t in tensors.Values do t.Dispose()
                let out = Path.Combine(dir, "from-export")
                let rc, msg = cli (trainArgs data out [ "--weights"; file ])
                Expect.equal rc 0 $"train --weights <exported>: {msg}"
                let rc, msg = cli [| "weights"; "export"; "--run"; dir; "--out"; Path.Combine(dir, "x.safetensors") |]
                Expect.equal rc ExitCodes.runFolderConflict "a folder without run.json"
                Expect.stringContains msg "run.json" "the message says what is missing"
            finally
                Directory.Delete(dir, true)
    ]

/// A run folder loses nothing to a kill (issue 21): temp files that killed checkpoint writes left
/// are removed at the next start (a live writer's are kept), and metrics.jsonl after a resume
/// equals the uninterrupted run's (no replayed step twice, no line cut by the kill).
module Hybrid.Wsss.Tests.NoLostWorkTests

open System
open System.Diagnostics
open System.IO
open Expecto
open TorchSharp
open Hybrid.Wsss
open Hybrid.Wsss.Training
open Hybrid.Wsss.Methods.Cam

/// A process that ran and ended: its pid belongs to no running process (for a while).
let private deadPid () =
    use p = Process.Start(ProcessStartInfo("true", UseShellExecute = false))
    p.WaitForExit()
    p.Id

exception private Killed

[<Tests>]
let tests =
    testList "NoLostWork" [
        testCase "stale temp files of dead writers are removed at the start of a run, a live writer's are kept" <| fun () ->
            let dir = Path.Combine(Path.GetTempPath(), $"hybrid-stale-{Guid.NewGuid():N}")
            Directory.CreateDirectory dir |> ignore
            use live = Process.Start(ProcessStartInfo("sleep", "60", UseShellExecute = false))
            try
                let dead = deadPid ()
                let stale = Path.Combine(dir, $".checkpoint.safetensors.{dead}.tmp")
                let staleSpec = Path.Combine(dir, $".run.json.{dead}.tmp")
                let busy = Path.Combine(dir, $".checkpoint.safetensors.{live.Id}.tmp")
                let unrelated = Path.Combine(dir, "notes.tmp")
                for f in [ stale; staleSpec; busy; unrelated ] do File.WriteAllBytes(f, Array.zeroCreate 16)
                torch.manual_seed 11L |> ignore
                let m = CamBaseline.create (TinyScenes.env 1) CamBaseline.defaults
                Train.run { TinyScenes.config 1 with OutDir = Some dir } m (TinyScenes.batches false) ignore None |> ignore
                m.Model.Dispose()
                Expect.isFalse (File.Exists stale) "the dead writer's checkpoint temp file is removed"
                Expect.isFalse (File.Exists staleSpec) "the dead writer's run.json temp file is removed"
                Expect.isTrue (File.Exists busy) "a running writer's temp file is kept"
                Expect.isTrue (File.Exists unrelated) "a file that is no temp file of a write is kept"
                Expect.isTrue (File.Exists(Train.checkpointPath dir)) "the run wrote its checkpoint"
            finally
                live.Kill()
                Directory.Delete(dir, true)

        testCase "metrics.jsonl after a kill and a resume equals the uninterrupted run's" <| fun () ->
            let steps = 6
            let evaluate = Some(fun (step: int) -> [ "probe", float step / 10.0 ])
            let cfg dir = { TinyScenes.config steps with OutDir = Some dir; CheckpointEvery = Some 3; EvalEvery = Some 2 }
            let metrics dir = File.ReadAllLines(Path.Combine(dir, "metrics.jsonl"))
            let straightDir = Path.Combine(Path.GetTempPath(), $"hybrid-metrics-straight-{Guid.NewGuid():N}")
            let splitDir = Path.Combine(Path.GetTempPath(), $"hybrid-metrics-split-{Guid.NewGuid():N}")
            try
                torch.manual_seed 11L |> ignore
                let straight = CamBaseline.create (TinyScenes.env steps) CamBaseline.defaults
                Train.run (cfg straightDir) straight (TinyScenes.batches false) ignore evaluate |> ignore
                straight.Model.Dispose()
                // killed during step 4 (0-based), after the checkpoint at step 3: metrics hold
                // steps 0..3 and the evaluations at 2 and 4, and the kill cut a line in half
                torch.manual_seed 11L |> ignore
                let first = CamBaseline.create (TinyScenes.env steps) CamBaseline.defaults
                let dies = { first with AfterStep = fun ctx -> (if ctx.Step = 4 then raise Killed) }
                Expect.throwsT<Killed> (fun () -> Train.run (cfg splitDir) dies (TinyScenes.batches false) ignore evaluate |> ignore) "the run is killed"
                first.Model.Dispose()
                File.AppendAllText(Path.Combine(splitDir, "metrics.jsonl"), "{\"step\":4,\"lr\":0.0")
                let beforeResume = metrics splitDir
                Expect.isTrue (beforeResume |> Array.exists (fun l -> l.StartsWith "{\"step\":3,")) "the killed run logged step 3, which the resume replays"
                torch.manual_seed 11L |> ignore
                let resumed = CamBaseline.create (TinyScenes.env steps) CamBaseline.defaults
                Train.run { cfg splitDir with Resume = true } resumed (TinyScenes.batches false) ignore evaluate |> ignore
                resumed.Model.Dispose()
                let a, b = metrics straightDir, metrics splitDir
                Expect.equal b a "the resumed run's metrics.jsonl equals the uninterrupted run's"
                let stepsOf (lines: string[]) = lines |> Array.map (fun l -> Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt32())
                Expect.equal (stepsOf b) [| 0; 1; 2; 2; 3; 4; 4; 5 |] "each step's loss once, the evaluations at steps 2 and 4 after their step, in order"
            finally
                for d in [ straightDir; splitDir ] do if Directory.Exists d then Directory.Delete(d, true)
    ]

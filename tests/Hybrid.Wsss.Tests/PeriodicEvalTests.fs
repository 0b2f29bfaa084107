/// `--eval-every` on a single-stage method: the loop scores val every N steps and writes the
/// metrics beside the losses.
module Hybrid.Wsss.Tests.PeriodicEvalTests

open System
open System.IO
open System.Text.Json
open Expecto
open TorchSharp
open Hybrid.Wsss
open Hybrid.Wsss.Training
open Hybrid.Wsss.Data
open Hybrid.Wsss.Methods
open Hybrid.TestSupport.Expectations

[<Tests>]
let tests =
    testList "PeriodicEval" [
        testCase "a single-stage method evaluates on val every N steps and logs the metrics" <| fun () ->
            let out = Path.Combine(Path.GetTempPath(), "hybrid-periodic-eval-" + Guid.NewGuid().ToString("N"))
            let logged = ResizeArray<string>()
            try
                torch.manual_seed 3L |> ignore
                let ctx: RunContext =
                    { Env = TinyScenes.env 5
                      Config = { TinyScenes.config 5 with OutDir = Some out; EvalEvery = Some 2 }
                      Batches = TinyScenes.batches false
                      BatchesOf = fun _ _ -> Seq.empty
                      ValBatches = fun () -> DataSource.evalBatches torch.CPU (TinyScenes.valSet ()) 4
                      OnProgress = ignore
                      Log = logged.Add }
                let m = Registry.cam.Train ctx []
                m.Model.Dispose()
                let evals =
                    File.ReadAllLines(Path.Combine(out, "metrics.jsonl"))
                    |> Array.map (fun l -> JsonDocument.Parse(l).RootElement)
                    |> Array.filter (fun e -> e.TryGetProperty("eval/seed_miou") |> fst)
                // steps 2 and 4; never the last step (the run's report evaluates it with the full protocol)
                Expect.equal (evals |> Array.map (fun e -> e.GetProperty("step").GetInt32())) [| 2; 4 |] "evals |> Array.map (fun e -> e.GetProperty('step').GetInt32())"
                for e in evals do
                    let v = e.GetProperty("eval/seed_miou").GetDouble()
                    inRange v 0.0 1.0 "v"
                    inRange (e.GetProperty("eval/seed_threshold").GetDouble()) 0.05 0.95 "e.GetProperty('eval/seed_threshold').GetDouble()"
                Expect.equal (logged |> Seq.filter (fun l -> l.Contains "val (single scale): seed_miou") |> Seq.length) 2 "logged |> Seq.filter (fun l -> l.Contains 'val (single scale): seed_miou') |> Seq.length"
            finally
                if Directory.Exists out then Directory.Delete(out, true)
    ]

/// AuxSegNet+'s `--resume`: a run stopped inside a label stage continues from the phases it
/// had finished (their end weights and labels read back) and ends as the uninterrupted run.
/// Each phase reseeds the process-wide generator (the suite runs its tests one at a time).
module Hybrid.Wsss.Tests.AuxSegNetResumeTests

open System
open System.IO
open System.Text.Json
open System.Threading
open Expecto
open Hybrid.Wsss.Tests.SingleThread
open TorchSharp
open Hybrid.Wsss
open Hybrid.Wsss.Schedules
open Hybrid.Wsss.Training
open Hybrid.Wsss.Data
open Hybrid.Wsss.Methods.AuxSegNetPlus
open Hybrid.Wsss.Tests.CsdFixture

let private sets = AuxSegNetKit.entrySets

let private context (out: string) (resume: bool) cancel log onProgress = AuxSegNetKit.entryContext (Some out) resume cancel log onProgress

let private tempDir () = Path.Combine(Path.GetTempPath(), "hybrid-auxsegnet-resume-" + Guid.NewGuid().ToString("N"))

/// The labels' quality and the epoch metrics of a run's stages.json, as text.
let private stagesOf (out: string) =
    use doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(out, "stages.json")))
    doc.RootElement.GetProperty("labels").GetRawText(), doc.RootElement.GetProperty("epoch_metrics").GetRawText()

[<Tests>]
let tests =
    testList "AuxSegNetResume" [
        testCase "a stopped AuxSegNet+ run resumed ends as the uninterrupted one" <| fun () ->
            singleThreaded (fun () ->
                let straightDir, stoppedDir = tempDir (), tempDir ()
                try
                    // the networks' initialisation draws from the generator: seeded alike, as `hybrid train --seed`
                    torch.manual_seed 7L |> ignore
                    let straight = AuxSegNetPlusEntry.train (context straightDir false CancellationToken.None ignore ignore) sets
                    // stopped in stage-0: the classification phase's 4 steps, then 1 of stage-0's
                    use cts = new CancellationTokenSource()
                    let steps = ref 0
                    let onProgress (_: Progress) =
                        steps.Value <- steps.Value + 1
                        if steps.Value = 5 then cts.Cancel()
                    torch.manual_seed 7L |> ignore
                    let stopped = AuxSegNetPlusEntry.train (context stoppedDir false cts.Token ignore onProgress) sets
                    stopped.Model.Dispose()
                    Expect.isFalse (File.Exists(Train.checkpointPath stoppedDir)) "the stopped run must not have finished"
                    let classificationLog = Path.Combine(stoppedDir, "classification", "metrics.jsonl")
                    let classificationWritten = File.GetLastWriteTimeUtc classificationLog
                    let lines = Collections.Generic.List<string>()
                    torch.manual_seed 7L |> ignore
                    let resumed = AuxSegNetPlusEntry.train (context stoppedDir true CancellationToken.None lines.Add ignore) sets
                    Expect.exists lines (fun l -> l.Contains "phases already finished: classification") "a log line says 'phases already finished: classification'"
                    Expect.exists lines (fun l -> l.Contains "stage-0 labels read back") "a log line says 'stage-0 labels read back'"
                    Expect.equal (File.GetLastWriteTimeUtc classificationLog) classificationWritten "File.GetLastWriteTimeUtc classificationLog" // not trained again
                    let a = straight.Model.state_dict ()
                    let b = resumed.Model.state_dict ()
                    for KeyValue(k, t) in a do
                        Expect.isTrue (t.allclose(b[k], 1e-5, 1e-6)) ($"{k} differs after resume")
                    Expect.equal (stagesOf stoppedDir) (stagesOf straightDir) "stagesOf stoppedDir"
                    straight.Model.Dispose()
                    resumed.Model.Dispose()
                finally
                    for d in [ straightDir; stoppedDir ] do
                        if Directory.Exists d then Directory.Delete(d, true))

        testCase "labels read back from their folders are the labels written" <| fun () ->
            let out = tempDir ()
            try
                let ds = trainSet ()
                let ids = [ for s in ds.Samples -> s.Id ] |> List.truncate 3
                let rng = Random(4)
                let labels =
                    LabelSet.create 1 [ for id in ids ->
                                            id,
                                            { Height = 5
                                              Width = 7
                                              Segmentation = Array.init 35 (fun _ -> [| 0uy; 1uy; 3uy; 255uy |].[rng.Next 4])
                                              Saliency = Array.init 35 (fun _ -> byte (rng.Next 256)) } ]
                LabelFolders.write out labels
                let back = LabelFolders.read out 1 ds.NumClasses ids
                Expect.equal back.Stage 1 "back.Stage"
                for id in ids do
                    let x, y = LabelSet.find labels id, LabelSet.find back id
                    Expect.equal (y.Height, y.Width) (x.Height, x.Width) "(y.Height, y.Width)"
                    Expect.equal y.Segmentation x.Segmentation "y.Segmentation"
                    Expect.equal y.Saliency x.Saliency "y.Saliency"
            finally
                if Directory.Exists out then Directory.Delete(out, true)
    ]

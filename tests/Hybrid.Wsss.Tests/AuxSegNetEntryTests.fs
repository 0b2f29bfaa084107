/// AuxSegNet+ as a registered method on the tiny FMNIST-Scenes set: the whole stage-wise run
/// through a run context (labels written and read back through the loader, stage report,
/// final checkpoint that a rebuilt model restores), cancellation, and the entry's settings.
module Hybrid.Wsss.Tests.AuxSegNetEntryTests

open System
open System.IO
open System.Text.Json
open System.Threading
open Expecto
open Hybrid.Wsss.Tests.SingleThread
open TorchSharp
open Hybrid.Torch.Serialization
open Hybrid.Wsss
open Hybrid.Wsss.Schedules
open Hybrid.Wsss.Training
open Hybrid.Wsss.Data
open Hybrid.Wsss.Methods.AuxSegNetPlus
open Hybrid.Wsss.Tests.CsdFixture
open Hybrid.Wsss.Tests.AuxSegNetKit
open Hybrid.TestSupport.Expectations

let private tinySets = entrySets

let private context (out: string option) (cancel: CancellationToken) (log: string -> unit) : RunContext =
    entryContext out false cancel log ignore

let private tempDir () = Path.Combine(Path.GetTempPath(), "hybrid-auxsegnet-entry-" + Guid.NewGuid().ToString("N"))

[<Tests>]
let tests =
    testList "AuxSegNetEntry" [
        testCase "the stage-wise run writes every stage's labels, its report and a checkpoint the rebuilt model restores" <| fun () ->
            singleThreaded (fun () ->
                let out = tempDir ()
                try
                    let lines = Collections.Generic.List<string>()
                    let ctx = context (Some out) CancellationToken.None lines.Add
                    let sets = tinySets @ [ "stop-metric", "val-miou" ]
                    let m = AuxSegNetPlusEntry.train ctx sets
                    Expect.contains (Hybrid.Wsss.Methods.Registry.auxSegNetPlus.Settings.Resolve sets) ("stop-metric", "val-miou") "the resolved settings hold stop-metric=val-miou"
                    let n = (trainSet ()).Count
                    // stage 0 from the classification phase, one set after each of the 2 stages
                    for k in 0 .. 2 do
                        let dir = Path.Combine(out, "labels", $"stage-{k}")
                        Expect.equal (Directory.GetFiles(LabelFolders.masksFolder dir, "*.png").Length) n "Directory.GetFiles(LabelFolders.masksFolder dir, '*.png').Length"
                        Expect.equal (Directory.GetFiles(LabelFolders.saliencyFolder dir, "*.png").Length) n "Directory.GetFiles(LabelFolders.saliencyFolder dir, '*.png').Length"
                    Expect.exists lines (fun l -> l.Contains $"stage-0 labels of {n} images" && l.Contains "mIoU" && l.Contains "precision" && l.Contains "recall") "a log line reports the stage-0 labels' mIoU, precision and recall"
                    use doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(out, "stages.json")))
                    let phases = [ for p in doc.RootElement.GetProperty("phases").EnumerateArray() -> p.GetProperty("phase").GetString() ]
                    Expect.equal phases [ "classification"; "stage-0"; "stage-1" ] "phases"
                    for l in doc.RootElement.GetProperty("labels").EnumerateArray() do
                        for key in [ "train_miou"; "train_precision"; "train_recall" ] do
                            inRange (l.GetProperty(key).GetDouble()) 0.0 1.0 "l.GetProperty(key).GetDouble()"
                    for p in doc.RootElement.GetProperty("phases").EnumerateArray() |> Seq.skip 1 do
                        let best = p.GetProperty("best_metric").GetDouble()
                        inRange best 0.0 1.0 "best" // a validation mIoU
                    Expect.isTrue (File.Exists(Path.Combine(out, "classification", "checkpoint.safetensors"))) "each phase keeps its folder"
                    // the root checkpoint restores the final network into a freshly built one
                    let rebuilt = AuxSegNetPlusEntry.build ctx.Env sets
                    Checkpoint.Load(Train.checkpointPath out, rebuilt.Model, null, false) |> ignore
                    m.Model.eval () |> ignore
                    rebuilt.Model.eval () |> ignore
                    use scope = torch.NewDisposeScope()
                    let images = (DataSource.evalBatches torch.CPU (trainSet ()) 4 |> Seq.head).Images
                    let a = m.Predict.Segment.Value images
                    let b = rebuilt.Predict.Segment.Value images
                    Expect.equal (a.shape.[0..1]) ([| 4L; int64 (trainSet ()).NumClasses |]) "a.shape.[0..1]" // (B, K + 1, h, w)
                    Expect.isTrue (a.allclose(b, 1e-5, 1e-6)) "the restored network predicts what the trained one does"
                    let pseudo = m.Predict.Pseudo.Value (DataSource.evalBatches torch.CPU (trainSet ()) 4 |> Seq.head)
                    Expect.equal pseudo.shape [| 4L; 32L; 32L |] "pseudo.shape"
                    // --resume of the finished run trains nothing and loads its final network
                    let written = File.GetLastWriteTimeUtc(Path.Combine(out, "stages.json"))
                    let again = AuxSegNetPlusEntry.train { ctx with Config = { ctx.Config with Resume = true } } sets
                    Expect.exists lines (fun l -> l.Contains "finished run; nothing to resume") "a log line says 'finished run; nothing to resume'"
                    Expect.equal (File.GetLastWriteTimeUtc(Path.Combine(out, "stages.json"))) written "File.GetLastWriteTimeUtc(Path.Combine(out, 'stages.json'))"
                    again.Model.eval () |> ignore
                    Expect.isTrue ((again.Predict.Segment.Value images).allclose(a, 1e-5, 1e-6)) "the resumed finished run predicts what the trained one does"
                    again.Model.Dispose()
                    m.Model.Dispose()
                    rebuilt.Model.Dispose()
                finally
                    if Directory.Exists out then Directory.Delete(out, true))

        testCase "written labels come back through the loader as masks and saliency" <| fun () ->
            let out = tempDir ()
            try
                let ds = trainSet ()
                let rng = Random 3
                let images =
                    [ for i in 0 .. ds.Count - 1 ->
                          let s = ds.[i]
                          let img = ds.Load(i).Image
                          let n = img.Width * img.Height
                          s.Id,
                          { Height = img.Height
                            Width = img.Width
                            Segmentation = Array.init n (fun _ -> match rng.Next 6 with | 5 -> 255uy | c -> byte c)
                            Saliency = Array.init n (fun _ -> byte (rng.Next 256)) } ]
                let labels = LabelSet.create 0 images
                LabelFolders.write out labels
                let read = LabelFolders.dataset out ds
                Expect.isTrue (read.HasMasks && read.HasSaliency) "read.HasMasks && read.HasSaliency"
                for i in 0 .. read.Count - 1 do
                    let loaded = read.Load i
                    let l = LabelSet.find labels loaded.Sample.Id
                    Expect.equal loaded.Mask.Pixels l.Segmentation "loaded.Mask.Pixels"
                    Expect.equal (loaded.Saliency.ToGray().Pixels) l.Saliency "loaded.Saliency.ToGray().Pixels"
                File.Delete(Path.Combine(LabelFolders.masksFolder out, ds.Samples.[0].Id + ".png"))
                let e = throws<FileNotFoundException> (fun () -> LabelFolders.dataset out ds |> ignore)
                Expect.stringContains e.Message (ds.Samples.[0].Id) "ds.Samples.[0].Id"
            finally
                if Directory.Exists out then Directory.Delete(out, true)

        testCase "a cancelled run stops at once and writes no final checkpoint" <| fun () ->
            singleThreaded (fun () ->
                let out = tempDir ()
                try
                    use cts = new CancellationTokenSource()
                    cts.Cancel()
                    let lines = Collections.Generic.List<string>()
                    let m = AuxSegNetPlusEntry.train (context (Some out) cts.Token lines.Add) tinySets
                    Expect.exists lines (fun l -> l.Contains "stopped during classification") "a log line says 'stopped during classification'"
                    Expect.isFalse (File.Exists(Train.checkpointPath out)) "File.Exists(Train.checkpointPath out)"
                    Expect.isFalse (Directory.Exists(Path.Combine(out, "labels"))) "no labels were generated"
                    m.Model.Dispose()
                finally
                    if Directory.Exists out then Directory.Delete(out, true))

        testCase "settings: run keys beside the method's, the default epoch spreads --steps over the plan" <| fun () ->
            let s = AuxSegNetPlusEntry.settings [ "stop-metric", "val-miou"; "stages", "2"; "kind", "pairwise" ]
            Expect.equal s.Stop ValidationMiou "s.Stop"
            Expect.equal s.Config.Kind Pairwise "s.Config.Kind"
            // 15 classification epochs + 2 stages x 15 epochs = 45 plan epochs
            Expect.equal (AuxSegNetPlusEntry.epochSteps s 3000) (3000 / 45) "AuxSegNetPlusEntry.epochSteps s 3000"
            Expect.equal (AuxSegNetPlusEntry.epochSteps s 10) 1 "AuxSegNetPlusEntry.epochSteps s 10"
            Expect.equal (AuxSegNetPlusEntry.epochSteps (AuxSegNetPlusEntry.settings [ "epoch-steps", "7" ]) 3000) 7 "AuxSegNetPlusEntry.epochSteps (AuxSegNetPlusEntry.settings [ 'epoch-steps', '7' ]) 3000"
            Expect.stringContains ((throws<ArgumentException> (fun () -> AuxSegNetPlusEntry.settings [ "stop-metric", "best" ] |> ignore)).Message) "stop-metric" "'stop-metric'"
            Expect.stringContains ((throws<ArgumentException> (fun () -> AuxSegNetPlusEntry.settings [ "stagez", "2" ] |> ignore)).Message) "its settings: branches" "the keys are listed"
            throws<ArgumentException> (fun () -> AuxSegNetPlusEntry.settings [ "epoch-steps", "0" ] |> ignore) |> ignore
            // a cross-task affinity without the saliency branch is refused with what to change
            Expect.stringContains ((throws<ArgumentException> (fun () -> AuxSegNetPlusEntry.settings [ "branches", "seg" ] |> ignore)).Message) "branches=all" "'branches=all'"

        testCase "without iterative refinement every stage trains on stage 0's labels, read from stage 0's folder" <| fun () ->
            singleThreaded (fun () ->
                let out = tempDir ()
                let log = ResizeArray<string>()
                try
                    let m = AuxSegNetPlusEntry.train (context (Some out) CancellationToken.None log.Add) (tinySets @ [ "iterative", "false" ])
                    m.Model.Dispose()
                    let stage k = Path.Combine(out, "labels", $"stage-{k}")
                    Expect.isNonEmpty (Directory.GetFiles(LabelFolders.masksFolder (stage 0), "*.png")) "stage 0's masks"
                    Expect.isFalse (Directory.Exists(stage 1)) "stage 1 reuses stage 0's folder instead of a copy"
                    Expect.isFalse (Directory.Exists(stage 2)) "no labels after the last stage without refinement"
                    Expect.exists log (fun l -> l.Contains "stage-1 trains on the labels already in" && l.EndsWith "(no iterative refinement)" && l.Contains(stage 0)) "a log line says stage-1 trains on stage 0's labels"
                    // stage 1 did train (on those labels)
                    use doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(out, "stages.json")))
                    let phases = [ for p in doc.RootElement.GetProperty("phases").EnumerateArray() -> p.GetProperty("phase").GetString() ]
                    Expect.contains phases "stage-1" "the phase stage-1"
                finally
                    if Directory.Exists out then Directory.Delete(out, true))
    ]

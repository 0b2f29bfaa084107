/// AuxSegNet+ as a registered method on the tiny FMNIST-Scenes set: the whole stage-wise run
/// through a run context (labels written and read back through the loader, stage report,
/// final checkpoint that a rebuilt model restores), cancellation, and the entry's settings.
module Hybrid.Wsss.Tests.AuxSegNetEntryTests

open System
open System.IO
open System.Text.Json
open System.Threading
open Xunit
open Hybrid.Wsss.Tests.SingleThread
open Hybrid.Torch
open Hybrid.Torch.Serialization
open Hybrid.Wsss
open Hybrid.Wsss.Schedules
open Hybrid.Wsss.Training
open Hybrid.Wsss.Data
open Hybrid.Wsss.Methods.AuxSegNetPlus
open Hybrid.Wsss.Tests.CsdFixture
open Hybrid.Wsss.Tests.AuxSegNetKit

let private tinySets = entrySets

let private context (out: string option) (cancel: CancellationToken) (log: string -> unit) : RunContext =
    entryContext out false cancel log ignore

let private tempDir () = Path.Combine(Path.GetTempPath(), "hybrid-auxsegnet-entry-" + Guid.NewGuid().ToString("N"))

[<Fact>]
let ``the stage-wise run writes every stage's labels, its report and a checkpoint the rebuilt model restores`` () =
    singleThreaded (fun () ->
        let out = tempDir ()
        try
            let lines = Collections.Generic.List<string>()
            let ctx = context (Some out) CancellationToken.None lines.Add
            let sets = tinySets @ [ "stop-metric", "val-miou" ]
            let m, resolved = AuxSegNetPlusEntry.train ctx sets
            Assert.Contains("Stop = ValidationMiou", resolved)
            let n = (trainSet ()).Count
            // stage 0 from the classification phase, one set after each of the 2 stages
            for k in 0 .. 2 do
                let dir = Path.Combine(out, "labels", $"stage-{k}")
                Assert.Equal(n, Directory.GetFiles(LabelFolders.masksFolder dir, "*.png").Length)
                Assert.Equal(n, Directory.GetFiles(LabelFolders.saliencyFolder dir, "*.png").Length)
            Assert.Contains(lines, fun l -> l.Contains $"stage-0 labels of {n} images" && l.Contains "mIoU" && l.Contains "precision" && l.Contains "recall")
            use doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(out, "stages.json")))
            let phases = [ for p in doc.RootElement.GetProperty("phases").EnumerateArray() -> p.GetProperty("phase").GetString() ]
            Assert.Equal<string list>([ "classification"; "stage-0"; "stage-1" ], phases)
            for l in doc.RootElement.GetProperty("labels").EnumerateArray() do
                for key in [ "train_miou"; "train_precision"; "train_recall" ] do
                    Assert.InRange(l.GetProperty(key).GetDouble(), 0.0, 1.0)
            for p in doc.RootElement.GetProperty("phases").EnumerateArray() |> Seq.skip 1 do
                let best = p.GetProperty("best_metric").GetDouble()
                Assert.InRange(best, 0.0, 1.0) // a validation mIoU
            Assert.True(File.Exists(Path.Combine(out, "classification", "checkpoint.safetensors")), "each phase keeps its folder")
            // the root checkpoint restores the final network into a freshly built one
            let rebuilt = AuxSegNetPlusEntry.build ctx.Env sets
            Checkpoint.Load(Train.checkpointPath out, rebuilt.Model, null, false) |> ignore
            m.Model.eval () |> ignore
            rebuilt.Model.eval () |> ignore
            use scope = torch.NewDisposeScope()
            let images = (DataSource.evalBatches Device.CPU (trainSet ()) 4 |> Seq.head).Images
            let a = m.Predict.Segment.Value images
            let b = rebuilt.Predict.Segment.Value images
            Assert.Equal<int64[]>([| 4L; int64 (trainSet ()).NumClasses |], a.shape.[0..1]) // (B, K + 1, h, w)
            Assert.True(a.allclose(b, 1e-5, 1e-6), "the restored network predicts what the trained one does")
            let pseudo = m.Predict.Pseudo.Value (DataSource.evalBatches Device.CPU (trainSet ()) 4 |> Seq.head)
            Assert.Equal<int64[]>([| 4L; 32L; 32L |], pseudo.shape)
            // --resume of the finished run trains nothing and loads its final network
            let written = File.GetLastWriteTimeUtc(Path.Combine(out, "stages.json"))
            let again, _ = AuxSegNetPlusEntry.train { ctx with Config = { ctx.Config with Resume = true } } sets
            Assert.Contains(lines, fun l -> l.Contains "finished run; nothing to resume")
            Assert.Equal(written, File.GetLastWriteTimeUtc(Path.Combine(out, "stages.json")))
            again.Model.eval () |> ignore
            Assert.True((again.Predict.Segment.Value images).allclose(a, 1e-5, 1e-6), "the resumed finished run predicts what the trained one does")
            again.Model.Dispose()
            m.Model.Dispose()
            rebuilt.Model.Dispose()
        finally
            if Directory.Exists out then Directory.Delete(out, true))

[<Fact>]
let ``written labels come back through the loader as masks and saliency`` () =
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
        Assert.True(read.HasMasks && read.HasSaliency)
        for i in 0 .. read.Count - 1 do
            let loaded = read.Load i
            let l = LabelSet.find labels loaded.Sample.Id
            Assert.Equal<byte[]>(l.Segmentation, loaded.Mask.Pixels)
            Assert.Equal<byte[]>(l.Saliency, loaded.Saliency.ToGray().Pixels)
        File.Delete(Path.Combine(LabelFolders.masksFolder out, ds.Samples.[0].Id + ".png"))
        let e = Assert.Throws<FileNotFoundException>(fun () -> LabelFolders.dataset out ds |> ignore)
        Assert.Contains(ds.Samples.[0].Id, e.Message)
    finally
        if Directory.Exists out then Directory.Delete(out, true)

[<Fact>]
let ``a cancelled run stops at once and writes no final checkpoint`` () =
    singleThreaded (fun () ->
        let out = tempDir ()
        try
            use cts = new CancellationTokenSource()
            cts.Cancel()
            let lines = Collections.Generic.List<string>()
            let m, _ = AuxSegNetPlusEntry.train (context (Some out) cts.Token lines.Add) tinySets
            Assert.Contains(lines, fun l -> l.Contains "stopped during classification")
            Assert.False(File.Exists(Train.checkpointPath out))
            Assert.False(Directory.Exists(Path.Combine(out, "labels")), "no labels were generated")
            m.Model.Dispose()
        finally
            if Directory.Exists out then Directory.Delete(out, true))

[<Fact>]
let ``settings: run keys beside the method's, the default epoch spreads --steps over the plan`` () =
    let s = AuxSegNetPlusEntry.settings [ "stop-metric", "val-miou"; "stages", "2"; "kind", "pairwise" ]
    Assert.Equal(ValidationMiou, s.Stop)
    Assert.Equal(Pairwise, s.Config.Kind)
    // 15 classification epochs + 2 stages x 15 epochs = 45 plan epochs
    Assert.Equal(3000 / 45, AuxSegNetPlusEntry.epochSteps s 3000)
    Assert.Equal(1, AuxSegNetPlusEntry.epochSteps s 10)
    Assert.Equal(7, AuxSegNetPlusEntry.epochSteps (AuxSegNetPlusEntry.settings [ "epoch-steps", "7" ]) 3000)
    Assert.Contains("stop-metric", (Assert.Throws<ArgumentException>(fun () -> AuxSegNetPlusEntry.settings [ "stop-metric", "best" ] |> ignore)).Message)
    Assert.Contains("valid keys", (Assert.Throws<ArgumentException>(fun () -> AuxSegNetPlusEntry.settings [ "stagez", "2" ] |> ignore)).Message)
    Assert.Throws<ArgumentException>(fun () -> AuxSegNetPlusEntry.settings [ "epoch-steps", "0" ] |> ignore) |> ignore
    // a cross-task affinity without the saliency branch is refused with what to change
    Assert.Contains("branches=all", (Assert.Throws<ArgumentException>(fun () -> AuxSegNetPlusEntry.settings [ "branches", "seg" ] |> ignore)).Message)

[<Fact>]
let ``without iterative refinement every stage trains on stage 0's labels, read from stage 0's folder`` () =
    singleThreaded (fun () ->
        let out = tempDir ()
        let log = ResizeArray<string>()
        try
            let m, _ = AuxSegNetPlusEntry.train (context (Some out) CancellationToken.None log.Add) (tinySets @ [ "iterative", "false" ])
            m.Model.Dispose()
            let stage k = Path.Combine(out, "labels", $"stage-{k}")
            Assert.NotEmpty(Directory.GetFiles(LabelFolders.masksFolder (stage 0), "*.png"))
            Assert.False(Directory.Exists(stage 1), "stage 1 reuses stage 0's folder instead of a copy")
            Assert.False(Directory.Exists(stage 2), "no labels after the last stage without refinement")
            Assert.Contains(log, fun l -> l.Contains "stage-1 trains on the labels already in" && l.EndsWith "(no iterative refinement)" && l.Contains(stage 0))
            // stage 1 did train (on those labels)
            use doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(out, "stages.json")))
            let phases = [ for p in doc.RootElement.GetProperty("phases").EnumerateArray() -> p.GetProperty("phase").GetString() ]
            Assert.Contains("stage-1", phases)
        finally
            if Directory.Exists out then Directory.Delete(out, true))

/// The training loop and the two reference methods (CAM baseline, supervised LargeFOV) on a
/// tiny FMNIST-Scenes set: finite and falling losses, evaluation, non-finite detection and
/// exact resume.
module Hybrid.Wsss.Tests.TrainLoopTests

open System
open System.IO
open Expecto
open TorchSharp
open Hybrid.Data
open Hybrid.Wsss
open Hybrid.Wsss.Eval
open Hybrid.Wsss.Training
open Hybrid.Wsss.Methods
open Hybrid.Wsss.Methods.Cam
open Hybrid.Wsss.Data
open Hybrid.TestSupport.Expectations

let private finite (losses: (string * float) list list) =
    losses |> List.forall (List.forall (fun (_, v) -> not (Double.IsNaN v || Double.IsInfinity v)))

let private total (l: (string * float) list) = l |> List.sumBy snd

[<Tests>]
let tests =
    testList "TrainLoop" [
        testCase "CAM baseline trains with finite, falling loss and its seeds evaluate" <| fun () ->
            let m = CamBaseline.create (TinyScenes.env 24) CamBaseline.defaults
            let losses = TinyScenes.trainFew 24 m false
            Expect.isTrue (finite losses) "finite losses"
            let first = losses |> List.take 4 |> List.averageBy total
            let last = losses |> List.skip 20 |> List.averageBy total
            Expect.isTrue (last < first) ($"loss should fall: first steps {first:F4}, last steps {last:F4}")
            let sweep = Evaluate.camSeeds VocSplit.Val 11 m.Predict Evaluate.Scales.single [ 0.2; 0.4 ] (DataSource.evalBatches torch.CPU (TinyScenes.valSet ()) 4)
            Expect.equal sweep.Best.Result.Split VocSplit.Val "sweep.Best.Result.Split"
            Expect.equal sweep.Curve.Length 2 "sweep.Curve.Length"
            inRange sweep.Best.Result.MeanIoU 0.0 1.0 "sweep.Best.Result.MeanIoU"
            m.Model.Dispose()

        testCase "supervised LargeFOV trains with finite, falling loss and evaluates" <| fun () ->
            let m = Supervised.create (TinyScenes.env 24) Supervised.defaults
            let losses = TinyScenes.trainFew 24 m false
            Expect.isTrue (finite losses) "finite losses"
            let first = losses |> List.take 4 |> List.averageBy total
            let last = losses |> List.skip 20 |> List.averageBy total
            Expect.isTrue (last < first) ($"loss should fall: first steps {first:F4}, last steps {last:F4}")
            let r = Evaluate.segmentation VocSplit.Val 11 m.Predict Evaluate.Scales.single (DataSource.evalBatches torch.CPU (TinyScenes.valSet ()) 4)
            Expect.equal r.Scored Segmentation "r.Scored"
            m.Model.Dispose()

        testCase "a non-finite loss stops the run naming the term and keeps the last checkpoint" <| fun () ->
            let dir = Path.Combine(Path.GetTempPath(), $"hybrid-nan-{Guid.NewGuid():N}")
            let inner = CamBaseline.create (TinyScenes.env 6) CamBaseline.defaults
            let poisoned =
                { inner with
                    Step = fun ctx b -> inner.Step ctx b @ [ "poison", (if ctx.Step = 4 then torch.tensor nanf else torch.tensor 0.0f) ] }
            let cfg = { TinyScenes.config 6 with OutDir = Some dir; CheckpointEvery = Some 2 }
            let e = throws<NonFiniteLoss> (fun () -> Train.run cfg poisoned (TinyScenes.batches false) ignore None |> ignore)
            Expect.equal e.term "poison" "e.term"
            Expect.equal e.step 4 "e.step"
            Expect.stringContains e.Message "poison" "'poison'"
            // the checkpoint of step 4 (written after step 3 finished) is the last good one
            let ck = Train.checkpointPath dir
            Expect.isTrue (File.Exists ck) "File.Exists ck"
            let struct (step, _) = Hybrid.Torch.Serialization.Checkpoint.Load(ck, inner.Model)
            Expect.equal step 4L "step"
            inner.Model.Dispose()

        testCase "resume continues exactly as if never stopped" <| fun () ->
            let run (dir: string) (resume: bool) =
                torch.manual_seed 11L |> ignore
                let m = CamBaseline.create (TinyScenes.env 6) CamBaseline.defaults
                let cfg = { TinyScenes.config 6 with OutDir = Some dir; Resume = resume; CheckpointEvery = Some 3 }
                Train.run cfg m (TinyScenes.batches false) ignore None |> ignore
                m
            let straightDir = Path.Combine(Path.GetTempPath(), $"hybrid-straight-{Guid.NewGuid():N}")
            let straight = run straightDir false
            // interrupted after 3 steps (Ctrl-C: checkpoint at step 3), then resumed to 6
            let splitDir = Path.Combine(Path.GetTempPath(), $"hybrid-split-{Guid.NewGuid():N}")
            torch.manual_seed 11L |> ignore
            let first = CamBaseline.create (TinyScenes.env 6) CamBaseline.defaults
            let cfg3 = { TinyScenes.config 6 with OutDir = Some splitDir; CheckpointEvery = Some 3 }
            use cts = new Threading.CancellationTokenSource()
            let stopAt3 = { first with AfterStep = fun ctx -> (if ctx.Step = 2 then cts.Cancel()) }
            let r = Train.run { cfg3 with Cancel = cts.Token } stopAt3 (TinyScenes.batches false) ignore None
            Expect.equal r.Outcome (Cancelled 3) "r.Outcome"
            let resumed = run splitDir true
            let a = straight.Model.state_dict ()
            let b = resumed.Model.state_dict ()
            for KeyValue(k, t) in a do
                Expect.isTrue (t.allclose(b[k], 1e-5, 1e-6)) ($"{k} differs after resume")
            straight.Model.Dispose(); resumed.Model.Dispose(); first.Model.Dispose()
    ]

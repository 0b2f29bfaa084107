/// CSD trains: every switch combination for two steps on the tiny set (tiny_resnet, 32x32),
/// the two-stage orchestration (stage 1 trained in the run, then loaded from its folder), and
/// the typed settings.
module Hybrid.Wsss.Tests.CsdTrainingTests

open System
open System.IO
open Xunit
open Hybrid.Wsss.Tests.SingleThread
open Hybrid.Torch
open Hybrid.Wsss
open Hybrid.Wsss.Schedules
open Hybrid.Wsss.Training
open Hybrid.Wsss.Methods.Cam
open Hybrid.Wsss.Methods.Csd
open Hybrid.Wsss.Tests.CsdFixture

let private trainConfig steps = { TrainConfig.defaults steps (Schedule.constant 1e-3) with Optimizer = AdamW 1e-4; LogEvery = 1 }

let private finite (v: float) = not (Double.IsNaN v || Double.IsInfinity v)

[<Fact>]
let ``each switch combination trains two steps with finite losses`` () =
    singleThreaded (fun () ->
        let ds = trainSet ()
        let env = env ds
        let sources = dict [ CooccurrenceResampling, partnerSource ds CooccurrenceResampling; UniformSource, partnerSource ds UniformSource ]
        let combos =
            [ yield { CsdConfig.defaults with CopyPaste = false }
              for pairing in [ CooccurrenceResampling; UniformSource ] do
                  for bg in [ DummyClass; SaliencySum ] do
                      for reduction in [ SumOverCells; MeanOverPixels ] do
                          for pasteCls in [ false; true ] do
                              yield { CsdConfig.defaults with Pairing = pairing; Background = bg; Reduction = reduction; PasteClassification = pasteCls } ]
        let mutable consistencyCost = 0.0
        for cfg in combos do
            use _scope = torch.NewDisposeScope()
            let net = CamBaseline.network env cfg.Baseline
            let src = if cfg.CopyPaste then Some sources[cfg.Pairing] else None
            let m = CsdMethod.create cfg net src env
            let r = Train.run (trainConfig 2) m (batches ds) ignore None
            let names = r.FinalLosses |> List.map fst |> List.sort
            Assert.Equal<string list>((if cfg.CopyPaste then [ "bg"; "cls"; "fg" ] else [ "cls" ]), names)
            for name, v in r.FinalLosses do
                Assert.True(finite v && v >= 0.0, $"{name} = {v} with {cfg.Pairing} {cfg.Background} {cfg.Reduction} paste_cls={cfg.PasteClassification}")
            consistencyCost <- consistencyCost + (r.FinalLosses |> List.filter (fun (n, _) -> n <> "cls") |> List.sumBy snd)
            net.Dispose()
        Assert.True(consistencyCost > 0.0, "the consistency terms must be active on this data"))

[<Fact>]
let ``the consistency terms move the weights, and lambdas of 0 leave L_cls alone`` () =
    singleThreaded (fun () ->
        let ds = trainSet ()
        let env = env ds
        let src = partnerSource ds CooccurrenceResampling
        let batch = batches ds 0 |> Seq.head
        let gradOf (cfg: CsdConfig) (term: string) =
            torch.manual_seed 1L
            use net = CamBaseline.network env cfg.Baseline
            let losses = CsdMethod.step cfg net (Some src) { Step = 0; Total = 2 } batch
            let loss = losses |> List.find (fun (n, _) -> n = term) |> snd
            if loss.requires_grad then
                loss.backward ()
                net.Classifier.parameters () |> Seq.sumBy (fun p -> if isNull p.grad then 0.0 else p.grad.abs().sum().item<float32> () |> float)
            else 0.0
        Assert.True(gradOf CsdConfig.defaults "fg" > 0.0, "L_fg has a gradient")
        Assert.True(gradOf CsdConfig.defaults "bg" > 0.0, "L_bg has a gradient")
        Assert.Equal(0.0, gradOf { CsdConfig.defaults with Lambda1 = 0.0; Lambda2 = 0.0 } "fg"))

let private runContext (ds: Hybrid.Data.SegmentationDataset) (out: string option) (log: string -> unit) : RunContext =
    { Env = env ds
      Config = { trainConfig 2 with OutDir = out }
      Batches = batches ds
      BatchesOf = batches
      ValBatches = fun () -> Seq.empty
      OnProgress = ignore
      Log = log }

[<Fact>]
let ``the two stages run end to end, and stage 1 can be loaded from a run folder`` () =
    singleThreaded (fun () ->
        let ds = trainSet ()
        let out = Path.Combine(Path.GetTempPath(), "hybrid-csd-run-" + Guid.NewGuid().ToString("N"))
        try
            let lines = Collections.Generic.List<string>()
            let sets = [ "mask_threshold", "0.05"; "min_fg_pixels", "1"; "mask_scales", "single" ]
            let m, resolved = Csd.train (runContext ds (Some out) lines.Add) sets
            Assert.Contains("CamThreshold 0.05", resolved)
            Assert.True(File.Exists(Path.Combine(out, "stage1", "checkpoint.safetensors")), "stage 1 keeps its checkpoint")
            Assert.True(File.Exists(Path.Combine(out, "checkpoint.safetensors")), "stage 2 writes the run's checkpoint")
            Assert.Contains(lines, fun l -> l.Contains "source masks")
            Assert.Contains(lines, fun l -> l.Contains "foreground IoU")
            use batch = (batches ds 0 |> Seq.head).Images
            use cams = m.Predict.Cam.Value batch
            Assert.Equal(int64 (ds.NumClasses - 1), cams.size 1)
            m.Model.Dispose()
            // stage 1 from the folder of a finished CAM run
            let lines2 = Collections.Generic.List<string>()
            let m2, _ = Csd.train (runContext ds None lines2.Add) (sets @ [ "stage1", Path.Combine(out, "stage1") ])
            Assert.Contains(lines2, fun l -> l.Contains "the CAM baseline of")
            m2.Model.Dispose()
            // the oracle diagnostic needs no stage 1
            let lines3 = Collections.Generic.List<string>()
            let m3, _ = Csd.train (runContext ds None lines3.Add) [ "source_masks", "gt_oracle" ]
            Assert.Contains(lines3, fun l -> l.Contains "ORACLE")
            Assert.DoesNotContain(lines3, fun l -> l.Contains "training the CAM baseline")
            m3.Model.Dispose()
            let e = Assert.Throws<FileNotFoundException>(fun () -> Csd.train (runContext ds None ignore) [ "stage1", Path.Combine(out, "nowhere") ] |> ignore)
            Assert.Contains("hybrid train --method cam", e.Message)
        finally
            if Directory.Exists out then Directory.Delete(out, true))

[<Fact>]
let ``settings parse, and unknown keys or bad values list what is valid`` () =
    let c =
        [ "copy_paste", "off"; "resampling", "off"; "lambda1", "0.1"; "lambda2", "1"; "bg_score", "saliency_sum"; "dummy_score", "1.5"
          "reduction", "sum_cells"; "paste_cls", "on"; "feather", "3"; "bg_window", "8"; "cooccurrence", "smoothed:0.2"; "diagonal", "zero"
          "source_masks", "pseudo"; "mask_scales", "single"; "min_fg_pixels", "4"; "pooling", "gmp"; "stage1", "runs/Cam-600" ]
        |> List.fold (fun c (k, v) -> CsdConfig.set k v c) CsdConfig.defaults
    Assert.False(c.CopyPaste)
    Assert.Equal(UniformSource, c.Pairing)
    Assert.Equal((0.1, 1.0, 1.5), (c.Lambda1, c.Lambda2, c.DummyScore))
    Assert.Equal(SaliencySum, c.Background)
    Assert.Equal(SumOverCells, c.Reduction)
    Assert.True(c.PasteClassification)
    Assert.Equal((3, Some 8, 4), (c.FeatherRadius, c.BackgroundWindow, c.MinForegroundPixels))
    Assert.Equal({ Diagonal = ZeroDiagonal; Estimate = SmoothedSoftmax 0.2 }, c.Cooccurrence)
    Assert.Equal(MethodPseudo, c.SourceMask)
    Assert.Equal(Cam.Gmp, c.Baseline.Pooling)
    Assert.Equal(FromRun "runs/Cam-600", c.Stage1)
    Assert.Equal(CamThreshold 0.4, (CsdConfig.set "mask_threshold" "0.4" c).SourceMask)
    Assert.Equal(GroundTruthOracle, (CsdConfig.set "source_masks" "gt_oracle" c).SourceMask)
    let e = Assert.Throws<ArgumentException>(fun () -> CsdConfig.set "lambda3" "1" CsdConfig.defaults |> ignore)
    Assert.Contains("lambda1=float", e.Message)
    Assert.Contains("resampling=on|off", e.Message)
    Assert.Throws<ArgumentException>(fun () -> CsdConfig.set "lambda1" "big" CsdConfig.defaults |> ignore) |> ignore
    Assert.Throws<ArgumentException>(fun () -> CsdConfig.set "pooling" "avg" CsdConfig.defaults |> ignore) |> ignore
    Assert.Throws<ArgumentException>(fun () -> CsdConfig.validate { CsdConfig.defaults with Lambda2 = -1.0 } |> ignore) |> ignore
    Assert.Throws<ArgumentException>(fun () -> CsdConfig.validate { CsdConfig.defaults with SourceMask = CamThreshold 1.5 } |> ignore) |> ignore

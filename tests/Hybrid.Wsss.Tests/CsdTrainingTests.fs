/// CSD trains: every switch combination for two steps on the tiny set (tiny_resnet, 32x32),
/// the two-stage orchestration (stage 1 trained in the run, then loaded from its folder), and
/// the typed settings.
module Hybrid.Wsss.Tests.CsdTrainingTests

open System
open System.IO
open Expecto
open Hybrid.Wsss.Tests.SingleThread
open TorchSharp
open Hybrid.Wsss
open Hybrid.Wsss.Schedules
open Hybrid.Wsss.Training
open Hybrid.Wsss.Methods.Cam
open Hybrid.Wsss.Methods.Csd
open Hybrid.Wsss.Tests.CsdFixture
open Hybrid.TestSupport.Expectations

let private trainConfig steps = { TrainConfig.defaults steps (Schedule.constant 1e-3) with Optimizer = AdamW 1e-4; LogEvery = 1 }

let private finite (v: float) = not (Double.IsNaN v || Double.IsInfinity v)

let private runContext (ds: Hybrid.Data.SegmentationDataset) (out: string option) (log: string -> unit) : RunContext =
    { Env = env ds
      Config = { trainConfig 2 with OutDir = out }
      Batches = batches ds
      BatchesOf = batches
      ValBatches = fun () -> Seq.empty
      OnProgress = ignore
      Log = log }

[<Tests>]
let tests =
    testList "CsdTraining" [
        testCase "each switch combination trains two steps with finite losses" <| fun () ->
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
                    Expect.equal names (if cfg.CopyPaste then [ "bg"; "cls"; "fg" ] else [ "cls" ]) "names"
                    for name, v in r.FinalLosses do
                        Expect.isTrue (finite v && v >= 0.0) ($"{name} = {v} with {cfg.Pairing} {cfg.Background} {cfg.Reduction} paste_cls={cfg.PasteClassification}")
                    consistencyCost <- consistencyCost + (r.FinalLosses |> List.filter (fun (n, _) -> n <> "cls") |> List.sumBy snd)
                    net.Dispose()
                Expect.isTrue (consistencyCost > 0.0) "the consistency terms must be active on this data")

        testCase "the consistency terms move the weights, and lambdas of 0 leave L_cls alone" <| fun () ->
            singleThreaded (fun () ->
                let ds = trainSet ()
                let env = env ds
                let src = partnerSource ds CooccurrenceResampling
                let batch = batches ds 0 |> Seq.head
                let gradOf (cfg: CsdConfig) (term: string) =
                    torch.manual_seed 1L |> ignore
                    use net = CamBaseline.network env cfg.Baseline
                    let losses = CsdMethod.step cfg net (Some src) { Step = 0; Total = 2 } batch
                    let loss = losses |> List.find (fun (n, _) -> n = term) |> snd
                    if loss.requires_grad then
                        loss.backward ()
                        net.Classifier.parameters () |> Seq.sumBy (fun p -> if isNull p.grad then 0.0 else p.grad.abs().sum().ToSingle() |> float)
                    else 0.0
                Expect.isTrue (gradOf CsdConfig.defaults "fg" > 0.0) "L_fg has a gradient"
                Expect.isTrue (gradOf CsdConfig.defaults "bg" > 0.0) "L_bg has a gradient"
                Expect.equal (gradOf { CsdConfig.defaults with Lambda1 = 0.0; Lambda2 = 0.0 } "fg") 0.0 "gradOf { CsdConfig.defaults with Lambda1 = 0.0; Lambda2 = 0.0 } 'fg'")

        testCase "the two stages run end to end, and stage 1 can be loaded from a run folder" <| fun () ->
            singleThreaded (fun () ->
                let ds = trainSet ()
                let out = Path.Combine(Path.GetTempPath(), "hybrid-csd-run-" + Guid.NewGuid().ToString("N"))
                try
                    let lines = Collections.Generic.List<string>()
                    let sets = [ "mask_threshold", "0.05"; "min_fg_pixels", "1"; "mask_scales", "single" ]
                    let m = Csd.train (runContext ds (Some out) lines.Add) sets
                    Expect.equal (Csd.config sets).SourceMask (CamThreshold 0.05) "the resolved source-mask rule"
                    Expect.isTrue (File.Exists(Path.Combine(out, "stage1", "checkpoint.safetensors"))) "stage 1 keeps its checkpoint"
                    Expect.isTrue (File.Exists(Path.Combine(out, "checkpoint.safetensors"))) "stage 2 writes the run's checkpoint"
                    Expect.exists lines (fun l -> l.Contains "source masks") "a log line says 'source masks'"
                    Expect.exists lines (fun l -> l.Contains "foreground IoU") "a log line says 'foreground IoU'"
                    use batch = (batches ds 0 |> Seq.head).Images
                    use cams = m.Predict.Cam.Value batch
                    Expect.equal (cams.size 1) (int64 (ds.NumClasses - 1)) "cams.size 1"
                    m.Model.Dispose()
                    // stage 1 from the folder of a finished CAM run
                    let lines2 = Collections.Generic.List<string>()
                    let m2 = Csd.train (runContext ds None lines2.Add) (sets @ [ "stage1", Path.Combine(out, "stage1") ])
                    Expect.exists lines2 (fun l -> l.Contains "the CAM baseline of") "a log line says 'the CAM baseline of'"
                    m2.Model.Dispose()
                    // the oracle diagnostic needs no stage 1
                    let lines3 = Collections.Generic.List<string>()
                    let m3 = Csd.train (runContext ds None lines3.Add) [ "source_masks", "gt_oracle" ]
                    Expect.exists lines3 (fun l -> l.Contains "ORACLE") "a log line says 'ORACLE'"
                    Expect.isFalse (lines3 |> Seq.exists (fun l -> l.Contains "training the CAM baseline")) "no log line says 'training the CAM baseline'"
                    m3.Model.Dispose()
                    let e = throws<FileNotFoundException> (fun () -> Csd.train (runContext ds None ignore) [ "stage1", Path.Combine(out, "nowhere") ] |> ignore)
                    Expect.stringContains e.Message "hybrid train --method cam" "'hybrid train --method cam'"
                finally
                    if Directory.Exists out then Directory.Delete(out, true))

        testCase "settings parse, and unknown keys or bad values list what is valid" <| fun () ->
            let c =
                [ "copy_paste", "off"; "resampling", "off"; "lambda1", "0.1"; "lambda2", "1"; "bg_score", "saliency_sum"; "dummy_score", "1.5"
                  "reduction", "sum_cells"; "paste_cls", "on"; "feather", "3"; "bg_window", "8"; "cooccurrence", "smoothed:0.2"; "diagonal", "zero"
                  "source_masks", "pseudo"; "mask_scales", "single"; "min_fg_pixels", "4"; "pooling", "gmp"; "stage1", "runs/Cam-600" ]
                |> List.fold (fun c (k, v) -> CsdConfig.set k v c) CsdConfig.defaults
            Expect.isFalse c.CopyPaste "c.CopyPaste"
            Expect.equal c.Pairing UniformSource "c.Pairing"
            Expect.equal (c.Lambda1, c.Lambda2, c.DummyScore) (0.1, 1.0, 1.5) "(c.Lambda1, c.Lambda2, c.DummyScore)"
            Expect.equal c.Background SaliencySum "c.Background"
            Expect.equal c.Reduction SumOverCells "c.Reduction"
            Expect.isTrue c.PasteClassification "c.PasteClassification"
            Expect.equal (c.FeatherRadius, c.BackgroundWindow, c.MinForegroundPixels) (3, Some 8, 4) "(c.FeatherRadius, c.BackgroundWindow, c.MinForegroundPixels)"
            Expect.equal c.Cooccurrence ({ Diagonal = ZeroDiagonal; Estimate = SmoothedSoftmax 0.2 }) "c.Cooccurrence"
            Expect.equal c.SourceMask MethodPseudo "c.SourceMask"
            Expect.equal c.Baseline.Pooling Hybrid.Vision.Heads.CamPooling.Gmp "c.Baseline.Pooling"
            Expect.equal c.Stage1 (FromRun "runs/Cam-600") "c.Stage1"
            Expect.equal ((CsdConfig.set "mask_threshold" "0.4" c).SourceMask) (CamThreshold 0.4) "(CsdConfig.set 'mask_threshold' '0.4' c).SourceMask"
            Expect.equal ((CsdConfig.set "source_masks" "gt_oracle" c).SourceMask) GroundTruthOracle "(CsdConfig.set 'source_masks' 'gt_oracle' c).SourceMask"
            let e = throws<ArgumentException> (fun () -> CsdConfig.set "lambda3" "1" CsdConfig.defaults |> ignore)
            Expect.stringContains e.Message "lambda1, lambda2" "the keys are listed"
            Expect.stringContains e.Message "resampling" "'resampling'"
            throws<ArgumentException> (fun () -> CsdConfig.set "lambda1" "big" CsdConfig.defaults |> ignore) |> ignore
            throws<ArgumentException> (fun () -> CsdConfig.set "pooling" "avg" CsdConfig.defaults |> ignore) |> ignore
            throws<ArgumentException> (fun () -> CsdConfig.validate { CsdConfig.defaults with Lambda2 = -1.0 } |> ignore) |> ignore
            throws<ArgumentException> (fun () -> CsdConfig.validate { CsdConfig.defaults with SourceMask = CamThreshold 1.5 } |> ignore) |> ignore
    ]

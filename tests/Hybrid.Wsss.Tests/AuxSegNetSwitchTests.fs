module Hybrid.Wsss.Tests.AuxSegNetSwitchTests

open System
open Expecto
open TorchSharp
open Hybrid.Wsss
open Hybrid.Wsss.Schedules
open Hybrid.Wsss.Training
open Hybrid.Wsss.Methods.AuxSegNetPlus
open Hybrid.Wsss.Tests.AuxSegNetKit
open Hybrid.TestSupport.Expectations

let private allBranches = [ SegmentationOnly; WithClassification; WithSaliency; AllBranches ]

let private allAffinities = [ NoAffinity; SegmentationAffinity; CrossTaskSegmentationConstraint; CrossTaskBothConstraints ]

/// Every valid combination of the Tab. IV / V / X switches.
let private combinations =
    [ for b in allBranches do
          for a in allAffinities do
              for k in [ Pairwise; Dual ] do
                  let crossTask = a = CrossTaskSegmentationConstraint || a = CrossTaskBothConstraints
                  if Branches.hasSaliency b || not crossTask then
                      yield { tinyConfig with Branches = b; Affinity = a; Kind = k } ]

/// The loss terms Eq. 19 asks for under a configuration.
let private expectedTerms (cfg: Config) =
    set [ if Branches.hasClassification cfg.Branches then yield "cls"
          if Branches.hasSaliency cfg.Branches then yield "sal"
          if cfg.Affinity = CrossTaskBothConstraints then yield "sal_refined"
          yield "seg"
          if cfg.Affinity <> NoAffinity then yield "seg_refined" ]

[<Tests>]
let tests =
    testList "AuxSegNetSwitch" [
        testCase "every switch combination trains two steps on tiny data with finite losses" <| fun () ->
            Expect.equal combinations.Length 24 "combinations.Length"
            let b = batch 31L 2
            let targets = randomTargets b
            for cfg in combinations do
                use scope = torch.NewDisposeScope()
                use net = tinyNetwork cfg
                let m = AuxSegNetPlusMethod.forPhase net (LabelStage 0) (fun _ -> targets)
                let before = net.NewLayerParameters |> Seq.map (fun p -> p.detach().clone()) |> List.ofSeq
                let result = Train.run (TrainConfig.defaults 2 (Schedule.constant 1e-2)) m (fun _ -> Seq.initInfinite (fun _ -> b)) ignore None
                let terms = result.FinalLosses |> List.map fst |> Set.ofList
                Expect.isTrue (expectedTerms cfg = terms) (sprintf "%A: terms %A" cfg.Affinity terms)
                for name, v in result.FinalLosses do
                    Expect.isTrue (not (Double.IsNaN v || Double.IsInfinity v)) (sprintf "%A/%A/%A: %s = %g" cfg.Branches cfg.Affinity cfg.Kind name v)
                // the step reached the new layers (the segmentation head at least)
                let after = net.NewLayerParameters |> List.ofSeq
                Expect.isTrue (List.exists2 (fun (x: Tensor) (y: TorchSharp.Modules.Parameter) -> maxAbs (x - y) > 0.0) before after) "a new layer's parameter changed"

        testCase "the classification phase trains only the classifier's loss" <| fun () ->
            use scope = torch.NewDisposeScope()
            use net = tinyNetwork tinyConfig
            let b = batch 32L 2
            let m = AuxSegNetPlusMethod.forPhase net Classification (fun _ -> invalidOp "no dense targets in the classification phase")
            let result = Train.run (TrainConfig.defaults 2 (Schedule.constant 1e-2)) m (fun _ -> Seq.initInfinite (fun _ -> b)) ignore None
            Expect.equal (result.FinalLosses |> List.map fst) [ "cls" ] "result.FinalLosses |> List.map fst"

        testCase "predictors give segmentation logits, CAMs and pseudo masks" <| fun () ->
            use scope = torch.NewDisposeScope()
            for cfg in [ tinyConfig; { tinyConfig with Affinity = NoAffinity; Branches = SegmentationOnly } ] do
                use net = tinyNetwork cfg
                let b = batch 33L 2
                let p = AuxSegNetPlusMethod.predictor net
                Expect.equal (p.Segment.Value(b.Images).shape) [| 2L; int64 classes + 1L; 8L; 8L |] "p.Segment.Value(b.Images).shape"
                Expect.equal (p.Cam.Value(b.Images).shape) [| 2L; int64 classes; 8L; 8L |] "p.Cam.Value(b.Images).shape"
                let pseudo = p.Pseudo.Value b
                Expect.equal pseudo.shape [| 2L; side; side |] "pseudo.shape"
                Expect.isTrue (isFinite (p.Segment.Value b.Images)) "isFinite (p.Segment.Value b.Images)"

        testCase "set parses every key and rejects unknown keys listing the valid ones" <| fun () ->
            let c =
                Config.defaults
                |> Config.set "branches" "seg-sal"
                |> Config.set "affinity" "ct-seg"
                |> Config.set "kind" "pairwise"
                |> Config.set "cam-scales" "1.0"
                |> Config.set "stages" "2"
                |> Config.set "iterative" "false"
                |> Config.set "cam-threshold" "0.3"
                |> Config.set "dilations" "2,4"
                |> Config.set "chunk-rows" "64"
            Expect.equal c.Branches WithSaliency "c.Branches"
            Expect.equal c.Affinity CrossTaskSegmentationConstraint "c.Affinity"
            Expect.equal c.Kind Pairwise "c.Kind"
            Expect.equal c.CamScales [ 1.0 ] "c.CamScales"
            Expect.equal c.Stages 2 "c.Stages"
            Expect.isFalse c.IterativeRefinement "c.IterativeRefinement"
            Expect.equal c.Thresholds.Cam 0.3 "c.Thresholds.Cam"
            Expect.equal Config.defaults.Thresholds.Saliency (TimesMean 2.0) "Config.defaults.Thresholds.Saliency"
            Expect.equal ((Config.set "saliency-threshold" "0.06" c).Thresholds.Saliency) (Fixed 0.06) "(Config.set 'saliency-threshold' '0.06' c).Thresholds.Saliency"
            Expect.equal ((Config.set "saliency-threshold" "1.5xMean" c).Thresholds.Saliency) (TimesMean 1.5) "(Config.set 'saliency-threshold' '1.5xMean' c).Thresholds.Saliency"
            throwsAny<ArgumentException> (fun () -> Config.set "saliency-threshold" "0xmean" c |> Config.validate |> ignore) |> ignore
            throwsAny<ArgumentException> (fun () -> Config.set "saliency-threshold" "1.2" c |> Config.validate |> ignore) |> ignore
            Expect.equal c.Dilations (2, 4) "c.Dilations"
            Expect.equal c.ChunkRows (Some 64) "c.ChunkRows"
            Config.validate c |> ignore
            for key in Config.table.Rows |> List.map (fun r -> r.Name) do
                // every listed key is understood (a bad value is a parse error naming the key, not "unknown")
                let e = throwsAny<ArgumentException> (fun () -> Config.set key "???" Config.defaults |> ignore)
                doesNotContain e.Message "unknown" "'unknown'"
            let unknown = throws<ArgumentException> (fun () -> Config.set "temperature" "1" Config.defaults |> ignore)
            Expect.stringContains unknown.Message "cam-scales" "'cam-scales'"
            // a cross-task affinity needs the saliency branch
            let bad = Config.defaults |> Config.set "branches" "seg-cls"
            throws<ArgumentException> (fun () -> Config.validate bad |> ignore) |> ignore
    ]

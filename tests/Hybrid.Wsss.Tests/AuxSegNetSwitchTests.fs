module Hybrid.Wsss.Tests.AuxSegNetSwitchTests

open System
open Xunit
open Hybrid.Torch
open Hybrid.Wsss
open Hybrid.Wsss.Schedules
open Hybrid.Wsss.Training
open Hybrid.Wsss.Methods.AuxSegNetPlus
open Hybrid.Wsss.Tests.AuxSegNetKit

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

[<Fact>]
let ``every switch combination trains two steps on tiny data with finite losses`` () =
    Assert.Equal(24, combinations.Length)
    let b = batch 31L 2
    let targets = randomTargets b
    for cfg in combinations do
        use scope = torch.NewDisposeScope()
        use net = tinyNetwork cfg
        let m = AuxSegNetPlusMethod.forPhase net (LabelStage 0) (fun _ -> targets)
        let before = net.NewLayerParameters |> Seq.map (fun p -> p.detach().clone()) |> List.ofSeq
        let result = Train.run (TrainConfig.defaults 2 (Schedule.constant 1e-2)) m (fun _ -> Seq.initInfinite (fun _ -> b)) ignore None
        let terms = result.FinalLosses |> List.map fst |> Set.ofList
        Assert.True((expectedTerms cfg = terms), sprintf "%A: terms %A" cfg.Affinity terms)
        for name, v in result.FinalLosses do
            Assert.True(not (Double.IsNaN v || Double.IsInfinity v), sprintf "%A/%A/%A: %s = %g" cfg.Branches cfg.Affinity cfg.Kind name v)
        // the step reached the new layers (the segmentation head at least)
        let after = net.NewLayerParameters |> List.ofSeq
        Assert.True(List.exists2 (fun (x: Tensor) (y: Hybrid.Torch.Modules.Parameter) -> maxAbs (x - y) > 0.0) before after)

[<Fact>]
let ``the classification phase trains only the classifier's loss`` () =
    use scope = torch.NewDisposeScope()
    use net = tinyNetwork tinyConfig
    let b = batch 32L 2
    let m = AuxSegNetPlusMethod.forPhase net Classification (fun _ -> invalidOp "no dense targets in the classification phase")
    let result = Train.run (TrainConfig.defaults 2 (Schedule.constant 1e-2)) m (fun _ -> Seq.initInfinite (fun _ -> b)) ignore None
    Assert.Equal<string list>([ "cls" ], result.FinalLosses |> List.map fst)

[<Fact>]
let ``predictors give segmentation logits, CAMs and pseudo masks`` () =
    use scope = torch.NewDisposeScope()
    for cfg in [ tinyConfig; { tinyConfig with Affinity = NoAffinity; Branches = SegmentationOnly } ] do
        use net = tinyNetwork cfg
        let b = batch 33L 2
        let p = AuxSegNetPlusMethod.predictor net
        Assert.Equal<int64[]>([| 2L; int64 classes + 1L; 8L; 8L |], p.Segment.Value(b.Images).shape)
        Assert.Equal<int64[]>([| 2L; int64 classes; 8L; 8L |], p.Cam.Value(b.Images).shape)
        let pseudo = p.Pseudo.Value b
        Assert.Equal<int64[]>([| 2L; side; side |], pseudo.shape)
        Assert.True(isFinite (p.Segment.Value b.Images))

[<Fact>]
let ``set parses every key and rejects unknown keys listing the valid ones`` () =
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
    Assert.Equal(WithSaliency, c.Branches)
    Assert.Equal(CrossTaskSegmentationConstraint, c.Affinity)
    Assert.Equal(Pairwise, c.Kind)
    Assert.Equal<float list>([ 1.0 ], c.CamScales)
    Assert.Equal(2, c.Stages)
    Assert.False(c.IterativeRefinement)
    Assert.Equal(0.3, c.Thresholds.Cam)
    Assert.Equal(TimesMean 2.0, Config.defaults.Thresholds.Saliency)
    Assert.Equal(Fixed 0.06, (Config.set "saliency-threshold" "0.06" c).Thresholds.Saliency)
    Assert.Equal(TimesMean 1.5, (Config.set "saliency-threshold" "1.5xMean" c).Thresholds.Saliency)
    Assert.ThrowsAny<ArgumentException>(fun () -> Config.set "saliency-threshold" "0xmean" c |> Config.validate |> ignore) |> ignore
    Assert.ThrowsAny<ArgumentException>(fun () -> Config.set "saliency-threshold" "1.2" c |> Config.validate |> ignore) |> ignore
    Assert.Equal((2, 4), c.Dilations)
    Assert.Equal(Some 64, c.ChunkRows)
    Config.validate c |> ignore
    for key, _ in Config.keys do
        // every listed key is understood (a bad value is a parse error naming the key, not "unknown")
        let e = Assert.ThrowsAny<ArgumentException>(fun () -> Config.set key "???" Config.defaults |> ignore)
        Assert.DoesNotContain("unknown", e.Message)
    let unknown = Assert.Throws<ArgumentException>(fun () -> Config.set "temperature" "1" Config.defaults |> ignore)
    Assert.Contains("cam-scales", unknown.Message)
    // a cross-task affinity needs the saliency branch
    let bad = Config.defaults |> Config.set "branches" "seg-cls"
    Assert.Throws<ArgumentException>(fun () -> Config.validate bad |> ignore) |> ignore

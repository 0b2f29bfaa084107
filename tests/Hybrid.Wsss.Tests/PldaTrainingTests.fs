module Hybrid.Wsss.Tests.PldaTrainingTests

open System
open Expecto
open TorchSharp
open Hybrid.Wsss
open Hybrid.Wsss.Schedules
open Hybrid.Wsss.Training
open Hybrid.Wsss.Methods.Plda
open Hybrid.Wsss.Tests.PldaTinyNet

let private train (cfg: PldaConfig) (steps: int) =
    let run = Plda.build cfg (network 3)
    let tc = { TrainConfig.defaults steps (Schedule.constant 0.01) with LogEvery = 1 }
    let result = Train.run tc run.Method (fun start -> Seq.initInfinite (fun i -> batch (int64 (start + i)) 4 3)) ignore None
    run, result

let private switches =
    [ for da in [ false; true ] do
        for cpsS in [ false; true ] do
          for cpsT in [ false; true ] do
            for disc in [ MultiHead; Dann; Mmd; Mada ] do
              for assign in [ MaskAssign; SimpleAssign ] do
                yield { smallConfig with DomainAdaptation = da; CpsSource = cpsS; CpsTarget = cpsT; Discriminator = disc; Assignment = assign } ]

[<Tests>]
let tests =
    testList "PldaTraining" [
        testCase "every switch combination of Tab. VI-VIII trains two steps with finite losses" <| fun () ->
            Expect.equal switches.Length 64 "switches.Length"
            for cfg in switches @ [ { smallConfig with Background = LearnedBackground }; { smallConfig with Background = LearnedBackground; Assignment = SimpleAssign } ] do
                use scope = torch.NewDisposeScope()
                let run, result = train cfg 2
                let names = result.FinalLosses |> List.map fst |> Set.ofList
                let expected =
                    set [ yield "cls"
                          if cfg.DomainAdaptation then yield "da"
                          if cfg.CpsSource then yield "cps_s"
                          if cfg.CpsTarget then yield "cps_t" ]
                Expect.isTrue (expected = names) (sprintf "%A: terms %A, expected %A" cfg names expected)
                for n, v in result.FinalLosses do
                    Expect.isTrue (Double.IsFinite v && v >= 0.0) (sprintf "%A: %s = %g" cfg n v)
                let anyTerm = cfg.DomainAdaptation || cfg.CpsSource || cfg.CpsTarget
                Expect.equal run.Diagnostics.Steps (if anyTerm then 2 else 0) "run.Diagnostics.Steps"
                run.Model.Dispose()

        testCase "the PLDA model names the baseline and its new layers and gives them x10 learning rate" <| fun () ->
            use scope = torch.NewDisposeScope()
            let run = Plda.build { smallConfig with Background = LearnedBackground } (network 3)
            let names = run.Model.state_dict().Keys |> List.ofSeq
            Expect.contains names "baseline.classifier.weight" "state-dict key baseline.classifier.weight"
            Expect.contains names "discriminator.heads.2.weight" "state-dict key discriminator.heads.2.weight"
            Expect.contains names "background.weight" "state-dict key background.weight"
            let plda = run.Method.Groups |> List.find (fun g -> g.name = "plda")
            Expect.equal plda.lr_mult 10.0 "plda.lr_mult"
            let discParams = run.Model.Discriminator.Value.parameters () |> Seq.length
            Expect.equal plda.parameters.Count (discParams + 2) "plda.parameters.Count"
            // the predictor's CAM is the baseline's scores
            let b = batch 5L 2 3
            let cam = run.Method.Predict.Cam.Value b.Images
            Expect.equal cam.shape [| 2L; 3L; 4L; 4L |] "cam.shape"
            run.Model.Dispose()

        testCase "with every term off PLDA is exactly its baseline" <| fun () ->
            use scope = torch.NewDisposeScope()
            let cfg = { smallConfig with DomainAdaptation = false; CpsSource = false; CpsTarget = false }
            let run = Plda.build cfg (network 3)
            let losses = run.Method.Step { Step = 0; Total = 1 } (batch 3L 4 3)
            Expect.equal (losses |> List.map fst) [ "cls" ] "losses |> List.map fst"
            run.Model.Dispose()

        testCase "diagnostics see disjoint domains whose fractions add up" <| fun () ->
            use scope = torch.NewDisposeScope()
            let run, _ = train smallConfig 2
            let d = run.Diagnostics
            Expect.equal d.Steps 2 "d.Steps"
            Expect.isTrue (d.SourceFraction > 0.0) (string d)
            Expect.isTrue (d.SourceFraction + d.TargetFraction <= 1.0) (string d)
            Expect.isTrue (d.CpsSourceFraction <= d.SourceFraction && d.CpsTargetFraction <= d.TargetFraction) (string d)
            run.Model.Dispose()
    ]

module Hybrid.Wsss.Tests.AuxSegNetStageTests

open System
open Expecto
open TorchSharp
open Hybrid.Wsss
open Hybrid.Wsss.Schedules
open Hybrid.Wsss.Training
open Hybrid.Wsss.Methods.AuxSegNetPlus
open Hybrid.Wsss.Tests.AuxSegNetKit
open Hybrid.TestSupport.Expectations

type private Event =
    | Trained of Phase * int
    | Regenerated of Phase

/// A phase trainer that reports a fixed metric sequence per phase and logs what happened.
let private fakeTrainer (log: ResizeArray<Event>) (metrics: Phase -> int -> float) : PhaseTrainer =
    fun phase onEpoch ->
        let mutable epoch = 0
        let mutable stop = false
        while not stop do
            log.Add(Trained(phase, epoch))
            stop <- (onEpoch epoch (metrics phase epoch)).Stop
            epoch <- epoch + 1

/// Fixed tiny training set: 3 batches of 2 images; the stream cycles through them.
let private tinyData (validate: (Predictor -> float) option) : StageData =
    let batches = [| for i in 0 .. 2 -> batch (100L + int64 i) 2 |]
    { Train = fun _ start -> Seq.initInfinite (fun i -> batches.[(start + i) % batches.Length])
      Generation = fun () -> Seq.ofArray batches
      StepsPerEpoch = 2
      Targets = StageData.byId
      ToRgb = toRgb
      Validate = validate }

let private quietTraining () =
    { TrainConfig.defaults 1 (Schedule.constant 1e-3) with LogEvery = 1 }

[<Tests>]
let tests =
    testList "AuxSegNetStage" [
        testCase "the stage loop regenerates labels between stages and stops early on a plateau" <| fun () ->
            let plan = { ClassificationEpochs = 2; Stages = 3; MaxEpochsPerStage = 10; Patience = 2; Goal = Maximise }
            let log = ResizeArray<Event>()
            // stage 0 plateaus after epoch 1 (stop after epochs 2 and 3), stage 1 keeps improving for
            // its whole budget, stage 2 never improves after its first epoch
            let metrics phase epoch =
                match phase with
                | Classification -> nan
                | LabelStage 0 -> [| 0.1; 0.2; 0.2; 0.15; 0.9; 0.9 |].[epoch]
                | LabelStage 1 -> float epoch
                | LabelStage _ -> 0.5
            let summaries = StageDriver.run plan (fakeTrainer log metrics) (fun p -> log.Add(Regenerated p))
            let expected =
                [ Trained(Classification, 0); Trained(Classification, 1)
                  Regenerated(LabelStage 0)
                  Trained(LabelStage 0, 0); Trained(LabelStage 0, 1); Trained(LabelStage 0, 2); Trained(LabelStage 0, 3)
                  Regenerated(LabelStage 1) ]
                @ [ for e in 0 .. 9 -> Trained(LabelStage 1, e) ]
                @ [ Regenerated(LabelStage 2); Trained(LabelStage 2, 0); Trained(LabelStage 2, 1); Trained(LabelStage 2, 2) ]
            Expect.equal (List.ofSeq log) expected "List.ofSeq log"
            Expect.equal summaries.Length 4 "summaries.Length"
            Expect.equal (summaries.[1].Reason) Plateau "summaries.[1].Reason"
            Expect.equal (summaries.[1].Best) (Some { Epoch = 1; Metric = 0.2 }) "summaries.[1].Best"
            Expect.equal (summaries.[2].Reason) EpochBudget "summaries.[2].Reason"
            Expect.equal (summaries.[3].Reason) Plateau "summaries.[3].Reason"

        testCase "the stage loop marks new bests and rejects a trainer that quits early" <| fun () ->
            let plan = { ClassificationEpochs = 0; Stages = 1; MaxEpochsPerStage = 5; Patience = 2; Goal = Maximise }
            let bests = ResizeArray<bool>()
            let trainer: PhaseTrainer =
                fun _ onEpoch ->
                    let values = [| 0.3; 0.5; 0.4; 0.45 |]
                    let mutable e = 0
                    let mutable stop = false
                    while not stop do
                        let v = onEpoch e values.[e]
                        bests.Add v.NewBest
                        stop <- v.Stop
                        e <- e + 1
            let regenerated = ResizeArray<Phase>()
            StageDriver.run plan trainer regenerated.Add |> ignore
            Expect.equal (List.ofSeq bests) [ true; true; false; false ] "List.ofSeq bests"
            Expect.equal (List.ofSeq regenerated) [ LabelStage 0 ] "List.ofSeq regenerated"
            let quitter: PhaseTrainer = fun _ onEpoch -> onEpoch 0 1.0 |> ignore
            throws<InvalidOperationException> (fun () -> StageDriver.run plan quitter ignore |> ignore) |> ignore

        testCase "a stage-wise run on tiny data regenerates labels after every stage and scores them" <| fun () ->
            use scope = torch.NewDisposeScope()
            use net = tinyNetwork tinyConfig
            let seen = ResizeArray<int>()
            let losses = ResizeArray<Phase * (string * float) list>()
            let report = StageRunner.run net (tinyData None) (quietTraining ()) (fun p pr -> losses.Add((p, pr.Losses))) (fun l -> seen.Add l.Labels.Stage)
            // classification, stage 0, stage 1; labels for stages 0, 1 and the ones after stage 1
            Expect.equal report.Phases.Length 3 "report.Phases.Length"
            Expect.equal (List.ofSeq seen) [ 0; 1; 2 ] "List.ofSeq seen"
            Expect.isTrue (report.Labels |> List.forall (fun l -> l.Quality.IsSome && l.Labels.Images.Count = 6)) "report.Labels |> List.forall (fun l -> l.Quality.IsSome && l.Labels.Images.Count = 6)"
            let sal (l: StageLabels) = l.Labels.Images.["img100_0"].Saliency
            Expect.notEqual (sal report.Labels.[1]) (sal report.Labels.[0]) "sal report.Labels.[1]"
            // the classification phase trains the classifier alone; label stages every branch
            let names phase = losses |> Seq.filter (fun (p, _) -> p = phase) |> Seq.collect (snd >> List.map fst) |> Set.ofSeq
            Expect.equal (names Classification) (set [ "cls" ]) "the classification phase's terms"
            Expect.equal (names (LabelStage 1)) (set [ "cls"; "sal"; "sal_refined"; "seg"; "seg_refined" ]) "a label stage's terms"
            Expect.isTrue (losses |> Seq.forall (fun (_, l) -> l |> List.forall (fun (_, v) -> not (Double.IsNaN v || Double.IsInfinity v)))) "losses |> Seq.forall (fun (_, l) -> l |> List.forall (fun (_, v) -> not (Double.IsNaN v..."

        testCase "without iterative refinement every stage trains on stage 0's labels; validation drives early stopping" <| fun () ->
            use scope = torch.NewDisposeScope()
            use net = tinyNetwork { tinyConfig with IterativeRefinement = false; Stages = 2; CamScales = [ 1.0 ]; MaxEpochsPerStage = 4; Patience = 1 }
            // a validation score that never improves: each stage stops after patience + 1 = 2 epochs
            let report = StageRunner.run net (tinyData (Some(fun _ -> 0.5))) (quietTraining ()) (fun _ _ -> ()) ignore
            Expect.equal report.Labels.Length 2 "report.Labels.Length"
            Expect.isTrue (obj.ReferenceEquals(report.Labels.[0].Labels.Images, report.Labels.[1].Labels.Images)) "stage 1 trains on the very label set of stage 0"
            for phase, metrics in report.EpochMetrics do
                match phase with
                | LabelStage _ -> Expect.equal metrics [ 0.5; 0.5 ] "metrics"
                | Classification -> Expect.equal metrics.Length 1 "metrics.Length"
    ]

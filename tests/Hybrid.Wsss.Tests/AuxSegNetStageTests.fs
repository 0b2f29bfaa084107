module Hybrid.Wsss.Tests.AuxSegNetStageTests

open System
open Xunit
open Hybrid.Torch
open Hybrid.Wsss
open Hybrid.Wsss.Schedules
open Hybrid.Wsss.Training
open Hybrid.Wsss.Methods.AuxSegNetPlus
open Hybrid.Wsss.Tests.AuxSegNetKit

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

[<Fact>]
let ``the stage loop regenerates labels between stages and stops early on a plateau`` () =
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
    Assert.Equal<Event list>(expected, List.ofSeq log)
    Assert.Equal(4, summaries.Length)
    Assert.Equal(Plateau, summaries.[1].Reason)
    Assert.Equal(Some { Epoch = 1; Metric = 0.2 }, summaries.[1].Best)
    Assert.Equal(EpochBudget, summaries.[2].Reason)
    Assert.Equal(Plateau, summaries.[3].Reason)

[<Fact>]
let ``the stage loop marks new bests and rejects a trainer that quits early`` () =
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
    Assert.Equal<bool list>([ true; true; false; false ], List.ofSeq bests)
    Assert.Equal<Phase list>([ LabelStage 0 ], List.ofSeq regenerated)
    let quitter: PhaseTrainer = fun _ onEpoch -> onEpoch 0 1.0 |> ignore
    Assert.Throws<InvalidOperationException>(fun () -> StageDriver.run plan quitter ignore |> ignore) |> ignore

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

[<Fact>]
let ``a stage-wise run on tiny data regenerates labels after every stage and scores them`` () =
    use scope = torch.NewDisposeScope()
    use net = tinyNetwork tinyConfig
    let seen = ResizeArray<int>()
    let losses = ResizeArray<Phase * (string * float) list>()
    let report = StageRunner.run net (tinyData None) (quietTraining ()) (fun p pr -> losses.Add((p, pr.Losses))) (fun l -> seen.Add l.Labels.Stage)
    // classification, stage 0, stage 1; labels for stages 0, 1 and the ones after stage 1
    Assert.Equal(3, report.Phases.Length)
    Assert.Equal<int list>([ 0; 1; 2 ], List.ofSeq seen)
    Assert.True(report.Labels |> List.forall (fun l -> l.Quality.IsSome && l.Labels.Images.Count = 6))
    let sal (l: StageLabels) = l.Labels.Images.["img100_0"].Saliency
    Assert.NotEqual<byte[]>(sal report.Labels.[0], sal report.Labels.[1])
    // the classification phase trains the classifier alone; label stages every branch
    let names phase = losses |> Seq.filter (fun (p, _) -> p = phase) |> Seq.collect (snd >> List.map fst) |> Set.ofSeq
    Assert.Equal<Set<string>>(set [ "cls" ], names Classification)
    Assert.Equal<Set<string>>(set [ "cls"; "sal"; "sal_refined"; "seg"; "seg_refined" ], names (LabelStage 1))
    Assert.True(losses |> Seq.forall (fun (_, l) -> l |> List.forall (fun (_, v) -> not (Double.IsNaN v || Double.IsInfinity v))))

[<Fact>]
let ``without iterative refinement every stage trains on stage 0's labels; validation drives early stopping`` () =
    use scope = torch.NewDisposeScope()
    use net = tinyNetwork { tinyConfig with IterativeRefinement = false; Stages = 2; CamScales = [ 1.0 ]; MaxEpochsPerStage = 4; Patience = 1 }
    // a validation score that never improves: each stage stops after patience + 1 = 2 epochs
    let report = StageRunner.run net (tinyData (Some(fun _ -> 0.5))) (quietTraining ()) (fun _ _ -> ()) ignore
    Assert.Equal(2, report.Labels.Length)
    Assert.Same(report.Labels.[0].Labels.Images, report.Labels.[1].Labels.Images)
    for phase, metrics in report.EpochMetrics do
        match phase with
        | LabelStage _ -> Assert.Equal<float list>([ 0.5; 0.5 ], metrics)
        | Classification -> Assert.Equal(1, metrics.Length)

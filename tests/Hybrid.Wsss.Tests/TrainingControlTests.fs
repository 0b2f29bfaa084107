module Hybrid.Wsss.Tests.TrainingControlTests

open Expecto
open FsCheck
open FsCheck.FSharp
open Hybrid.Wsss.Schedules
open Hybrid.Wsss.Tests.Generators
open Hybrid.Wsss.Tests.Properties

let private observeAll (es: EarlyStopping) (metrics: float list) =
    metrics
    |> List.mapFold (fun s m ->
        let s', v = EarlyStopping.observe m s
        v, s') es

[<Tests>]
let tests =
    testList "TrainingControl" [
        testCase "early stopping stops on a plateau of a fake metric sequence" <| fun () ->
            // best 0.30 at epoch 2; epochs 3..7 do not beat it (0.30 is not > 0.30): 5 misses, stop
            let verdicts, es = observeAll (EarlyStopping.create Maximise 5) [ 0.10; 0.20; 0.30; 0.30; 0.29; 0.25; 0.30; 0.20 ]
            Expect.equal verdicts [ Improved; Improved; Improved; NoImprovement 4; NoImprovement 3; NoImprovement 2; NoImprovement 1; Stop ] "verdicts"
            Expect.equal es.Best (Some { Epoch = 2; Metric = 0.30 }) "es.Best"
            // minimising a loss, NaN counts as no improvement
            let verdicts, es = observeAll (EarlyStopping.create Minimise 2) [ 1.0; 0.5; nan; 0.6 ]
            Expect.equal verdicts [ Improved; Improved; NoImprovement 1; Stop ] "verdicts"
            Expect.equal es.Best (Some { Epoch = 1; Metric = 0.5 }) "es.Best"

        property "early stopping agrees with a reference model" (
            let gen = gen {
                let! patience = Gen.choose (1, 5)
                let! n = Gen.choose (1, 30)
                // coarse values so ties and plateaus happen
                let! metrics = Gen.listOfLength n (Gen.choose (0, 6) |> Gen.map (fun i -> float i / 6.0))
                return patience, metrics
            }
            Prop.forAll (Arb.fromGen gen) (fun (patience, metrics) ->
                let verdicts, _ = observeAll (EarlyStopping.create Maximise patience) metrics
                // reference: the first epoch at which `patience` epochs have passed since the best
                let stopAt =
                    metrics
                    |> List.indexed
                    |> List.scan (fun (bestIdx, bestVal, _) (i, m) -> if m > bestVal then (i, m, i) else (bestIdx, bestVal, i)) (-1, -infinity, -1)
                    |> List.tail
                    |> List.tryFind (fun (bestIdx, _, i) -> i - bestIdx >= patience)
                    |> Option.map (fun (_, _, i) -> i)
                let firstStop = verdicts |> List.tryFindIndex (fun v -> v = Stop)
                firstStop = stopAt))

        testCase "stage-wise training regenerates labels between stages and stops early on plateaus" <| fun () ->
            let plan =
                { ClassificationEpochs = 2
                  Stages = 3
                  MaxEpochsPerStage = 6
                  Patience = 2
                  Goal = Maximise }
            // fake validation metrics per phase
            let metrics phase epoch =
                match phase with
                | Classification -> 0.0
                | LabelStage 0 -> [| 0.1; 0.2; 0.3; 0.4; 0.5; 0.6 |].[epoch] // keeps improving: budget
                | LabelStage 1 -> [| 0.5; 0.4; 0.3; 0.9; 0.9; 0.9 |].[epoch] // plateau after epoch 0
                | LabelStage _ -> [| 0.2; 0.3; 0.3; 0.3; 0.9; 0.9 |].[epoch] // plateau after epoch 1
            let log = ResizeArray<string>()
            let summaries =
                StageTraining.run
                    plan
                    (fun phase epoch ->
                        log.Add(sprintf "train %A %d" phase epoch)
                        metrics phase epoch)
                    (fun phase -> log.Add(sprintf "labels for %A" phase))
            let expectedLog =
                [ "train Classification 0"; "train Classification 1"; "labels for LabelStage 0" ]
                @ [ for e in 0..5 -> sprintf "train LabelStage 0 %d" e ]
                @ [ "labels for LabelStage 1" ]
                @ [ for e in 0..2 -> sprintf "train LabelStage 1 %d" e ]
                @ [ "labels for LabelStage 2" ]
                @ [ for e in 0..3 -> sprintf "train LabelStage 2 %d" e ]
            Expect.equal (List.ofSeq log) expectedLog "List.ofSeq log"
            let expectedSummaries =
                [ { Phase = Classification; Epochs = 2; Best = None; Reason = EpochBudget }
                  { Phase = LabelStage 0; Epochs = 6; Best = Some { Epoch = 5; Metric = 0.6 }; Reason = EpochBudget }
                  { Phase = LabelStage 1; Epochs = 3; Best = Some { Epoch = 0; Metric = 0.5 }; Reason = Plateau }
                  { Phase = LabelStage 2; Epochs = 4; Best = Some { Epoch = 1; Metric = 0.3 }; Reason = Plateau } ]
            Expect.equal summaries expectedSummaries "phase summaries"

        property "every stage respects its epoch budget and labels are regenerated once per stage" (
            let gen = gen {
                let! cls = Gen.choose (0, 3)
                let! stages = Gen.choose (1, 4)
                let! maxEpochs = Gen.choose (1, 8)
                let! patience = Gen.choose (1, 4)
                let! metrics = Gen.arrayOfLength 64 (floatIn 0.0 1.0)
                return { ClassificationEpochs = cls; Stages = stages; MaxEpochsPerStage = maxEpochs; Patience = patience; Goal = Maximise }, metrics
            }
            Prop.forAll (Arb.fromGen gen) (fun (plan, metrics) ->
                let mutable i = 0
                let mutable regenerations = 0
                let summaries =
                    StageTraining.run
                        plan
                        (fun _ _ ->
                            i <- i + 1
                            metrics.[(i - 1) % metrics.Length])
                        (fun _ -> regenerations <- regenerations + 1)
                let stages = summaries |> List.filter (fun s -> s.Phase <> Classification)
                regenerations = plan.Stages
                && stages.Length = plan.Stages
                && stages |> List.forall (fun s -> s.Epochs >= 1 && s.Epochs <= plan.MaxEpochsPerStage)))
    ]

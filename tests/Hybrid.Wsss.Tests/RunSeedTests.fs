/// A run's seed fixes the run: the registered methods seed libtorch before building their model,
/// so two runs of one seed end with the same weights whatever drew from the generator before.
module Hybrid.Wsss.Tests.RunSeedTests

open Expecto
open Hybrid.Wsss.Tests.SingleThread
open TorchSharp
open Hybrid.Wsss
open Hybrid.Wsss.Training
open Hybrid.Wsss.Methods
open Hybrid.Wsss.Tests.TensorValues

/// Trains the registered method `name` for 2 steps with `seed`; returns its weights by name.
let private trainedWeights (name: string) (seed: int) : (string * float32[]) list =
    let entry = Registry.all |> List.find (fun e -> e.Name = name)
    let ctx: RunContext =
        { Env = TinyScenes.env 2
          Config = { TinyScenes.config 2 with Seed = seed }
          Batches = TinyScenes.batches entry.Recipe.StrongView
          BatchesOf = fun _ _ -> Seq.empty
          ValBatches = fun () -> Seq.empty
          OnProgress = ignore
          Log = ignore }
    // one libtorch thread: the comparison is exact
    let m = singleThreaded (fun () -> entry.Train ctx [])
    try
        [ for struct (n, p) in m.Model.named_parameters () -> n, floats p ]
    finally
        m.Model.Dispose()

/// Draws from libtorch's generator as other work in the process (or another process's
/// unseeded start) would before a run.
let private disturbGenerator (k: int64) =
    torch.manual_seed (1000L + k) |> ignore
    use _ = torch.randn ([| 1000L + k |])
    ()

[<Tests>]
let tests =
    testList "RunSeed" [
        testList "one seed gives the same trained weights whatever drew from the generator before" [
            for name in [ "cam"; "cosa" ] ->
                testCase name <| fun () ->
                    disturbGenerator 1L
                    let a = trainedWeights name 3
                    disturbGenerator 2L
                    let b = trainedWeights name 3
                    Expect.equal (List.map fst b) (List.map fst a) "List.map fst b"
                    for (n, x), (_, y) in List.zip a b do
                        Expect.isTrue (x = y) ($"{name}: {n} differs between two runs of seed 3")
        ]

        testCase "different seeds give different trained weights" <| fun () ->
            let a = trainedWeights "cam" 3 |> Map.ofList
            let b = trainedWeights "cam" 4 |> Map.ofList
            Expect.exists a (fun kv -> kv.Value <> b[kv.Key]) "some weight differs between seeds 3 and 4"
    ]

/// The suite's one runner: collects the [<Tests>] of every test library, runs them one after
/// another (libtorch's generator, thread count and grad mode are process-wide), and ends with
/// the line "N passed, N failed". Expecto's own arguments pass through (--filter, --summary, ...).
module Hybrid.Tests.Program

open System
open Expecto
open Expecto.Impl

let private libraries =
    [ "Torch", "Hybrid.Torch.Tests"
      "Data", "Hybrid.Data.Tests"
      "Vision", "Hybrid.Vision.Tests"
      "Wsss", "Hybrid.Wsss.Tests"
      "Cli", "Hybrid.Cli.Tests" ]

let private suite () =
    libraries
    |> List.map (fun (name, assembly) ->
        let asm = Reflection.Assembly.Load assembly
        match testFromAssembly asm with
        | Some t -> testList name [ t ]
        | None -> failwithf "test library %s has no [<Tests>]" assembly)
    |> testList "Hybrid"

[<EntryPoint>]
let main argv =
    Hybrid.Torch.TorchRuntime.Init()
    let mutable counts = (0, 0)
    let summarise (s: TestRunSummary) =
        counts <- (s.passed.Length, s.failed.Length + s.errored.Length)
    let config =
        { defaultConfig with
            runInParallel = false
            printer = { defaultConfig.printer with summary = fun c s -> summarise s; defaultConfig.printer.summary c s } }
    let rc = runTestsWithCLIArgs [ CLIArguments.Sequenced ] argv (suite ())
    let passed, failed = counts
    printfn "%d passed, %d failed" passed failed
    if passed = 0 && failed = 0 then 1 else rc

/// The suite's one runner: collects the [<Tests>] of every test library, runs them one after
/// another (libtorch's generator, thread count and grad mode are process-wide), and ends with
/// the line "N passed, N failed" (failed counts failures and errors). Expecto's own arguments
/// pass through (--filter-test-list Torch, --summary, --list-tests, ...). The exit code is
/// non-zero when a test failed or when no test ran.
module Hybrid.Tests.Program

open System
open System.Reflection
open Expecto
open Expecto.Impl

/// Test library assemblies, each under the name its tests are listed by.
let private libraries =
    [ "Torch", "Hybrid.Torch.Tests"
      "Data", "Hybrid.Data.Tests"
      "Vision", "Hybrid.Vision.Tests"
      "Wsss", "Hybrid.Wsss.Tests"
      "Cli", "Hybrid.Cli.Tests" ]

let private suite () : Test =
    libraries
    |> List.map (fun (name, assembly) ->
        match testFromAssembly (Assembly.Load(AssemblyName assembly)) with
        | Some t -> testList name [ t ]
        | None -> failwithf "test library %s has no [<Tests>] value" assembly)
    |> testList "Hybrid"

/// Arguments after which Expecto lists or explains instead of running tests.
let private noRunArguments = set [ "--list-tests"; "--help"; "-h"; "/?"; "-?" ]

[<EntryPoint>]
let main argv =
    Hybrid.Torch.TorchRuntime.Init()
    let mutable counts : (int * int) option = None
    let record (s: TestRunSummary) = counts <- Some(s.passed.Length, s.failed.Length + s.errored.Length)
    let rc =
        runTestsWithCLIArgs
            [ CLIArguments.Sequenced
              CLIArguments.Fail_On_Focused_Tests                          // ftest is not allowed in this suite
              CLIArguments.Append_Summary_Handler(SummaryHandler record) ]
            argv (suite ())
    // Straight to the process's standard output, after a line break: Expecto's own printfn pads
    // to 40 columns, and its console writer ends every block with a colour reset after the last
    // line break, which would otherwise lead the final line.
    let finalLine (passed: int) (failed: int) =
        Console.Out.Flush()
        use out = new IO.StreamWriter(Console.OpenStandardOutput())
        out.Write("\n" + string passed + " passed, " + string failed + " failed\n")
    match counts with
    | None when argv |> Array.exists noRunArguments.Contains -> rc     // listing or usage: no test run meant
    | None ->
        finalLine 0 0
        if rc = 0 then 1 else rc
    | Some(passed, failed) ->
        finalLine passed failed
        if failed > 0 then max rc 1
        elif passed = 0 then 1
        else rc

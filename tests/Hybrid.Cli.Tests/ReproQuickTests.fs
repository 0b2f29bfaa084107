/// `hybrid repro --quick` runs every row of every paper's table on a tiny generated set (1 seed,
/// 4 steps) and writes a table with a number in every row: the commands the paper-repro
/// READMEs give work end to end.
module Hybrid.Cli.Tests.ReproQuickTests

open System
open System.IO
open Expecto
open Argu
open Hybrid.Cli.Commands
open Hybrid.Cli.Tests.ReproSpecTests
open Hybrid.TestSupport.Expectations

let private quick (specPath: string) =
    // a copy of the spec and its own run store in a temp folder
    let dir = Path.Combine(Path.GetTempPath(), "hybrid-repro-test-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory dir |> ignore
    let spec = Path.Combine(dir, "table.json")
    File.Copy(specPath, spec)
    let parser = ArgumentParser.Create<ReproCmd.Args>(programName = "hybrid repro")
    let rc = ReproCmd.run (parser.ParseCommandLine [| "--spec"; spec; "--quick"; "--runs"; Path.Combine(dir, "runs") |])
    dir, rc

[<Tests>]
let tests =
    testList "ReproQuick" [
        testList "repro --quick fills every row of the table" [
            for paper in [ "plda"; "csd"; "cosa"; "auxsegnet-plus"; "pretrained-backbone" ] ->
                testCase paper <| fun () ->
                    let dir, rc = quick (Path.Combine(repoRoot, "paper-repro", paper, "table.json"))
                    try
                        Expect.equal rc 0 "rc"
                        // with --runs the table goes into the run store, never over the one beside the spec
                        Expect.isFalse (File.Exists(Path.Combine(dir, "RESULTS-quick.md"))) "nothing written beside the spec"
                        let table () = Directory.GetFiles(Path.Combine(dir, "runs"), "*-RESULTS-quick.md") |> Array.exactlyOne
                        let md = File.ReadAllText(table ())
                        Expect.stringContains md "QUICK MODE" "'QUICK MODE'"
                        let spec = ReproCmd.parse (Path.Combine(dir, "table.json"))
                        let rows = md.Split('\n') |> Array.filter (fun l -> l.StartsWith "| " && not (l.StartsWith "| row"))
                        Expect.equal rows.Length spec.Rows.Length "rows.Length"
                        for r in rows do
                            doesNotContain r "not run" "'not run'"
                            doesNotContain r "n/a" "'n/a'"
                        // the table is a function of the finished run folders: rebuilt without training, it is the same
                        let parser = ArgumentParser.Create<ReproCmd.Args>(programName = "hybrid repro")
                        let again = ReproCmd.run (parser.ParseCommandLine [| "--spec"; Path.Combine(dir, "table.json"); "--quick"; "--no-train"; "--runs"; Path.Combine(dir, "runs") |])
                        Expect.equal again 0 "again"
                        Expect.equal (File.ReadAllText(table ())) md "the table rebuilt from the finished runs"
                    finally
                        if Directory.Exists dir then Directory.Delete(dir, true)
        ]
    ]

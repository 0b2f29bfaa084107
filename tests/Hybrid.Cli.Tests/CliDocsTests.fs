/// docs/cli.md is generated from the parser (scripts/cli-docs.sh); these tests fail when a
/// command's options change and the page was not regenerated, or when anything but the
/// parser's text (build output) got into it.
module Hybrid.Cli.Tests.CliDocsTests

open System.IO
open Expecto
open Argu
open Hybrid.Cli
open Hybrid.TestSupport.Expectations

let private page () = File.ReadAllText(Path.Combine(ReproSpecTests.repoRoot, "docs", "cli.md")).Replace("\r\n", "\n")

let private normalise (s: string) = s.Replace("\r\n", "\n").TrimEnd()

[<Tests>]
let tests =
    testList "CliDocs" [
        testCase "docs/cli.md holds the parser's current top-level usage" <| fun () ->
            let usage = normalise (Program.parser.PrintUsage())
            Expect.stringContains (page ()) usage "usage"

        testCase "docs/cli.md holds the current usage of train and repro" <| fun () ->
            let text = page ()
            let train = normalise (ArgumentParser.Create<Commands.TrainCmd.Args>(programName = "hybrid train").PrintUsage())
            let repro = normalise (ArgumentParser.Create<Commands.ReproCmd.Args>(programName = "hybrid repro").PrintUsage())
            Expect.stringContains text train "train"
            Expect.stringContains text repro "repro"

        testCase "docs/cli.md holds every method's settings table and the exit codes" <| fun () ->
            let text = page ()
            for entry in Hybrid.Wsss.Methods.Registry.all do
                Expect.stringContains text (Commands.SettingsCmd.markdown entry) $"the settings of {entry.Name}"
            Expect.stringContains text (normalise Program.exitCodesText) "the exit codes"

        testCase "docs/cli.md has no build output in it" <| fun () ->
            let text = page ()
            for noise in [ "Build succeeded"; "Time Elapsed"; "Warning(s)"; "error FS" ] do
                doesNotContain text noise "noise"
    ]

/// docs/cli.md is generated from the parser (scripts/cli-docs.sh); these tests fail when a
/// command's options change and the page was not regenerated, or when anything but the
/// parser's text (build output) got into it.
module Hybrid.Cli.Tests.CliDocsTests

open System.IO
open Xunit
open Argu
open Hybrid.Cli

let private page () = File.ReadAllText(Path.Combine(ReproSpecTests.repoRoot, "docs", "cli.md")).Replace("\r\n", "\n")

let private normalise (s: string) = s.Replace("\r\n", "\n").TrimEnd()

[<Fact>]
let ``docs/cli.md holds the parser's current top-level usage`` () =
    let usage = normalise (Program.parser.PrintUsage())
    Assert.Contains(usage, page ())

[<Fact>]
let ``docs/cli.md holds the current usage of train and repro`` () =
    let text = page ()
    let train = normalise (ArgumentParser.Create<Commands.TrainCmd.Args>(programName = "hybrid train").PrintUsage())
    let repro = normalise (ArgumentParser.Create<Commands.ReproCmd.Args>(programName = "hybrid repro").PrintUsage())
    Assert.Contains(train, text)
    Assert.Contains(repro, text)

[<Fact>]
let ``docs/cli.md has no build output in it`` () =
    let text = page ()
    for noise in [ "Build succeeded"; "Time Elapsed"; "Warning(s)"; "error FS" ] do
        Assert.DoesNotContain(noise, text)

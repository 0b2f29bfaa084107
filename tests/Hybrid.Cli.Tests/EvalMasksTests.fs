/// `hybrid eval masks`: a folder of label PNGs scored against a split's ground truth (how the
/// per-stage pseudo labels of AuxSegNet+ or the output of `hybrid labels` are measured).
module Hybrid.Cli.Tests.EvalMasksTests

open System
open System.IO
open Argu
open Expecto
open Hybrid.Data
open Hybrid.Wsss.Reports
open Hybrid.Cli.Commands
open Hybrid.TestSupport.Expectations

let private scenes () =
    let dir = Path.Combine(Path.GetTempPath(), "hybrid-eval-masks-" + Guid.NewGuid().ToString("N"))
    FmnistScenes.Generate(FmnistScenesOptions(dir, Train = 6, Val = 4, Size = 32, Seed = 3L)) |> ignore
    dir

[<Tests>]
let tests =
    testList "EvalMasks" [
        testCase "the ground truth scores 100, a damaged copy less, a missing file is named" <| fun () ->
            let data = scenes ()
            try
                let gt = Path.Combine(data, "SegmentationClass")
                let _, perfect = RunCmds.scoreMasks gt data VocSplit.Train
                equalRounded 12 perfect.MeanIoU 1.0 "perfect.MeanIoU"
                // a copy where every image is called background
                let copy = Path.Combine(data, "all-background")
                Directory.CreateDirectory copy |> ignore
                for f in Directory.GetFiles(gt, "*.png") do
                    let m = ImageIO.Read f
                    ImageIO.WritePng(Path.Combine(copy, Path.GetFileName f), Image.Indexed(m.Width, m.Height, Array.zeroCreate m.Pixels.Length, VocPalette.Create 256))
                let _, bg = RunCmds.scoreMasks copy data VocSplit.Train
                Expect.isTrue (bg.MeanIoU < 0.5) ($"all-background mIoU {bg.MeanIoU}")
                equalRounded 12 bg.ForegroundIoU 0.0 "bg.ForegroundIoU"
                let victim = Directory.GetFiles(copy, "*.png") |> Array.sort |> Array.head
                File.Delete victim
                let e = throws<FileNotFoundException> (fun () -> RunCmds.scoreMasks copy data VocSplit.Train |> ignore)
                Expect.stringContains e.Message (Path.GetFileNameWithoutExtension victim) "Path.GetFileNameWithoutExtension victim"
            finally
                Directory.Delete(data, true)

        // One split type: the option parses to the reader's VocSplit, and results name the split
        // by the reader's file name.
        testCase "--split is the reader's split, named as the reader names it" <| fun () ->
            let parser = ArgumentParser.Create<RunCmds.EvalArgs>(programName = "hybrid eval")
            for name, split in [ "train", VocSplit.Train; "val", VocSplit.Val ] do
                let a = parser.Parse [| "masks"; "--labels"; "x"; "--split"; name |]
                Expect.equal (a.GetResult RunCmds.EvalArgs.Split) split $"--split {name}"
                Expect.equal (VocReader.SplitFileName split) name $"the file name of {split}"
            let data = scenes ()
            try
                let classNames, r = RunCmds.scoreMasks (Path.Combine(data, "SegmentationClass")) data VocSplit.Val
                Expect.equal r.Split VocSplit.Val "r.Split"
                Expect.stringContains (Markdown.perClass classNames r) "(split: val)" "the table names the split"
            finally
                Directory.Delete(data, true)
    ]

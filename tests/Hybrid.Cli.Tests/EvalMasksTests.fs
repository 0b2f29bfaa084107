/// `hybrid eval masks`: a folder of label PNGs scored against a split's ground truth (how the
/// per-stage pseudo labels of AuxSegNet+ or the output of `hybrid labels` are measured).
module Hybrid.Cli.Tests.EvalMasksTests

open System
open System.IO
open Xunit
open Hybrid.Data
open Hybrid.Cli.Commands

let private scenes () =
    let dir = Path.Combine(Path.GetTempPath(), "hybrid-eval-masks-" + Guid.NewGuid().ToString("N"))
    FmnistScenes.Generate(FmnistScenesOptions(dir, Train = 6, Val = 4, Size = 32, Seed = 3L)) |> ignore
    dir

[<Fact>]
let ``the ground truth scores 100, a damaged copy less, a missing file is named`` () =
    let data = scenes ()
    try
        let gt = Path.Combine(data, "SegmentationClass")
        let _, perfect = RunCmds.scoreMasks gt data RunCmds.Train
        Assert.Equal(1.0, perfect.MeanIoU, 12)
        // a copy where every image is called background
        let copy = Path.Combine(data, "all-background")
        Directory.CreateDirectory copy |> ignore
        for f in Directory.GetFiles(gt, "*.png") do
            let m = ImageIO.Read f
            ImageIO.WritePng(Path.Combine(copy, Path.GetFileName f), Image.Indexed(m.Width, m.Height, Array.zeroCreate m.Pixels.Length, VocPalette.Create 256))
        let _, bg = RunCmds.scoreMasks copy data RunCmds.Train
        Assert.True(bg.MeanIoU < 0.5, $"all-background mIoU {bg.MeanIoU}")
        Assert.Equal(0.0, bg.ForegroundIoU, 12)
        let victim = Directory.GetFiles(copy, "*.png") |> Array.sort |> Array.head
        File.Delete victim
        let e = Assert.Throws<FileNotFoundException>(fun () -> RunCmds.scoreMasks copy data RunCmds.Train |> ignore)
        Assert.Contains(Path.GetFileNameWithoutExtension victim, e.Message)
    finally
        Directory.Delete(data, true)

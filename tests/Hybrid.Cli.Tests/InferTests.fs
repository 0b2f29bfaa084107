/// `hybrid infer` never writes among its inputs, segments every readable image and lists the
/// unreadable ones with their reason (exit code 4), and gives inputs that share a stem distinct
/// masks (issue 21, point 4).
module Hybrid.Cli.Tests.InferTests

open System
open System.IO
open Expecto
open Argu
open Hybrid.Data
open Hybrid.Cli.Commands

let private temp = TempDirs.create "infer"

/// A tiny dataset and a supervised run on it (4 steps): a method with a segmentation output.
let private fixture =
    lazy
        (let root = temp "run"
         let data = Path.Combine(root, "data")
         FmnistScenes.Generate(FmnistScenesOptions(data, Train = 6, Val = 4, Size = 32, Seed = 3L)) |> ignore
         let run = Path.Combine(root, "run")
         let parser = ArgumentParser.Create<TrainCmd.Args>(programName = "hybrid train")
         let rc = TrainCmd.run (parser.ParseCommandLine [| "--method"; "supervised"; "--data"; data; "--steps"; "4"; "--batch-size"; "2"; "--crop"; "32"; "--workers"; "1"; "--out"; run |])
         if rc <> 0 then failwith $"the fixture run failed (exit {rc})"
         data, run)

/// A scene of the dataset as an RGB image.
let private scene (i: int) =
    let data, _ = fixture.Force()
    ImageIO.Read(Directory.GetFiles(Path.Combine(data, "JPEGImages"), "*.jpg") |> Array.sort |> Array.item i).ToRgb()

let private infer (run: string) (images: string) (out: string) =
    let parser = ArgumentParser.Create<RunCmds.InferArgs>(programName = "hybrid infer")
    RunCmds.infer (parser.ParseCommandLine [| "--run"; run; "--images"; images; "--out"; out |])

let private contents (dir: string) =
    Directory.GetFiles(dir, "*", SearchOption.AllDirectories) |> Array.sort |> Array.map (fun f -> Path.GetRelativePath(dir, f), File.ReadAllBytes f)

let private names (dir: string) = Directory.GetFiles dir |> Array.map Path.GetFileName |> Array.sort |> List.ofArray

[<Tests>]
let tests =
    testList "Infer" [
        testCase "--out equal to or inside --images is refused with exit code 2 and the inputs stay as they were" <| fun () ->
            let _, run = fixture.Force()
            let images = temp "inputs"
            try
                ImageIO.WritePng(Path.Combine(images, "a.png"), scene 0)
                ImageIO.WriteJpeg(Path.Combine(images, "b.jpg"), scene 1)
                let before = contents images
                Expect.equal (infer run images images) 2 "--out equal to --images: exit code"
                Expect.equal (infer run (images + string Path.DirectorySeparatorChar) images) 2 "--images with a trailing separator: exit code"
                Expect.equal (infer run images (Path.Combine(images, "masks"))) 2 "--out inside --images: exit code"
                Expect.equal (contents images) before "the image folder is unchanged"
            finally
                Directory.Delete(images, true)

        testCase "inputs that share a stem get distinct masks (<name>.png), the others <stem>.png" <| fun () ->
            let _, run = fixture.Force()
            let images, out = temp "inputs", temp "out"
            try
                ImageIO.WriteJpeg(Path.Combine(images, "a.jpg"), scene 0)
                ImageIO.WritePng(Path.Combine(images, "a.png"), scene 1)
                ImageIO.WriteJpeg(Path.Combine(images, "b.jpg"), scene 2)
                Expect.equal (infer run images out) 0 "exit code"
                Expect.equal (names out) [ "a.jpg.png"; "a.jpg_overlay.png"; "a.png.png"; "a.png_overlay.png"; "b.png"; "b_overlay.png" ] "one mask and one overlay per input"
                Expect.equal (RunCmds.outputNames [| "x/a.jpg"; "x/a.png"; "x/b.jpg"; "x/c.d.png" |]) [| "a.jpg"; "a.png"; "b"; "c.d" |] "outputNames"
            finally
                Directory.Delete(images, true); Directory.Delete(out, true)

        testCase "every readable image is segmented; each unreadable one is listed with its reason and the exit code is 4" <| fun () ->
            let _, run = fixture.Force()
            let images, out = temp "inputs", temp "out"
            try
                File.WriteAllBytes(Path.Combine(images, "a-broken.jpg"), Text.Encoding.ASCII.GetBytes "not a JPEG at all")
                ImageIO.WriteJpeg(Path.Combine(images, "b.jpg"), scene 0)
                ImageIO.WritePng(Path.Combine(images, "c-tiny.png"), Image(1, 1, 3, [| 200uy; 10uy; 10uy |]))
                ImageIO.WritePng(Path.Combine(images, "d.png"), scene 1)
                Expect.equal (infer run images out) RunCmds.inferSomeFailed "exit code: some inputs failed"
                Expect.equal RunCmds.inferSomeFailed 4 "the documented exit code"
                Expect.equal (names out) [ "b.png"; "b_overlay.png"; "d.png"; "d_overlay.png" ] "the readable images after the broken one are segmented"
                // the failures name each file with a reason
                let device = TorchSharp.torch.CPU
                let _, m, _ = Hybrid.Wsss.Runs.RunDriver.restore device run
                let written, failed = RunCmds.segmentFolder device m.Predict.Segment.Value images (temp "out2")
                m.Model.Dispose()
                Expect.equal written [ "b"; "d" ] "written"
                Expect.equal (failed |> List.map (fst >> Path.GetFileName)) [ "a-broken.jpg"; "c-tiny.png" ] "the failed files, named"
                for f, reason in failed do
                    Expect.isFalse (String.IsNullOrWhiteSpace reason) $"a reason for {f}"
            finally
                Directory.Delete(images, true); Directory.Delete(out, true)
    ]

/// A tiny FMNIST-Scenes set (16 train, 8 val, 32x32) generated once per test run in a temp
/// folder, and a tiny environment on it: what the training tests of every method use.
module Hybrid.Wsss.Tests.TinyScenes

open System.IO
open TorchSharp
open Hybrid.Data
open Hybrid.Vision.Backbones
open Hybrid.Wsss
open Hybrid.Wsss.Training
open Hybrid.Wsss.Data

let private root =
    lazy
        (let dir = Path.Combine(Path.GetTempPath(), $"hybrid-tiny-scenes-{System.Environment.ProcessId}")
         if not (File.Exists(Path.Combine(dir, FmnistScenes.ManifestFile))) then
             FmnistScenes.Generate(FmnistScenesOptions(dir, Train = 16, Val = 8, Size = 32, Seed = 7L)) |> ignore
         dir)

/// The folder of the tiny set (generated on first use).
let folder () = root.Force()

let train () = DataSource.openSplit (folder ()) VocSplit.Train None
let valSet () = DataSource.openSplit (folder ()) VocSplit.Val None

/// An environment with the CPU backbone at 32x32 crops.
let env (steps: int) =
    let ds = train ()
    { MethodEnv.onCpu (Array.ofSeq ds.ClassNames) "tiny_resnet" 32 steps with TrainSet = Some ds }

/// Training batches of 4 at 32x32 (strong views when asked), no worker threads.
let batches (strong: bool) =
    DataSource.trainStream torch.CPU (DataSource.trainLoader (train ()) 32 4 0 0 strong)

/// A loop configuration for `steps` steps (AdamW 1e-3, no run folder).
let config (steps: int) =
    { TrainConfig.defaults steps (fun _ -> 1e-3) with Optimizer = AdamW 1e-4; LogEvery = 1 }

/// Runs a method for a few steps; returns every logged step's losses.
let trainFew (steps: int) (m: Method) (strong: bool) =
    let logged = ResizeArray<(string * float) list>()
    Train.run (config steps) m (batches strong) (fun p -> logged.Add p.Losses) None |> ignore
    List.ofSeq logged

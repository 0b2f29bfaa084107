/// The `hybrid` command line: one Argu union per command, dispatched here.
module Hybrid.Cli.Program

open Argu
open Hybrid.Cli.Commands

[<RequireSubcommand>]
type CliArgs =
    | [<CliPrefix(CliPrefix.None)>] Version of ParseResults<Version.Args>
    | [<CliPrefix(CliPrefix.None)>] Data of ParseResults<DataCmd.Args>
    | [<CliPrefix(CliPrefix.None)>] Train of ParseResults<TrainCmd.Args>
    | [<CliPrefix(CliPrefix.None)>] Backbones of ParseResults<BackbonesCmd.ListArgs>
    | [<CliPrefix(CliPrefix.None)>] Weights of ParseResults<BackbonesCmd.WeightsArgs>
    | [<CliPrefix(CliPrefix.None)>] Features of ParseResults<BackbonesCmd.FeaturesArgs>
    | [<CliPrefix(CliPrefix.None)>] Demo_Mnist of ParseResults<MnistDemo.Args>
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Version _ -> "print libtorch version, threads, BLAS in use and CUDA availability"
            | Data _ -> "datasets: generate FMNIST-Scenes, compute saliency maps"
            | Backbones _ -> "list the registered backbones with their feature stages"
            | Weights _ -> "inspect a checkpoint against a backbone"
            | Features _ -> "write each stage's features of an image to safetensors"
            | Train _ -> "train a WSSS method (or the supervised upper bound), then evaluate it on val"
            | Demo_Mnist _ -> "train a small CNN on Fashion-MNIST for one epoch (a smoke test of the stack)"

let parser = ArgumentParser.Create<CliArgs>(programName = "hybrid", errorHandler = ProcessExiter())

[<EntryPoint>]
let main argv =
    let args = parser.ParseCommandLine argv
    try
        match args.GetSubCommand() with
        | Version a -> Version.run a
        | Data a -> DataCmd.run a
        | Backbones a -> BackbonesCmd.list a
        | Weights a -> BackbonesCmd.weights a
        | Features a -> BackbonesCmd.features a
        | Train a -> TrainCmd.run a
        | Demo_Mnist a -> MnistDemo.run a
    with
    | :? System.IO.FileNotFoundException as e -> Hybrid.Cli.Say.error e.Message; 2
    | :? System.IO.InvalidDataException as e -> Hybrid.Cli.Say.error e.Message; 2
    | :? Hybrid.Torch.TorchException as e -> Hybrid.Cli.Say.error e.Message; 3

/// The `hybrid` command line: one Argu union per command, dispatched here.
module Hybrid.Cli.Program

open Argu
open Hybrid.Cli.Commands

[<RequireSubcommand>]
type CliArgs =
    | [<CliPrefix(CliPrefix.None)>] Version of ParseResults<Version.Args>
    | [<CliPrefix(CliPrefix.None)>] Data of ParseResults<DataCmd.Args>
    | [<CliPrefix(CliPrefix.None)>] Train of ParseResults<TrainCmd.Args>
    | [<CliPrefix(CliPrefix.None)>] Train_Seg of ParseResults<TrainSegCmd.Args>
    | [<CliPrefix(CliPrefix.None)>] Compare of ParseResults<CompareCmd.Args>
    | [<CliPrefix(CliPrefix.None)>] Repro of ParseResults<ReproCmd.Args>
    | [<CliPrefix(CliPrefix.None)>] Eval of ParseResults<RunCmds.EvalArgs>
    | [<CliPrefix(CliPrefix.None)>] Labels of ParseResults<RunCmds.LabelsArgs>
    | [<CliPrefix(CliPrefix.None)>] Infer of ParseResults<RunCmds.InferArgs>
    | [<CliPrefix(CliPrefix.None)>] Backbones of ParseResults<BackbonesCmd.ListArgs>
    | [<CliPrefix(CliPrefix.None)>] Weights of ParseResults<BackbonesCmd.WeightsArgs>
    | [<CliPrefix(CliPrefix.None)>] Features of ParseResults<BackbonesCmd.FeaturesArgs>
    | [<CliPrefix(CliPrefix.None)>] Settings of ParseResults<SettingsCmd.Args>
    | [<CliPrefix(CliPrefix.None)>] Demo_Mnist of ParseResults<MnistDemo.Args>
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Version _ -> "print TorchSharp and libtorch versions, threads, MKL / oneDNN / OpenMP, CUDA availability and the malloc policy"
            | Data _ -> "datasets: generate FMNIST-Scenes, compute saliency maps"
            | Train_Seg _ -> "train DeepLab-LargeFOV on pseudo masks (--labels DIR) or on GT (--labels gt: the upper bound)"
            | Compare _ -> "headline numbers of several runs side by side"
            | Repro _ -> "run a paper's ablation table over seeds and write its results table"
            | Eval _ -> "evaluate a run: cam | pseudo | seg on a split (per-class IoU, precision, recall)"
            | Labels _ -> "write a run's pseudo masks for a split (input of a second, supervised stage)"
            | Infer _ -> "segment a folder of images with a run's model (masks and overlays)"
            | Backbones _ -> "list the registered backbones with their feature stages"
            | Weights _ -> "inspect a checkpoint against a backbone, or export a run's backbone alone"
            | Features _ -> "write each stage's features of an image to safetensors"
            | Train _ -> "train a WSSS method (or the supervised upper bound), then evaluate it on val"
            | Settings _ -> "list the methods' settings (key, type, default, paper reference): what --set and --config take"
            | Demo_Mnist _ -> "train a small CNN on Fashion-MNIST for one epoch (a smoke test of the stack)"

/// The exit codes, as the top-level help lists them.
let exitCodesText =
    "EXIT CODES (every command):\n\n" + (ExitCodes.table |> List.map (fun (c, m) -> $"    {c,3}  {m}") |> String.concat "\n")

/// Argu's errors end the process with the bad-arguments code; help is a success (the top-level
/// help also lists the exit codes).
type private Exiter() =
    interface IExiter with
        member _.Name = "hybrid"
        member _.Exit(msg, code) =
            if code = ErrorCode.HelpText then
                printfn "%s" msg
                if msg.StartsWith "USAGE: hybrid [" then printfn "\n%s" exitCodesText
                exit ExitCodes.ok
            else
                eprintfn "%s" msg
                exit ExitCodes.badArguments

let parser = ArgumentParser.Create<CliArgs>(programName = "hybrid", errorHandler = Exiter())

/// Runs a parsed command; an exception becomes one clear message (given to `report`) and its
/// class's exit code (ExitCodes). HYBRID_DEBUG=1 lets it through with its stack trace.
let dispatchWith (report: string -> unit) (args: ParseResults<CliArgs>) : int =
    try
        match args.GetSubCommand() with
        | Version a -> Version.run a
        | Data a -> DataCmd.run a
        | Train_Seg a -> TrainSegCmd.run a
        | Compare a -> CompareCmd.run a
        | Repro a -> ReproCmd.run a
        | Eval a -> RunCmds.eval a
        | Labels a -> RunCmds.labels a
        | Infer a -> RunCmds.infer a
        | Backbones a -> BackbonesCmd.list a
        | Weights a -> BackbonesCmd.weights a
        | Features a -> BackbonesCmd.features a
        | Train a -> TrainCmd.run a
        | Settings a -> SettingsCmd.run a
        | Demo_Mnist a -> MnistDemo.run a
    with e when System.Environment.GetEnvironmentVariable "HYBRID_DEBUG" <> "1" ->
        let code = ExitCodes.ofException e
        let name = if code = ExitCodes.internalError || code = ExitCodes.nativeError then e.GetType().Name + ": " else ""
        report $"{name}{e.Message}"
        code

/// Runs a parsed command, errors printed in red.
let dispatch (args: ParseResults<CliArgs>) : int = dispatchWith Hybrid.Cli.Say.error args

[<EntryPoint>]
let main argv =
    let args = parser.ParseCommandLine argv
    if not Hybrid.Torch.TorchRuntime.ScalarLifetimeGuard then
        // started without ./hybrid: TorchSharp's scalars can be freed during a native call
        eprintfn "warning: TorchSharp's scalar lifetime guard is off; long runs can fail at random or compute with freed scalars. Start through ./hybrid, or set %s (README, \"TorchSharp and scalars\")" Hybrid.Torch.TorchRuntime.ScalarLifetimeGuardSetting
    dispatch args

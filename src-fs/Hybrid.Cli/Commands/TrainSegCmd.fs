/// `hybrid train-seg`: DeepLab-LargeFOV on pseudo masks (a second stage) or on GT (the fully
/// supervised upper bound). The same as `train --method supervised` with `--labels`.
module Hybrid.Cli.Commands.TrainSegCmd

open Argu

type Args =
    | [<Mandatory>] Labels of dir_or_gt: string
    | Data of dir: string
    | Backbone of name: string
    | Steps of int
    | Seed of int
    | Out of dir: string
    | Set of key_value: string
    | Device of name: string
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Labels _ -> "folder of pseudo masks (from `hybrid labels`), or gt for the ground truth (upper bound)"
            | Data _ -> "dataset folder (default data/fmnist-scenes)"
            | Backbone _ -> "backbone name"
            | Steps _ -> "training steps (default 3000)"
            | Seed _ -> "seed (default 0)"
            | Out _ -> "run folder"
            | Set _ -> "setting of the supervised method, key=value"
            | Device _ -> Hybrid.Cli.DeviceOption.usage

/// The supervised method's RunSpec for these arguments (records, not argv: the same spec
/// `train --method supervised` would build).
let request (a: ParseResults<Args>) =
    let entry = Hybrid.Wsss.Methods.Registry.find "supervised"
    let b = Hybrid.Wsss.Runs.RunSpec.defaults entry
    let spec: Hybrid.Wsss.Runs.RunSpec =
        { b with
            Data = a.GetResult(Data, b.Data)
            Labels = (match a.GetResult Labels with l when l.Trim().ToLowerInvariant() = "gt" -> None | l -> Some l)
            Backbone = a.GetResult(Backbone, b.Backbone)
            Steps = a.GetResult(Steps, b.Steps)
            Seed = a.GetResult(Seed, b.Seed)
            Settings = TrainCmd.parseSets (a.GetResults Set) }
    let exec = { Hybrid.Wsss.Runs.Execution.defaults with Device = a.GetResult(Device, "cpu") }
    spec, exec, a.GetResult(Out, Hybrid.Cli.RunFolder.fresh "supervised")

let run (a: ParseResults<Args>) =
    let spec, exec, out = request a
    TrainCmd.runSpec spec exec out Hybrid.Wsss.Runs.FolderMode.Fresh

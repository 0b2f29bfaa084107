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

let run (a: ParseResults<Args>) =
    let argv =
        [ yield! [ "--method"; "supervised" ]
          match a.GetResult Labels with
          | l when l.ToLowerInvariant() = "gt" -> ()
          | l -> yield! [ "--labels"; l ]
          for k, v in [ "--data", a.TryGetResult Data; "--backbone", a.TryGetResult Backbone; "--out", a.TryGetResult Out
                        "--steps", a.TryGetResult Steps |> Option.map string; "--seed", a.TryGetResult Seed |> Option.map string ] do
              match v with Some x -> yield! [ k; x ] | None -> ()
          for s in a.GetResults Set do yield! [ "--set"; s ]
          yield! Hybrid.Cli.DeviceOption.forward (a.TryGetResult Device) ]
    let parser = ArgumentParser.Create<TrainCmd.Args>(programName = "hybrid train")
    TrainCmd.run (parser.ParseCommandLine(Array.ofList argv))

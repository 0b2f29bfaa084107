/// The `--device` option of every command that computes: cpu, cuda or cuda:N, checked against
/// the libtorch in use before anything runs (a CUDA device on this CPU-only build fails with
/// the package to reference instead).
module Hybrid.Cli.DeviceOption

/// The option's help text.
let usage = "device to compute on: cpu, cuda or cuda:N (default cpu; cuda needs TorchSharp's CUDA package, see `hybrid version`)"

/// The device the option names (cpu when it is absent), or a clear error.
let resolve (text: string option) : TorchSharp.torch.Device =
    Hybrid.Torch.Devices.Resolve(defaultArg text "cpu")

/// The option as `hybrid train` arguments (none when absent), for commands that start a training.
let forward (text: string option) : string list =
    match text with
    | Some d -> [ "--device"; d ]
    | None -> []

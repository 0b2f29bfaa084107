/// `hybrid version`: what this build runs on (TorchSharp and libtorch, threads, math libraries,
/// CUDA, the malloc policy).
module Hybrid.Cli.Commands.Version

open Argu
open Hybrid.Torch

type Args =
    | Json
    interface IArgParserTemplate with
        member _.Usage = "print as JSON instead of a table"

/// The rows printed: this build, then the runtime as Hybrid.Torch.TorchRuntime describes it.
let rows () : (string * string) list =
    [ yield "hybrid", (System.Reflection.Assembly.GetExecutingAssembly().GetName().Version |> string)
      for struct (key, value) in TorchRuntime.Describe() do
          yield key, value
      yield ".NET", System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription ]

let run (args: ParseResults<Args>) =
    let rows = rows ()
    if args.Contains Json then
        printfn "%s" (System.Text.Json.JsonSerializer.Serialize(dict rows))
    else
        Hybrid.Cli.Say.keyValues "Hybrid" rows
    0

/// `hybrid version`: what this build runs on (libtorch, threads, BLAS, CUDA).
module Hybrid.Cli.Commands.Version

open Argu
open Hybrid.Torch

type Args =
    | Json
    interface IArgParserTemplate with
        member _.Usage = "print as JSON instead of a table"

let run (args: ParseResults<Args>) =
    let cuda = torch.cuda.is_available ()
    let rows = [
        "hybrid", (System.Reflection.Assembly.GetExecutingAssembly().GetName().Version |> string)
        "libtorch", torch.version
        "intra-op threads", string (torch.get_num_threads ())
        "cores", string System.Environment.ProcessorCount
        "BLAS in use", torch.blas_in_use ()
        "CUDA", (if cuda then $"available ({torch.cuda.device_count ()} devices)" else "not available")
        ".NET", System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription
    ]
    if args.Contains Json then
        printfn "%s" (System.Text.Json.JsonSerializer.Serialize(dict rows))
    else
        Hybrid.Cli.Say.keyValues "Hybrid" rows
    0

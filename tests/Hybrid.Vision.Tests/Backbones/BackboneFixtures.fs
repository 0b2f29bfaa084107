/// The committed fixtures of Fixtures/Backbones (written by its make_fixtures.py with Debian's
/// python3-torch 1.13 and python3-torchvision 0.14) and the deterministic weights that script's
/// `fill` gives, reproduced here.
module Hybrid.Vision.Tests.BackboneFixtures

open System
open System.IO
open System.Text.Json
open TorchSharp
open Hybrid.Vision.Tests.TestKit

let private locate () =
    let rec up (d: DirectoryInfo) =
        if isNull d then raise (DirectoryNotFoundException $"Fixtures/Backbones not found above {AppContext.BaseDirectory}")
        else
            let here = Path.Combine(d.FullName, "Fixtures", "Backbones")
            let inRepo = Path.Combine(d.FullName, "tests", "Hybrid.Vision.Tests", "Fixtures", "Backbones")
            if Directory.Exists here then here
            elif Directory.Exists inRepo then inRepo
            else up d.Parent
    up (DirectoryInfo AppContext.BaseDirectory)

let private dir = lazy (locate ())

let pathOf (file: string) = Path.Combine(dir.Value, file)

let private keys = lazy (JsonDocument.Parse(File.ReadAllText(pathOf "keys.json")))
let private goldenDoc = lazy (JsonDocument.Parse(File.ReadAllText(pathOf "goldens.json")))

let goldens () : JsonElement = goldenDoc.Value.RootElement

/// Reference (key, shape) list of a backbone's full PyTorch state dict (classifier included), in PyTorch's order.
let referenceKeys (backbone: string) : (string * int64[]) list =
    [ for e in keys.Value.RootElement.GetProperty(backbone).EnumerateArray() ->
        e[0].GetString(), [| for x in e[1].EnumerateArray() -> x.GetInt64() |] ]

/// make_fixtures.py's `fill`: tensor j of the ordinal-sorted reference keys gets
/// base = sin(0.7 i + 1.3 j) in float64, then a per-kind affine map, cast to the tensor's dtype.
let fill (model: torch.nn.Module) (referenceKeys: seq<string>) =
    let sorted = ordinal referenceKeys
    let sd = model.state_dict ()
    use _g = torch.no_grad ()
    sorted
    |> List.iteri (fun j k ->
        match sd.TryGetValue k with
        | true, t when not (k.EndsWith "num_batches_tracked") ->
            use _scope = torch.NewDisposeScope()
            let n = t.numel ()
            let b = (torch.arange(0L, n, 1L, ScalarType.Float64) * 0.7 + 1.3 * float j).sin().reshape(t.shape)
            let leaf = k.Substring(k.LastIndexOf '.' + 1)
            let v =
                if leaf = "running_var" then 1.0 + 0.5 * b * b
                elif leaf = "running_mean" then 0.1 * b
                elif leaf = "cls_token" || leaf = "pos_embed" then 0.1 * b
                elif t.dim () = 1L && leaf = "weight" then 1.0 + 0.2 * b
                elif t.dim () = 1L then 0.1 * b
                else
                    let s = t.shape
                    let fanIn = Array.fold (*) s[1] s[2..]
                    b * 2.0 / sqrt (float fanIn)
            t.copy_(v.to_type t.dtype) |> ignore
        | _ -> ())

/// make_fixtures.py's golden_input: sin(0.11 i + 0.5), (B, 3, H, W) float32.
let goldenInput (b: int64) (h: int64) (w: int64) : Tensor =
    use _scope = torch.NewDisposeScope()
    let a = torch.arange(0L, b * 3L * h * w, 1L, ScalarType.Float64)
    (a * 0.11 + 0.5).sin().reshape(b, 3L, h, w).to_type(ScalarType.Float32).MoveToOuterDisposeScope()

/// The PyTorch reference fixtures: Fixtures/reference_ops.json and the binary files beside it,
/// written by tests/fixtures/make_torch_reference.py with Debian's python3-torch 1.13. Every
/// entry carries the Python expression that produced it.
module Hybrid.Torch.Tests.Reference

open System
open System.IO
open System.Text.Json
open Expecto
open TorchSharp

let dir = Path.Combine(AppContext.BaseDirectory, "Fixtures")
let pathOf (file: string) = Path.Combine(dir, file)

let private doc = lazy (JsonDocument.Parse(File.ReadAllBytes(pathOf "reference_ops.json")))

let root () : JsonElement = doc.Force().RootElement

/// A named entry of the fixture root ("optim", "tiny_resnet", ...).
let entry (name: string) : JsonElement = root().GetProperty name

let shape (enc: JsonElement) : int64[] = [| for x in enc.GetProperty("shape").EnumerateArray() -> x.GetInt64() |]

let doubles (enc: JsonElement) : float[] = [| for x in enc.GetProperty("data").EnumerateArray() -> x.GetDouble() |]

let doubleArray (arr: JsonElement) : float[] = [| for x in arr.EnumerateArray() -> x.GetDouble() |]

/// A string property of a fixture entry (its "expr", "source", ...).
let text (e: JsonElement) (name: string) : string = e.GetProperty(name).GetString()

let strings (arr: JsonElement) : string[] = [| for x in arr.EnumerateArray() -> x.GetString() |]

/// An encoded tensor {shape, dtype, data} as a tensor of that dtype.
let toTensor (enc: JsonElement) : torch.Tensor =
    let s = shape enc
    match enc.GetProperty("dtype").GetString() with
    | "int64" -> Data.longs [| for x in enc.GetProperty("data").EnumerateArray() -> x.GetInt64() |] s
    | dtype ->
        use d = Data.doubles (doubles enc) s
        match dtype with
        | "float64" -> d.clone ()
        | "float32" -> d.to_type torch.ScalarType.Float32
        | "bfloat16" -> d.to_type torch.ScalarType.BFloat16
        | "float16" -> d.to_type torch.ScalarType.Float16
        | "int32" -> d.to_type torch.ScalarType.Int32
        | "uint8" -> d.to_type torch.ScalarType.Byte
        | "bool" -> d.to_type torch.ScalarType.Bool
        | other -> raise (NotSupportedException $"fixture dtype {other}")

/// Element-wise closeness with a report of the worst element: |got - expected| <= atol + rtol |expected|.
let closeArrays (expected: float[]) (got: float[]) (atol: float) (rtol: float) (what: string) =
    Expect.equal got.Length expected.Length $"{what}: element count"
    let mutable worst = -1
    let mutable worstExcess = 0.0
    for i in 0 .. expected.Length - 1 do
        let err = abs (got[i] - expected[i])
        let excess = err / (atol + rtol * abs expected[i])
        if Double.IsNaN got[i] || excess > worstExcess then
            worst <- i
            worstExcess <- if Double.IsNaN got[i] then Double.PositiveInfinity else excess
    if worstExcess > 1.0 then
        failtestf "%s: element %d is %.17g, expected %.17g (|diff| %.2e > atol %.1e + rtol %.1e |expected|)"
            what worst got[worst] expected[worst] (abs (got[worst] - expected[worst])) atol rtol

/// The tensor's values as float64, whatever its dtype.
let valuesOf (t: torch.Tensor) : float[] =
    use d = t.detach().to_type(torch.ScalarType.Float64).contiguous()
    d.data<float>().ToArray()

/// Asserts `actual` equals an encoded tensor: shape exactly, values within atol + rtol |expected|.
let close (expected: JsonElement) (actual: torch.Tensor) (atol: float) (rtol: float) (what: string) =
    let s = shape expected
    Expect.sequenceEqual actual.shape s $"{what}: shape"
    closeArrays (doubles expected) (valuesOf actual) atol rtol what

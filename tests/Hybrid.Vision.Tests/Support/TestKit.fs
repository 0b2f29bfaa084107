/// Helpers shared by the Vision tests: tensors read back to arrays (any dtype, any device),
/// comparisons with the tolerances the tests state, seeded random tensors, exceptions of one
/// exact type.
module Hybrid.Vision.Tests.TestKit

open System
open Expecto
open TorchSharp

type Tensor = torch.Tensor
type ScalarType = torch.ScalarType

/// Runs `read` on a contiguous CPU copy of `t` in `dtype`; the copies are freed after.
let private onHost (t: Tensor) (dtype: ScalarType) (read: Tensor -> 'a) : 'a =
    use _scope = torch.NewDisposeScope()
    read (t.detach().cpu().to_type(dtype).contiguous())

/// TorchSharp Scalars: F# does not choose between the Scalar and Tensor overloads of ge, gt,
/// fill_, full, masked_fill ... from a bare number.
let sFloat (v: float) : Scalar = v.ToScalar()
let sLong (v: int64) : Scalar = v.ToScalar()
let sBool (v: bool) : Scalar = v.ToScalar()

/// Tensors from arrays and a shape.
let floatTensor (data: float32[]) (shape: int64[]) : Tensor = torch.tensor (data, ReadOnlySpan<int64> shape)
let doubleTensor (data: float[]) (shape: int64[]) : Tensor = torch.tensor (data, ReadOnlySpan<int64> shape)
let longTensor (data: int64[]) (shape: int64[]) : Tensor = torch.tensor (data, ReadOnlySpan<int64> shape)
let boolTensor (data: bool[]) (shape: int64[]) : Tensor = torch.tensor (data, ReadOnlySpan<int64> shape)
let byteTensor (data: byte[]) (shape: int64[]) : Tensor = torch.tensor (data, ReadOnlySpan<int64> shape)

/// The elements in row-major order, as float32.
let floats (t: Tensor) : float32[] = onHost t ScalarType.Float32 (fun c -> c.data<float32>().ToArray())

/// The elements in row-major order, as float64.
let doubles (t: Tensor) : float[] = onHost t ScalarType.Float64 (fun c -> c.data<float>().ToArray())

/// The elements in row-major order, as int64.
let longs (t: Tensor) : int64[] = onHost t ScalarType.Int64 (fun c -> c.data<int64>().ToArray())

/// The elements in row-major order, as bool.
let bools (t: Tensor) : bool[] = onHost t ScalarType.Bool (fun c -> c.data<bool>().ToArray())

/// The value of a one-element tensor as float64.
let scalar (t: Tensor) : float = onHost t ScalarType.Float64 (fun c -> c.item<float>())

/// The value of a one-element tensor as int64.
let scalarLong (t: Tensor) : int64 = onHost t ScalarType.Int64 (fun c -> c.item<int64>())

/// The value of a one-element bool tensor.
let isTrue (t: Tensor) : bool = onHost t ScalarType.Bool (fun c -> c.item<bool>())

/// max |a - b| over all elements.
let maxAbsDiff (a: Tensor) (b: Tensor) : float =
    use _scope = torch.NewDisposeScope()
    scalar ((a - b).abs().max())

/// torch.equal: the same shape and every element equal (TorchSharp's Tensor.equal is the
/// elementwise eq).
let same (a: Tensor) (b: Tensor) : bool =
    a.shape = b.shape
    && (use _scope = torch.NewDisposeScope()
        isTrue (a.eq(b).all ()))

/// Same shape, and max |expected - actual| <= atol.
let close (expected: Tensor) (actual: Tensor) (atol: float) (what: string) =
    Expect.equal actual.shape expected.shape $"{what}: shape"
    let diff = maxAbsDiff expected actual
    Expect.isTrue (diff <= atol) $"{what} max |diff| = {diff:G4} > {atol:G4}"

/// |expected - actual| <= tolerance (or both equal, e.g. the same infinity).
let within (tolerance: float) (expected: float) (actual: float) (what: string) =
    Expect.isTrue (expected.Equals actual || abs (expected - actual) <= tolerance)
        $"{what}: expected {expected:R} within {tolerance:G3}, got {actual:R}"

/// expected and actual agree once both are rounded to `digits` decimals.
let equalDigits (digits: int) (expected: float) (actual: float) (what: string) =
    Expect.equal (Math.Round(actual, digits)) (Math.Round(expected, digits)) $"{what}: {actual:R} vs {expected:R} to {digits} decimals"

/// lo <= v <= hi.
let inRange (lo: 'a) (hi: 'a) (v: 'a) (what: string) =
    Expect.isTrue (lo <= v && v <= hi) $"{what}: {v} is outside [{lo}, {hi}]"

/// The exception `f` throws, which must be exactly of type 'E.
let raises<'E when 'E :> exn> (what: string) (f: unit -> unit) : 'E =
    let caught =
        try
            f ()
            None
        with e -> Some e
    match caught with
    | Some e when e.GetType() = typeof<'E> -> e :?> 'E
    | Some e -> failtestf "%s: expected %s, got %s: %s" what typeof<'E>.Name (e.GetType().Name) e.Message
    | None -> failtestf "%s: expected %s, nothing was thrown" what typeof<'E>.Name

/// A uniform [0, 1) tensor from libtorch's generator seeded with `seed`.
let rand (seed: int64) (shape: int64[]) : Tensor =
    torch.manual_seed seed |> ignore
    torch.rand shape

/// A standard normal tensor from libtorch's generator seeded with `seed`.
let randn (seed: int64) (shape: int64[]) : Tensor =
    torch.manual_seed seed |> ignore
    torch.randn shape

/// Number of parameter elements of a module.
let parameterCount (m: torch.nn.Module) : int64 = m.parameters () |> Seq.sumBy (fun p -> p.numel ())

/// Ordinal sort (as C#'s StringComparer.Ordinal).
let ordinal (xs: seq<string>) : string list = xs |> Seq.sortWith (fun a b -> String.CompareOrdinal(a, b)) |> List.ofSeq

/// A scratch directory removed after the body.
let withTempDir (prefix: string) (body: string -> unit) =
    let dir = IO.Directory.CreateTempSubdirectory(prefix).FullName
    try body dir finally IO.Directory.Delete(dir, true)

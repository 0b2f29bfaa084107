/// Tensor values read into .NET arrays and numbers whatever the tensor's dtype and device: the
/// elements converted to the element type asked for (a float32 map read as float, an int64
/// mask as int ...) and copied to the host, row-major. TorchSharp's own data<T> and item<T>
/// need the exact dtype and a CPU tensor.
module Hybrid.Wsss.Host

open System
open System.Runtime.InteropServices
open TorchSharp
open Hybrid.Wsss

/// The dtype of a .NET element type.
let dtypeOf (t: Type) : ScalarType =
    if t = typeof<float32> then ScalarType.Float32
    elif t = typeof<float> then ScalarType.Float64
    elif t = typeof<int64> then ScalarType.Int64
    elif t = typeof<int> then ScalarType.Int32
    elif t = typeof<int16> then ScalarType.Int16
    elif t = typeof<byte> then ScalarType.Byte
    elif t = typeof<sbyte> then ScalarType.Int8
    elif t = typeof<bool> then ScalarType.Bool
    else invalidArg "T" $"no tensor element type for {t.Name}"

/// The elements of t, row-major, as 'T (converted from t's dtype, copied from t's device).
let values<'T when 'T: unmanaged and 'T: struct and 'T :> ValueType and 'T: (new: unit -> 'T)> (t: Tensor) : 'T[] =
    use _scope = torch.NewDisposeScope()
    let host = t.detach().``to``(dtypeOf typeof<'T>, torch.CPU).contiguous()
    MemoryMarshal.Cast<byte, 'T>(host.bytes).ToArray()

/// The value of a one-element tensor as 'T (converted from t's dtype, copied from t's device).
let item<'T when 'T: unmanaged and 'T: struct and 'T :> ValueType and 'T: (new: unit -> 'T)> (t: Tensor) : 'T =
    if t.numel () <> 1L then
        let shape = String.Join(", ", t.shape)
        invalidArg (nameof t) $"item needs a one-element tensor, got shape [{shape}]"
    (values<'T> t)[0]

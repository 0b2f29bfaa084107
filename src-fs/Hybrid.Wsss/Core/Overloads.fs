namespace Hybrid.Wsss

open System
open TorchSharp

/// Overloads F# needs to call TorchSharp as C# does. TorchSharp offers comparisons and clamps
/// for a Scalar and for a Tensor, and a float converts implicitly to both, so F# cannot choose
/// (C# picks the Scalar one); its tensor factories take the shape as a ReadOnlySpan and the
/// data as an array, a Memory or an IList, among which F# cannot choose either. These take the
/// float, or the data array and the shape array, and call the overload C# would.
[<AutoOpen>]
module TorchOverloads =
    type torch.Tensor with
        member t.eq(value: float) = t.eq(Scalar.op_Implicit value)
        member t.ne(value: float) = t.ne(Scalar.op_Implicit value)
        member t.lt(value: float) = t.lt(Scalar.op_Implicit value)
        member t.le(value: float) = t.le(Scalar.op_Implicit value)
        member t.gt(value: float) = t.gt(Scalar.op_Implicit value)
        member t.ge(value: float) = t.ge(Scalar.op_Implicit value)
        member t.pow(exponent: float) = t.pow(Scalar.op_Implicit exponent)
        member t.clamp(min: float, max: float) = t.clamp(Scalar.op_Implicit min, Scalar.op_Implicit max)

    type torch with
        /// A tensor of `shape` holding a copy of `data` (row-major).
        static member tensor(data: float32[], shape: int64[], ?device: torch.Device) =
            torch.tensor(data, ReadOnlySpan<int64>(shape), device = Option.toObj device)
        static member tensor(data: float[], shape: int64[], ?device: torch.Device) =
            torch.tensor(data, ReadOnlySpan<int64>(shape), device = Option.toObj device)
        static member tensor(data: int64[], shape: int64[], ?device: torch.Device) =
            torch.tensor(data, ReadOnlySpan<int64>(shape), device = Option.toObj device)
        static member tensor(data: int[], shape: int64[], ?device: torch.Device) =
            torch.tensor(data, ReadOnlySpan<int64>(shape), device = Option.toObj device)
        static member tensor(data: byte[], shape: int64[], ?device: torch.Device) =
            torch.tensor(data, ReadOnlySpan<int64>(shape), device = Option.toObj device)
        static member tensor(data: bool[], shape: int64[], ?device: torch.Device) =
            torch.tensor(data, ReadOnlySpan<int64>(shape), device = Option.toObj device)

        /// A tensor of `shape` filled with `value` (float32 unless dtype says otherwise).
        static member full(shape: int64[], value: float, ?dtype: torch.ScalarType, ?device: torch.Device) =
            torch.full(shape, Scalar.op_Implicit value, dtype = Option.toNullable dtype, device = Option.toObj device)

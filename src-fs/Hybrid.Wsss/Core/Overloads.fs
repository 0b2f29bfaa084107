namespace Hybrid.Wsss

open System
open TorchSharp

/// Overloads F# needs to call TorchSharp as C# does. TorchSharp offers comparisons and clamps
/// for a Scalar and for a Tensor, and a float converts implicitly to both, so F# cannot choose
/// (C# picks the Scalar one); its tensor factories take the shape as a ReadOnlySpan and the
/// data as an array, a Memory or an IList, among which F# cannot choose either. These take the
/// float, or the data array and the shape array, and call the overload C# would.
///
/// The scalar is disposed here, when the call has returned. TorchSharp 0.107 leaves a Scalar
/// made by implicit conversion to its finalizer, and the JIT may consider it dead once its
/// handle is read: a garbage collection during the native call can then free it while libtorch
/// reads it (seen: masked_fill failing in c10::Scalar::toFloat, once in a suite run). F# picks
/// these float overloads over TorchSharp's Scalar ones, so every F# call with a float goes
/// through a scalar that lives until the call returns. (Operators such as `t * 0.5` cannot be
/// overloaded from here: Hybrid.Torch.TorchRuntime's scalar lifetime guard covers them.)
[<AutoOpen>]
module TorchOverloads =
    type torch.Tensor with
        member t.eq(value: float) = (use s = Scalar.op_Implicit value in t.eq s)
        member t.ne(value: float) = (use s = Scalar.op_Implicit value in t.ne s)
        member t.lt(value: float) = (use s = Scalar.op_Implicit value in t.lt s)
        member t.le(value: float) = (use s = Scalar.op_Implicit value in t.le s)
        member t.gt(value: float) = (use s = Scalar.op_Implicit value in t.gt s)
        member t.ge(value: float) = (use s = Scalar.op_Implicit value in t.ge s)
        member t.pow(exponent: float) = (use s = Scalar.op_Implicit exponent in t.pow s)
        member t.clamp(min: float, max: float) =
            use lo = Scalar.op_Implicit min
            use hi = Scalar.op_Implicit max
            t.clamp(lo, hi)
        member t.clamp_min(min: float) = (use s = Scalar.op_Implicit min in t.clamp_min s)
        member t.clamp_max(max: float) = (use s = Scalar.op_Implicit max in t.clamp_max s)
        member t.masked_fill(mask: torch.Tensor, value: float) = (use s = Scalar.op_Implicit value in t.masked_fill(mask, s))
        member t.masked_fill_(mask: torch.Tensor, value: float) = (use s = Scalar.op_Implicit value in t.masked_fill_(mask, s))
        member t.fill_(value: float) = (use s = Scalar.op_Implicit value in t.fill_ s)
        member t.mul(value: float) = (use s = Scalar.op_Implicit value in t.mul s)
        member t.mul_(value: float) = (use s = Scalar.op_Implicit value in t.mul_ s)
        member t.div(value: float) = (use s = Scalar.op_Implicit value in t.div s)
        member t.add(value: float) = (use s = Scalar.op_Implicit value in t.add s)
        member t.add_(value: float) = (use s = Scalar.op_Implicit value in t.add_ s)
        member t.sub(value: float) = (use s = Scalar.op_Implicit value in t.sub s)

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

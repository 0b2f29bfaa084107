/// Tensor contents as F# arrays, whatever the tensor's dtype (TorchSharp's own data<T> needs
/// the exact one): what the tests compare. Short names for Hybrid.Wsss's Host.values.
module Hybrid.Wsss.Tests.TensorValues

open Hybrid.Wsss

/// The elements (row-major) as float32.
let floats (t: Tensor) : float32[] = Host.values<float32> t

/// The elements as float (float64).
let doubles (t: Tensor) : float[] = Host.values<float> t

/// The elements as int64.
let longs (t: Tensor) : int64[] = Host.values<int64> t

/// The elements as bool (non-zero is true).
let bools (t: Tensor) : bool[] = Host.values<bool> t

/// The elements as byte.
let bytes (t: Tensor) : byte[] = Host.values<byte> t

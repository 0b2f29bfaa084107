/// Deterministic test inputs from System.Random (independent of libtorch's RNG).
module Hybrid.Torch.Tests.Data

open System
open TorchSharp

let private count (shape: int64[]) = Array.fold (*) 1L shape

/// A float64 tensor of the given values and shape.
let doubles (values: float[]) (shape: int64[]) : torch.Tensor = torch.tensor (values, ReadOnlySpan<int64> shape)

/// Float64 standard normals (Box-Muller), scaled and shifted.
let normalWith (shape: int64[]) (seed: int) (scale: float) (shift: float) : torch.Tensor =
    let rng = Random seed
    let v =
        Array.init (int (count shape)) (fun _ ->
            let u1 = 1.0 - rng.NextDouble()
            let u2 = rng.NextDouble()
            shift + scale * sqrt (-2.0 * log u1) * cos (2.0 * Math.PI * u2))
    doubles v shape

/// Float64 standard normals.
let normal shape seed = normalWith shape seed 1.0 0.0

/// Float64 uniform in [lo, hi).
let uniform (shape: int64[]) (seed: int) (lo: float) (hi: float) : torch.Tensor =
    let rng = Random seed
    let v = Array.init (int (count shape)) (fun _ -> lo + (hi - lo) * rng.NextDouble())
    doubles v shape

/// An int64 tensor of the given values and shape.
let longs (values: int64[]) (shape: int64[]) : torch.Tensor = torch.tensor (values, ReadOnlySpan<int64> shape)

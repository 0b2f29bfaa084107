/// torch.autograd.gradcheck's test in float64: for L(x) = sum(f(x) * r) with a fixed random
/// projection r (every output element counts, each with its own weight), autograd's dL/dx is
/// compared with the central difference (L(x + eps e_j) - L(x - eps e_j)) / (2 eps) for every
/// element j of x, and must agree to |analytic - numeric| <= atol + rtol |numeric|.
module Hybrid.Vision.Tests.GradCheck

open System
open Expecto
open TorchSharp
open Hybrid.Vision.Tests.TestKit

/// Fixed weights in [-1, 1) shaped like f's output.
let private projection (shape: int64[]) : Tensor =
    let rng = Random 20240601
    let n = Array.fold (*) 1L shape
    doubleTensor (Array.init (int n) (fun _ -> rng.NextDouble() * 2.0 - 1.0)) shape

/// autograd's gradient of L = sum(differentiated(x) * r) against `scale` times the central
/// differences of L' = sum(evaluated(x) * r); fails with the worst element unless every element
/// of x agrees. With differentiated = evaluated and scale 1 this is gradcheck; a layer whose
/// backward is deliberately not its forward's derivative (gradient reversal: identity forward,
/// -lambda backward) is checked with scale -lambda.
let compare (what: string) (differentiated: Tensor -> Tensor) (evaluated: Tensor -> Tensor) (scale: float) (x: Tensor) (eps: float) (atol: float) (rtol: float) =
    if x.dtype <> ScalarType.Float64 then invalidArg "x" $"gradcheck needs a Float64 input, got {x.dtype}"
    use _scope = torch.NewDisposeScope()
    let leaf = x.detach().clone().requires_grad_(true)
    let y = differentiated leaf
    let r = projection y.shape
    (y * r).sum().backward()
    let analytic =
        match leaf.grad with
        | null -> Array.zeroCreate (int (x.numel ()))
        | g -> doubles g
    let values = doubles x
    let loss (v: float[]) =
        use _s = torch.NewDisposeScope()
        use _g = torch.no_grad ()
        scalar ((evaluated (doubleTensor v x.shape) * r).sum())
    let mutable worst = (0.0, "")
    for j in 0 .. values.Length - 1 do
        let orig = values[j]
        values[j] <- orig + eps
        let plus = loss values
        values[j] <- orig - eps
        let minus = loss values
        values[j] <- orig
        let numeric = scale * (plus - minus) / (2.0 * eps)
        let excess = abs (analytic[j] - numeric) / (atol + rtol * abs numeric)
        let excess = if Double.IsNaN excess then Double.PositiveInfinity else excess
        if excess > fst worst then
            worst <- (excess, $"element {j}: autograd {analytic[j]:R}, finite differences {numeric:R}")
    Expect.isTrue (fst worst <= 1.0) $"{what}: gradient check failed at {snd worst} ({fst worst:F2}x the tolerance; {values.Length} elements)"

/// torch.autograd.gradcheck: autograd's gradient of f against f's own finite differences.
let check (what: string) (f: Tensor -> Tensor) (x: Tensor) (eps: float) (atol: float) (rtol: float) =
    compare what f f 1.0 x eps atol rtol

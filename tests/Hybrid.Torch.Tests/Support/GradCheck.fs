/// Float64 gradient checker. For f: inputs -> output it takes the scalar L = sum(f(x) * r) with a
/// fixed random projection r (so every output element matters, with different weights),
/// compares autograd's dL/dx with central differences (L(x + eps e_j) - L(x - eps e_j)) / 2 eps
/// for every element j of every checked input, and reports the worst element.
module Hybrid.Torch.Tests.GradCheck

open System
open Expecto
open TorchSharp

type Tensor = torch.Tensor

/// The element where autograd and finite differences disagree most.
type Worst =
    { Input: int
      Index: int64[]
      Analytic: float
      Numeric: float
      Excess: float
      Checked: int64 }

    member w.Passed = w.Excess <= 1.0

    override w.ToString() =
        sprintf "input %d element [%s]: autograd %.17g, finite differences %.17g (error %.2fx the tolerance; %d elements checked)"
            w.Input (String.Join(", ", w.Index)) w.Analytic w.Numeric w.Excess w.Checked

let private isFloating (t: Tensor) = torch.is_floating_point t

/// Deterministic weights in [-1, 1) shaped like the output (0-d included).
let private projection (shape: int64[]) : Tensor =
    let n = Array.fold (*) 1L shape
    let rng = Random 12345
    let w = Array.init (int n) (fun _ -> rng.NextDouble() * 2.0 - 1.0)
    Data.doubles w shape

let private unravel (flat: int64) (shape: int64[]) : int64[] =
    let idx = Array.zeroCreate shape.Length
    let mutable f = flat
    for d in shape.Length - 1 .. -1 .. 0 do
        idx[d] <- if shape[d] = 0L then 0L else f % shape[d]
        f <- if shape[d] = 0L then 0L else f / shape[d]
    idx

/// Runs the check over the inputs marked in `check` (which must be float64).
let runWith (f: Tensor[] -> Tensor) (inputs: Tensor[]) (check: bool[]) (eps: float) (atol: float) (rtol: float) : Worst =
    for i in 0 .. inputs.Length - 1 do
        if check[i] && inputs[i].dtype <> torch.ScalarType.Float64 then
            raise (ArgumentException $"gradcheck: input {i} is {inputs[i].dtype}; finite differences need Float64")
    use scope = torch.NewDisposeScope()
    let shapes = inputs |> Array.map (fun t -> t.shape)
    let values = inputs |> Array.map (fun t -> if isFloating t then t.data<float>().ToArray() else null)

    // Autograd: leaves that require grad, one backward of the projected sum.
    let leaves =
        inputs
        |> Array.mapi (fun i t ->
            let c = t.detach().clone()
            if check[i] then c.requires_grad <- true
            c)
    let output = f leaves                                                            // any shape
    let r = projection output.shape
    (output * r).sum().backward()
    let analytic =
        leaves
        |> Array.mapi (fun i l ->
            if not check[i] then null
            else
                match l.grad with
                | null -> Array.zeroCreate values[i].Length
                | g -> g.data<float>().ToArray())

    // Finite differences, one element at a time, without autograd.
    let loss (which: int) (perturbed: float[]) =
        use _s = torch.NewDisposeScope()
        use _g = torch.no_grad()
        let xs = inputs |> Array.mapi (fun i t -> if i = which then Data.doubles perturbed shapes[i] else t.alias())
        (f xs * r).sum().item<float>()

    let mutable worst = { Input = -1; Index = [||]; Analytic = 0.0; Numeric = 0.0; Excess = 0.0; Checked = 0L }
    let mutable count = 0L
    for i in 0 .. inputs.Length - 1 do
        if check[i] then
            let x = Array.copy values[i]
            for j in 0 .. x.Length - 1 do
                let orig = x[j]
                x[j] <- orig + eps
                let plus = loss i x
                x[j] <- orig - eps
                let minus = loss i x
                x[j] <- orig
                let numeric = (plus - minus) / (2.0 * eps)
                let a = analytic[i][j]
                let excess =
                    if Double.IsNaN a || Double.IsNaN numeric then Double.PositiveInfinity
                    else abs (a - numeric) / (atol + rtol * abs numeric)
                count <- count + 1L
                if excess >= worst.Excess || worst.Input < 0 then
                    worst <- { Input = i; Index = unravel (int64 j) shapes[i]; Analytic = a; Numeric = numeric; Excess = excess; Checked = 0L }
    { worst with Checked = count }

/// Checks the floating-point inputs with eps 1e-6, atol 1e-7, rtol 1e-5.
let run (f: Tensor[] -> Tensor) (inputs: Tensor[]) : Worst =
    runWith f inputs (inputs |> Array.map isFloating) 1e-6 1e-7 1e-5

/// Checks the inputs marked in `check` with eps 1e-6, atol 1e-7, rtol 1e-5.
let runChecked (f: Tensor[] -> Tensor) (inputs: Tensor[]) (check: bool[]) : Worst =
    runWith f inputs check 1e-6 1e-7 1e-5

/// Asserts the gradients of every floating-point input agree with finite differences.
let check (what: string) (f: Tensor[] -> Tensor) (inputs: Tensor list) =
    let w = run f (Array.ofList inputs)
    Expect.isTrue (w.Checked > 0L) $"{what}: nothing to check"
    Expect.isTrue w.Passed $"{what}: gradient mismatch at {w}"

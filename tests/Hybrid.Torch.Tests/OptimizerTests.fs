/// Optimizer trajectories on a small least-squares problem against torch.optim in Debian's
/// python3-torch 1.13 (fixture "optim" in reference_ops.json: 5 steps, parameters recorded
/// after each), updates against hand-computed ones, parameter groups with lr_mult, set_lr,
/// zero_grad, state save/load and clip_grad_norm_.
module Hybrid.Torch.Tests.OptimizerTests

open System
open Expecto
open TorchSharp
open TorchSharp.Modules
open Hybrid.Torch.Optim
open Hybrid.Torch.Tests.OneThread

type private Tensor = torch.Tensor

/// w (4, 3), b (3) at the fixture's start, and the loss mean((X w + b - Y)^2).
type private Problem() =
    let p = Reference.entry "optim_problem"
    let x = Reference.toTensor (p.GetProperty "X")                                    // (8, 4)
    let y = Reference.toTensor (p.GetProperty "Y")                                    // (8, 3)
    let w = new Parameter(Reference.toTensor (p.GetProperty "W0"))                   // (4, 3)
    let b = new Parameter(Reference.toTensor (p.GetProperty "B0"))                   // (3)

    member _.W = w
    member _.B = b

    member _.Backward() =
        use _scope = torch.NewDisposeScope()
        let r = x.matmul w + b - y                                                    // (8, 3)
        r.square().mean().backward()

    member _.Flat() : float[] =
        use wd = w.detach ()
        use bd = b.detach ()
        Array.append (wd.data<float>().ToArray()) (bd.data<float>().ToArray())

    interface IDisposable with
        member _.Dispose() =
            x.Dispose()
            y.Dispose()
            w.Dispose()
            b.Dispose()

let private both (p: Problem) = [ ParamGroup([ p.W; p.B ]) ]

let private follows (name: string) (make: Problem -> Optimizer) =
    let c = Reference.entry("optim").GetProperty name
    let expected = [ for s in c.GetProperty("trajectory").EnumerateArray() -> Reference.doubleArray s ]
    let expr, source = Reference.text c "expr", Reference.text c "source"
    use p = new Problem()
    use opt = make p
    expected
    |> List.iteri (fun step e ->
        opt.zero_grad ()
        p.Backward()
        opt.step ()
        Reference.closeArrays e (p.Flat()) 1e-12 1e-10
            $"{name} after step {step + 1} vs {expr} [{source}]")
    Expect.equal opt.step_count (int64 expected.Length) "step_count"

/// xunit's Assert.Equal(expected, actual, 12): equal when rounded to 12 decimal places.
let private equalTo12 (expected: float) (actual: float) (what: string) =
    Expect.equal (Math.Round(actual, 12)) (Math.Round(expected, 12)) $"{what}: {actual:R} vs {expected:R}"

/// A float64 parameter with the given values.
let private param (values: float[]) = new Parameter(Data.doubles values [| int64 values.Length |])

/// Gives `p` the gradient `g` (through backward of sum(p * g)).
let private setGrad (p: Parameter) (g: float[]) =
    use _scope = torch.NewDisposeScope()
    (p * Data.doubles g [| int64 g.Length |]).sum().backward()

let private values (p: Parameter) = (use d = p.detach () in d.data<float>().ToArray())

[<Tests>]
let tests =
    testList "Optimizers" [
        testList "follow torch.optim" [
            torchTest "SGD plain" (fun () -> follows "sgd_plain" (fun p -> Optimizer.SGD(both p, 0.1)))
            torchTest "SGD momentum" (fun () -> follows "sgd_momentum" (fun p -> Optimizer.SGD(both p, 0.1, momentum = 0.9)))
            torchTest "SGD nesterov with weight decay" (fun () ->
                follows "sgd_nesterov_wd" (fun p -> Optimizer.SGD(both p, 0.05, momentum = 0.9, weight_decay = 0.01, nesterov = true)))
            torchTest "SGD param groups with lr_mult" (fun () ->
                // PyTorch: groups [w] at lr 0.02 and [b] at lr 0.2; here one base lr and "x10" on b's group.
                follows "sgd_groups_lr_x10" (fun p ->
                    Optimizer.SGD([ ParamGroup([ p.W ]); ParamGroup([ p.B ], lr_mult = 10.0) ], 0.02, momentum = 0.5, weight_decay = 0.001)))
            torchTest "AdamW default" (fun () -> follows "adamw_default" (fun p -> Optimizer.AdamW(both p, 0.01)))
            torchTest "AdamW custom betas, eps, weight decay" (fun () ->
                follows "adamw_custom" (fun p -> Optimizer.AdamW(both p, 0.05, beta1 = 0.8, beta2 = 0.99, eps = 1e-6, weight_decay = 0.1)))
        ]

        torchTest "SGD with momentum, weight decay and a x3 group equals the hand-computed update" (fun () ->
            // PyTorch's SGD: d = g + wd p; buf = d at the first step, then m buf + d; p -= lr_group buf.
            let lr, m, wd = 0.5, 0.9, 0.1
            use a = param [| 1.0; -2.0 |]
            use b = param [| 0.25 |]
            use opt = Optimizer.SGD([ ParamGroup([ a ]); ParamGroup([ b ], lr_mult = 3.0) ], lr, momentum = m, weight_decay = wd)
            let grads = [ [| 0.3; -0.7 |], [| 2.0 |]; [| -1.1; 0.4 |], [| -0.5 |] ]
            let mutable pa, pb = [| 1.0; -2.0 |], [| 0.25 |]
            let mutable bufA, bufB = [||], [||]
            for step, (ga, gb) in List.indexed grads do
                opt.zero_grad ()
                setGrad a ga
                setGrad b gb
                opt.step ()
                let update (p: float[]) (g: float[]) (buf: float[]) (lrG: float) =
                    let d = Array.map2 (fun g p -> g + wd * p) g p
                    let buf' = if step = 0 then d else Array.map2 (fun b d -> m * b + d) buf d
                    Array.map2 (fun p b -> p - lrG * b) p buf', buf'
                let pa', bufA' = update pa ga bufA lr
                let pb', bufB' = update pb gb bufB (3.0 * lr)
                pa <- pa'; bufA <- bufA'; pb <- pb'; bufB <- bufB'
                Reference.closeArrays pa (values a) 1e-15 1e-13 $"group 1 after step {step + 1}"
                Reference.closeArrays pb (values b) 1e-15 1e-13 $"group 2 (x3) after step {step + 1}")

        torchTest "AdamW equals the hand-computed update" (fun () ->
            // PyTorch's AdamW: p *= 1 - lr wd; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
            // p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
            let lr, wd, b1, b2, eps = 0.05, 0.1, 0.8, 0.99, 1e-6
            use a = param [| 0.5; -1.5; 2.0 |]
            use opt = Optimizer.AdamW([ ParamGroup([ a ]) ], lr, weight_decay = wd, beta1 = b1, beta2 = b2, eps = eps)
            let grads = [ [| 0.3; -0.7; 1.2 |]; [| -1.1; 0.4; 0.9 |]; [| 0.05; 0.0; -2.0 |] ]
            let mutable p = [| 0.5; -1.5; 2.0 |]
            let mutable mom = Array.zeroCreate 3
            let mutable var = Array.zeroCreate 3
            for step, g in List.indexed grads do
                opt.zero_grad ()
                setGrad a g
                opt.step ()
                let t = float (step + 1)
                mom <- Array.map2 (fun m g -> b1 * m + (1.0 - b1) * g) mom g
                var <- Array.map2 (fun v g -> b2 * v + (1.0 - b2) * g * g) var g
                p <- Array.init 3 (fun i ->
                    let decayed = p[i] * (1.0 - lr * wd)
                    decayed - lr * (mom[i] / (1.0 - b1 ** t)) / (sqrt (var[i] / (1.0 - b2 ** t)) + eps))
                Reference.closeArrays p (values a) 1e-14 1e-12 $"after step {step + 1}")

        torchTest "set_lr applies each group's multiplier and drives the step" (fun () ->
            use p = new Problem()
            use opt = Optimizer.SGD([ ParamGroup([ p.W ]); ParamGroup([ p.B ], lr_mult = 10.0, name = "head") ], 0.1)
            Expect.sequenceEqual opt.lrs [ 0.1; 1.0 ] "base lr x multiplier"
            Expect.equal opt.param_groups[1].name "head" "group name"
            opt.set_lr 0.0                                                              // a schedule at zero: nothing moves
            let before = p.Flat()
            p.Backward()
            opt.step ()
            Expect.sequenceEqual (p.Flat()) before "lr 0 moves nothing"
            opt.set_lr 0.01
            equalTo12 0.1 opt.lrs[1] "the x10 group after set_lr"
            equalTo12 0.01 opt.lrs[0] "the x1 group after set_lr"
            Expect.sequenceEqual (opt.torch_optimizer.ParamGroups |> Seq.map (fun g -> g.LearningRate)) opt.lrs "TorchSharp's groups carry the rates"
            opt.step ()
            Expect.notEqual (p.Flat()) before "the step moves")

        torchTest "zero_grad sets gradients to none, so momentum does not move a parameter without one" (fun () ->
            use p = new Problem()
            use opt = Optimizer.SGD(both p, 0.1, momentum = 0.9)
            p.Backward()
            Expect.isNotNull p.W.grad "a gradient after backward"
            opt.step ()
            opt.zero_grad ()
            Expect.isNull p.W.grad "W's gradient is none"
            Expect.isNull p.B.grad "B's gradient is none"
            // Only W gets a gradient now: B keeps its value although its momentum buffer is not zero.
            let bBefore = values p.B
            do
                use _scope = torch.NewDisposeScope()
                p.W.square().sum().backward()
            Expect.isNull p.B.grad "B still has none"
            opt.step ()
            Expect.sequenceEqual (values p.B) bBefore "a parameter without a gradient is not moved")

        torchTest "state saved and loaded into a new optimizer continues exactly as the original" (fun () ->
            for make in [ (fun (p: Problem) -> Optimizer.SGD(both p, 0.05, momentum = 0.9, weight_decay = 0.01, nesterov = true))
                          (fun (p: Problem) -> Optimizer.AdamW(both p, 0.01, weight_decay = 0.05)) ] do
                use p = new Problem()
                use opt = make p
                let fresh = opt.SaveState()
                for _ in 1 .. 3 do
                    opt.zero_grad ()
                    p.Backward()
                    opt.step ()
                let state = opt.SaveState()
                Expect.notEqual state fresh "three steps leave state (moments, momentum buffers)"
                use q = new Problem()
                do
                    use _g = torch.no_grad ()
                    q.W.copy_ p.W |> ignore
                    q.B.copy_ p.B |> ignore
                use restored = make q
                restored.set_lr 0.03
                restored.LoadState(state, opt.step_count)
                Expect.equal restored.step_count 3L "step count restored"
                Expect.sequenceEqual restored.lrs [ 0.03 ] "learning rates stay those set since"
                restored.set_lr (opt.lrs[0])
                Expect.sequenceEqual (restored.SaveState()) state "the same state bytes"
                for _ in 1 .. 2 do
                    for o, pr in [ opt, p; restored, q ] do
                        o.zero_grad ()
                        pr.Backward()
                        o.step ()
                Expect.sequenceEqual (q.Flat()) (p.Flat()) "bit-identical continued training"
                use wrong = Optimizer.SGD([ ParamGroup([ q.W ]); ParamGroup([ q.B ]) ], 0.1)
                Expect.throwsT<IO.InvalidDataException> (fun () -> wrong.LoadState(state, 3L)) "a state of another optimizer is refused")

        torchTest "clip_grad_norm_ matches PyTorch" (fun () ->
            let c = Reference.entry "clip_grad_norm"
            let expr = Reference.text c "expr"
            use p = new Problem()
            p.Backward()
            let total = Optimizer.clip_grad_norm_([ p.W; p.B ], c.GetProperty("max_norm").GetDouble())
            equalTo12 (c.GetProperty("total_norm").GetDouble()) total "total norm"
            use gw = p.W.grad
            use gb = p.B.grad
            Reference.closeArrays (Reference.doubleArray (c.GetProperty "clipped_grads"))
                (Array.append (gw.data<float>().ToArray()) (gb.data<float>().ToArray())) 1e-12 1e-10
                $"clip_grad_norm_: {expr}"
            // Under the bound nothing changes.
            let clipped = gw.data<float>().ToArray()
            let again = Optimizer.clip_grad_norm_([ p.W; p.B ], 100.0)
            Expect.isTrue (again <= 0.5 + 1e-9) $"norm after clipping {again}"
            use gw2 = p.W.grad
            Expect.sequenceEqual (gw2.data<float>().ToArray()) clipped "unchanged under the bound")

        torchTest "invalid configurations are rejected" (fun () ->
            use p = new Problem()
            Expect.throwsT<ArgumentException> (fun () -> Optimizer.SGD([ ParamGroup([ p.W ]) ], 0.1, nesterov = true) |> ignore) "nesterov without momentum"
            Expect.throwsT<ArgumentException> (fun () -> Optimizer.SGD([ ParamGroup(Array.empty<Parameter>) ], 0.1) |> ignore) "no parameters"
            Expect.throwsT<ArgumentException> (fun () -> Optimizer.SGD([], 0.1) |> ignore) "no groups")
    ]

/// A CoSA training step leaves the live-tensor count flat (a process-wide counter: the suite
/// runs its tests one at a time).
module Hybrid.Wsss.Tests.CosaLeakTests

open Expecto
open Hybrid.Wsss.Tests.SingleThread
open TorchSharp
open Hybrid.Torch.Optim
open Hybrid.Wsss
open Hybrid.Wsss.Methods.Cosa
open Hybrid.Wsss.Tests.CosaTestKit

[<Tests>]
let tests =
    testList "CosaLeak" [
        testCase "a training step leaves no live tensor behind" <| fun () ->
            singleThreaded <| fun () ->
                use m = model tiny
                let meth, _ = Cosa.ofModel tiny m
                use opt = Optimizer.AdamW(meth.Groups, 1e-3)
                let b = batch 6L
                let step i =
                    use _scope = torch.NewDisposeScope()
                    let losses = meth.Step (ctx i) b
                    opt.zero_grad ()
                    (losses |> List.map snd |> List.reduce (+)).backward ()
                    opt.step ()
                    meth.AfterStep (ctx i)
                // the first steps create the optimizer state and gradients; after that the count is flat
                step 0
                step 1
                let before = LiveTensors.settledCount ()
                step 2
                step 3
                Expect.equal Tensor.TotalCount before "live tensors after two more steps"
    ]
